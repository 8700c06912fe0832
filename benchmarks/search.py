"""Query latency per search mode on an ingested, embedded library (query encoding included).

Queries are titles of held-out papers rewritten as a researcher would type them (the first
few content words) plus full titles. The exact-search reference runs in the same process on
the same queries: semantic mode with the vector index swapped for brute force, so the
table shows what the adaptive index saves.

    python benchmarks/search.py --library /tmp/lib75 [--queries 200]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

from papersift.library import Library
from papersift.query import Filters
from papersift.vectors import ExactIndex

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, publish


def sample_queries(lib: Library, n: int) -> list[str]:
    rng = random.Random(11)
    keys = lib.store.matching(Filters()).tolist()
    papers = lib.store.papers(rng.sample(keys, n))
    queries = []
    for i, paper in enumerate(papers.values()):
        words = [w for w in paper.title.split() if len(w) > 3]
        queries.append(" ".join(words[:4]) if i % 2 else paper.title)
    return queries


def timed(lib: Library, queries: list[str], mode: str) -> tuple[float, float, float]:
    for q in queries[:10]:  # warm up: load the encoder, map the index
        lib.search(q, mode=mode)  # type: ignore[arg-type]
    times = []
    for q in queries:
        started = time.perf_counter()
        lib.search(q, mode=mode)  # type: ignore[arg-type]
        times.append(1000 * (time.perf_counter() - started))
    return float(np.percentile(times, 50)), float(np.percentile(times, 99)), float(np.mean(times))


def encode_only(lib: Library, queries: list[str]) -> tuple[float, float, float]:
    times = []
    for q in queries:
        started = time.perf_counter()
        lib.encoder.encode([q])
        times.append(1000 * (time.perf_counter() - started))
    return float(np.percentile(times, 50)), float(np.percentile(times, 99)), float(np.mean(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    lib = Library(args.library)
    if not lib.semantic_ready():
        sys.exit(f"{args.library}: embed the library first (papersift embed)")
    queries = sample_queries(lib, args.queries)
    dense = lib.dense
    index = dense.index()  # type: ignore[attr-defined]
    rows = [("query encoding only", *encode_only(lib, queries))]
    for mode in ("lexical", "semantic", "hybrid"):
        rows.append((f"{mode} ({type(index).__name__ if mode != 'lexical' else 'tantivy'})",
                     *timed(lib, queries, mode)))
    ids, vecs = dense.store.items()  # type: ignore[attr-defined]
    exact = ExactIndex(dense.dim)
    exact.add(ids, np.asarray(vecs, dtype=np.float32))
    dense._index = exact  # type: ignore[attr-defined]  # the reference: brute force
    dense._index_snapshot = dense.store.snapshot()  # type: ignore[attr-defined]
    for mode in ("semantic", "hybrid"):
        rows.append((f"{mode} (ExactIndex, reference)", *timed(lib, queries, mode)))
    table = ["| mode | p50 ms | p99 ms | mean ms |", "|---|---:|---:|---:|"]
    table += [f"| {r[0]} | {r[1]:.1f} | {r[2]:.1f} | {r[3]:.1f} |" for r in rows]
    report = (f"`python benchmarks/search.py {' '.join(sys.argv[1:])}`\n\n"
              f"{len(lib):,} papers, {dense.count:,} vectors, {len(queries)} queries "
              f"(half full titles, half 4 title words), top 10, one at a time. "
              f"Machine: {machine()}.\n\n" + "\n".join(table) + "\n")
    publish(report, args.out)


if __name__ == "__main__":
    main()
