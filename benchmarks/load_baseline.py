"""Prepare a library for an older papersift (the load test's baseline) from the shared data.

Run it with the older checkout's code on the path, so the library has that version's
format; it ingests the 75k sample and stores the shared sample vectors in that version's
vector layout (segments plus ``cursor.json``), so its server has semantic search on without
40 minutes of embedding:

    git worktree add ../papersift-base 89c886a
    PYTHONPATH=../papersift-base/src python benchmarks/load_baseline.py --library LIB_BASE
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, SAMPLE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", type=Path, required=True)
    args = parser.parse_args()
    from papersift.library import Library  # the older version's, from PYTHONPATH

    lib = Library(args.library)
    lib.ingest([str(SAMPLE), str(DATA / "hf-daily-papers" / "papers.json"),
                str(DATA.parent / "seeds")])
    ids = np.load(DATA / "arxiv-75k-minilm.ids.npy")
    vectors = np.load(DATA / "arxiv-75k-minilm.f16.npy")
    rows = {str(i): n for n, i in enumerate(ids)}
    catalog = lib.catalog
    keys = [(catalog.rowid(str(i)), rows[str(i)]) for i in ids]
    known = [(k, r) for k, r in keys if k is not None]
    lib.catalog.set_meta("encoder", "minilm")
    semantic = lib.semantic
    order = np.asarray([k for k, _ in known], dtype=np.int64)
    semantic.store.add(order, vectors[[r for _, r in known]])
    # the older layout: vectors for every paper, the cursor after the last one
    last = max(catalog.written_after(0, 0, limit=10**7), key=lambda c: (c.seq, c.rowid))
    missing = sorted(set(catalog.rowids()) - set(order.tolist()))
    if missing:  # papers outside the sample (daily papers, seeds): embed them for real
        from papersift.papers import document_text

        papers = catalog.by_rowids(missing)
        texts = [document_text(papers[k].title, papers[k].abstract) for k in missing]
        semantic.store.add(np.asarray(missing, dtype=np.int64),
                           semantic.encoder.encode(texts).astype(np.float16))
    (semantic.directory / "cursor.json").write_text(json.dumps({"seq": last.seq,
                                                                "rowid": last.rowid}))
    semantic.store.applied_seq = catalog.seq
    semantic.rebuild_index()
    print(f"{len(lib):,} papers, {semantic.store.count:,} vectors in {args.library}")


if __name__ == "__main__":
    main()
