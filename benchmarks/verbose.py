"""Verbose queries: papersift's modes against plain BM25 (bm25s) on plain and wordy queries.

For each BEIR folder given (e.g. SciFact, and the collections ``benchmarks/derived.py``
writes: SciFact's claims and arXiv titles rewritten as requests), this scores, nDCG@10 and
Recall@100:

- papersift lexical, semantic and hybrid (``Library.search``, library defaults);
- bm25s (Lucene's 33 English stop words, no stemming: "plain BM25"), bm25s stemmed, and
  bm25s stemmed with its longer ``en_plus`` list;
- reciprocal rank fusion (k = 60) of plain bm25s and papersift's semantic ranking: the
  baseline hybrid a verbose query should not fall below.

Each corpus is ingested and embedded once into ``--libraries/<corpus name>`` and reused
(a collection whose corpus file links to another's shares its library).

    python benchmarks/derived.py /tmp/collections
    python benchmarks/verbose.py ../shared/data/scifact /tmp/collections/scifact-verbose \\
        --libraries /tmp/verbose-libs --out benchmarks/results/verbose.md
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shlex
import sys
import time
from pathlib import Path

from common import machine, publish
from papersift.evaluate import load_collection, score_run
from papersift.library import Library

Run = dict[str, list[str]]
MODES = ("lexical", "semantic", "hybrid")


def library_for(collection: Path, root: Path) -> Library:
    """The library holding ``collection``'s corpus (one per corpus file), ingested and
    embedded if it is not yet."""
    corpus = (collection / "corpus.jsonl").resolve()
    name = f"{corpus.parent.name}-{hashlib.sha1(str(corpus).encode()).hexdigest()[:8]}"
    lib = Library(root / name)
    lib.ingest([corpus], fmt="beir")
    lib.embed()
    return lib


def papersift_runs(lib: Library, queries: dict[str, str],
                   modes: tuple[str, ...] = MODES) -> dict[str, Run]:
    runs: dict[str, Run] = {mode: {} for mode in modes}
    for qid, text in queries.items():
        for mode in modes:
            runs[mode][qid] = [r.paper.id for r in lib.search(text, mode=mode, limit=100)]
    return runs


def bm25s_runs(corpus: Path, queries: dict[str, str]) -> dict[str, Run]:
    """bm25s over the corpus' titles and texts, three ways (see the module docstring)."""
    import bm25s
    import Stemmer

    ids, texts = [], []
    with corpus.open(encoding="utf-8") as lines:
        for line in lines:
            record = json.loads(line)
            ids.append(record["_id"])
            texts.append(f"{record.get('title', '')}\n{record['text']}")
    stemmer = Stemmer.Stemmer("english")
    runs: dict[str, Run] = {}
    for label, stop, stem in (("bm25s (en, no stemming)", "en", None),
                              ("bm25s (en, stemmed)", "en", stemmer),
                              ("bm25s (en_plus, stemmed)", "en_plus", stemmer)):
        retriever = bm25s.BM25()
        retriever.index(bm25s.tokenize(texts, stopwords=stop, stemmer=stem, show_progress=False),
                        show_progress=False)
        qids = list(queries)
        tokens = bm25s.tokenize([queries[q] for q in qids], stopwords=stop, stemmer=stem,
                                show_progress=False)
        found, _ = retriever.retrieve(tokens, k=min(100, len(ids)), show_progress=False)
        runs[label] = {q: [ids[j] for j in row] for q, row in zip(qids, found, strict=True)}
    return runs


def rrf(a: Run, b: Run, k: int = 60) -> Run:
    """Reciprocal rank fusion of two runs, query by query."""
    out: Run = {}
    for qid in a:
        score: dict[str, float] = {}
        for run in (a, b):
            for rank, doc in enumerate(run.get(qid, []), start=1):
                score[doc] = score.get(doc, 0.0) + 1.0 / (k + rank)
        out[qid] = sorted(score, key=lambda d: -score[d])[:100]
    return out


def report(folder: Path, root: Path, modes: tuple[str, ...] = MODES) -> list[str]:
    collection = load_collection(folder)
    started = time.perf_counter()
    lib = library_for(folder, root)
    runs = {f"papersift {mode}": run
            for mode, run in papersift_runs(lib, collection.queries, modes).items()}
    baseline = bm25s_runs(collection.corpus.resolve(), collection.queries)
    runs.update(baseline)
    if "semantic" in modes:
        runs["RRF of bm25s (en, no stemming) and papersift semantic"] = rrf(
            baseline["bm25s (en, no stemming)"], runs["papersift semantic"])
    lib.close()
    lines = [f"### {folder.name} ({len(collection.queries)} queries, {len(lib):,} documents, "
             f"{time.perf_counter() - started:.0f} s)", "",
             "| ranking | nDCG@10 | Recall@100 |", "|---|---:|---:|"]
    for name, run in runs.items():
        s = score_run(name, run, collection.qrels)
        lines.append(f"| {name} | {s.ndcg_10:.4f} | {s.recall_100:.4f} |")
    return [*lines, ""]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", type=Path, nargs="+", help="BEIR folders")
    parser.add_argument("--libraries", type=Path, required=True,
                        help="where the collections' libraries are kept (reused)")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES),
                        help="papersift modes to score (default: all three)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    try:  # checked first: the baselines run after each corpus is embedded, which takes long
        import bm25s  # noqa: F401
        import Stemmer  # noqa: F401
    except ImportError as exc:
        sys.exit(f"benchmarks/verbose.py needs {exc.name} for its BM25 baselines: "
                 "pip install -e '.[dev]'")
    lines = [f"command: `{shlex.join(['python', 'benchmarks/verbose.py', *sys.argv[1:]])}`",
             f"machine: {machine()}", ""]
    for folder in args.folders:
        lines += report(folder, args.libraries, tuple(args.modes))
        print("\n".join(lines[-12:]), flush=True)
    publish("\n".join(lines), args.out)


if __name__ == "__main__":
    main()
