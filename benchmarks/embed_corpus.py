"""Embed the 75k arXiv sample with the default encoder, resumably.

Writes ``OUT`` (float32, ``papers x dim``, rows in file order) and ``OUT`` with ``.ids.npy``
in place of ``.npy`` (the arXiv ids, same order). Progress goes to ``OUT.partial.npy`` and
``OUT.progress.json`` after every chunk, so an interrupted run picks up where it stopped;
both are replaced by the final files at the end.

Example::

    nice -n 10 python benchmarks/embed_corpus.py arxiv75k-minilm-int8.npy >> embed.log 2>&1 &
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from papersift.encoders import load_encoder
from papersift.papers import document_text

DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "arxiv-75k.jsonl.gz"


def read_corpus(path: Path) -> tuple[list[str], list[str]]:
    """arXiv ids and encoder texts, in file order."""
    ids: list[str] = []
    texts: list[str] = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                record = json.loads(line)
                ids.append(str(record["id"]))
                texts.append(document_text(record.get("title") or "", record.get("abstract") or ""))
    return ids, texts


def _fingerprint(ids: list[str], encoder_name: str) -> str:
    digest = hashlib.sha256(encoder_name.encode())
    for paper_id in ids:
        digest.update(paper_id.encode() + b"\n")
    return digest.hexdigest()


def _save_progress(path: Path, data: dict[str, object]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data), encoding="utf-8")
    os.replace(tmp, path)


def embed(source: Path, out: Path, *, batch_size: int, chunk: int, limit: int | None) -> None:
    """Encode ``source`` into ``out`` (see the module docstring), resuming if possible."""
    ids, texts = read_corpus(source)
    if limit is not None:
        ids, texts = ids[:limit], texts[:limit]
    if len(set(ids)) != len(ids):
        sys.exit(f"{source}: arXiv ids are not unique")
    encoder = load_encoder()
    partial = out.with_name(out.stem + ".partial.npy")
    progress_path = out.with_name(out.stem + ".progress.json")
    ids_path = out.with_name(out.stem + ".ids.npy")
    fingerprint = _fingerprint(ids, encoder.name)
    done = 0
    if partial.exists() and progress_path.exists():
        progress = json.loads(progress_path.read_text(encoding="utf-8"))
        if progress.get("fingerprint") == fingerprint:
            done = int(progress["done"])
    if done:
        matrix = np.lib.format.open_memmap(partial, mode="r+")
        print(f"resuming at {done:,} of {len(ids):,}", flush=True)
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        matrix = np.lib.format.open_memmap(
            partial, mode="w+", dtype=np.float32, shape=(len(ids), encoder.dim)
        )
    print(f"{len(ids):,} papers from {source} with {encoder.name}", flush=True)
    started, start_done = time.perf_counter(), done
    while done < len(ids):
        end = min(done + chunk, len(ids))
        matrix[done:end] = encoder.encode(texts[done:end], batch_size=batch_size)
        matrix.flush()
        done = end
        _save_progress(progress_path, {"fingerprint": fingerprint, "done": done})
        rate = (done - start_done) / (time.perf_counter() - started)
        eta = (len(ids) - done) / rate / 60
        print(f"{done:,}/{len(ids):,} {rate:.1f} texts/s, about {eta:.0f} min left", flush=True)
    del matrix
    np.save(ids_path, np.array(ids))
    os.replace(partial, out)
    progress_path.unlink()
    print(f"wrote {out} and {ids_path}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="output .npy path for the vectors")
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--chunk", type=int, default=1024, help="texts per saved step")
    parser.add_argument("--limit", type=int, default=None, help="only the first N papers")
    args = parser.parse_args()
    if args.out.suffix != ".npy":
        parser.error("OUT must end in .npy")
    if not args.source.exists():
        sys.exit(f"{args.source} is missing: put the shared data folder beside the checkout")
    embed(args.source, args.out, batch_size=args.batch_size, chunk=args.chunk, limit=args.limit)


if __name__ == "__main__":
    main()
