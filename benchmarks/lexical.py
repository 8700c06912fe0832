"""Lexical search latency: tantivy BM25 (ours) against SQLite FTS5 on the same papers.

Builds a library from the 75k arXiv sample (and, with ``--million``, from the sample
repeated with fresh ids up to 1,000,000 papers), then times 2-4 word queries and full-title
queries, p50/p99 per engine, in one run. FTS5 is the reference: it is what a SQLite-only
design would use, and the reason the lexical index lives in tantivy.

    python benchmarks/lexical.py [--million] [--queries 300] [--out benchmarks/results/lexical.md]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from papersift.catalog import Catalog
from papersift.lexical import LexicalIndex
from papersift.papers import Paper, normalize_text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SAMPLE, machine, publish


def read_sample(path: Path) -> list[dict[str, object]]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def papers(records: list[dict[str, object]], total: int) -> Iterator[Paper]:
    """The sample, repeated with fresh ids until ``total`` papers."""
    for n in range(total):
        rec = records[n % len(records)]
        rep = n // len(records)
        yield Paper(
            id=str(rec["id"]) if rep == 0 else f"{rec['id']}-r{rep}",
            title=normalize_text(str(rec["title"])),
            abstract=normalize_text(str(rec["abstract"])),
            authors=tuple(rec["authors"]),  # type: ignore[arg-type]
            categories=tuple(rec["categories"]),  # type: ignore[arg-type]
        )


def build(folder: Path, records: list[dict[str, object]], total: int) -> tuple[Catalog,
                                                                              LexicalIndex,
                                                                              sqlite3.Connection]:
    catalog = Catalog(folder / "catalog.sqlite")
    fts = sqlite3.connect(folder / "fts.sqlite")
    fts.execute("CREATE VIRTUAL TABLE docs USING fts5(title, abstract, "
                "tokenize='porter unicode61')")
    batch: list[Paper] = []
    for paper in papers(records, total):
        batch.append(paper)
        if len(batch) == 5000:
            catalog.upsert(batch)
            fts.executemany("INSERT INTO docs VALUES (?, ?)",
                            [(p.title, p.abstract) for p in batch])
            batch.clear()
    catalog.upsert(batch)
    fts.executemany("INSERT INTO docs VALUES (?, ?)", [(p.title, p.abstract) for p in batch])
    fts.commit()
    lexical = LexicalIndex(folder / "lexical")
    lexical.sync(catalog)
    return catalog, lexical, fts


def queries(records: list[dict[str, object]], n: int) -> dict[str, list[str]]:
    rng = random.Random(7)
    words = []
    for rec in rng.sample(records, 2000):
        words += [w for w in str(rec["title"]).lower().split() if w.isalpha() and len(w) > 3]
    short = [" ".join(rng.sample(words, rng.randint(2, 4))) for _ in range(n)]
    titles = [normalize_text(str(r["title"])) for r in rng.sample(records, n)]
    return {"2-4 words": short, "full title": titles}


def fts_query(text: str) -> str:
    """An FTS5 OR query of quoted words (quoting keeps FTS5 syntax out of user text)."""
    words = ["".join(ch for ch in w if ch.isalnum()) for w in text.split()]
    return " OR ".join(f'"{w}"' for w in words if w)


def time_engine(run: object, texts: list[str]) -> tuple[float, float]:
    times = []
    for text in texts:
        started = time.perf_counter()
        run(text)  # type: ignore[operator]
        times.append(1000 * (time.perf_counter() - started))
    return float(np.percentile(times, 50)), float(np.percentile(times, 99))


def bench(total: int, records: list[dict[str, object]], n: int) -> list[tuple[object, ...]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="papersift-bench-") as scratch:
        started = time.perf_counter()
        catalog, lexical, fts = build(Path(scratch), records, total)
        built = time.perf_counter() - started
        print(f"built {total:,} papers (catalog + tantivy + FTS5) in {built:.0f} s",
              file=sys.stderr)
        for kind, texts in queries(records, n).items():
            ours = time_engine(lambda q: lexical.search(lexical.analyze(q), limit=10), texts)
            theirs = time_engine(
                lambda q: fts.execute("SELECT rowid FROM docs WHERE docs MATCH ? "
                                      "ORDER BY bm25(docs) LIMIT 10", (fts_query(q),)
                                      ).fetchall(), texts)
            rows.append((f"{total:,}", kind, *ours, *theirs, theirs[0] / ours[0]))
        catalog.close()
        fts.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=Path, default=SAMPLE)
    parser.add_argument("--million", action="store_true", help="also 1,000,000 papers")
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not args.sample.exists():
        sys.exit(f"{args.sample}: missing; put the shared data folder beside the checkout")
    records = read_sample(args.sample)
    rows = bench(len(records), records, args.queries)
    if args.million:
        rows += bench(1_000_000, records, args.queries)
    header = ("| papers | queries | tantivy p50 ms | tantivy p99 ms | FTS5 p50 ms | FTS5 p99 ms "
              "| FTS5/tantivy (p50) |\n|---|---|---:|---:|---:|---:|---:|")
    lines = [header] + [
        f"| {r[0]} | {r[1]} | {r[2]:.2f} | {r[3]:.2f} | {r[4]:.2f} | {r[5]:.2f} | {r[6]:.1f}x |"
        for r in rows
    ]
    report = (f"`python benchmarks/{Path(__file__).name} {' '.join(sys.argv[1:])}`\n\n"
              f"Machine: {machine()}. {args.queries} queries of each kind, top 10, "
              f"one query at a time.\n\n" + "\n".join(lines) + "\n")
    publish(report, args.out)


if __name__ == "__main__":
    main()
