"""Vectors travel: export a 75k library's vectors, import them into a fresh library of the
same papers, and check that semantic search there is on at once and answers the same.

    python benchmarks/vectors_travel.py --work /tmp/vt [--out benchmarks/results/vectors_travel.md]

Steps, each timed: ingest the sample (``--no-embed``) into library A; import the shared
sample vectors into A (``papersift vectors import ../shared/data/arxiv-75k-minilm.f16.npy``)
and embed the papers the file lacks (the Daily Papers and seed entries); export A's vectors
(``papersift vectors export``); ingest the same inputs into a fresh library B; import the
exported file into B. Then, with nothing else run on B, every query of the set is searched
in semantic mode in both libraries and the top 10 compared.
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, SAMPLE, machine, publish

REPO = Path(__file__).resolve().parent.parent
INPUTS = [str(SAMPLE), str(DATA / "hf-daily-papers" / "papers.json"), str(DATA.parent / "seeds"),
          str(REPO / "examples")]


def _cli(library: Path, *args: str) -> float:
    """Run one papersift command; returns its wall time in seconds."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "papersift.cli", "--library", str(library), *args],
                   check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def _queries(n: int) -> list[str]:
    """Titles of every 500th paper of the sample: realistic, varied queries."""
    titles = []
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as lines:
        for i, line in enumerate(lines):
            if i % 500 == 0:
                titles.append(" ".join(json.loads(line)["title"].split()))
            if len(titles) >= n:
                break
    return titles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="scratch folder (emptied)")
    parser.add_argument("--source", type=Path, help="an embedded library of the inputs to "
                        "use as A (skips building it)")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    a, b, file = args.source or args.work / "a", args.work / "b", args.work / "vectors.npz"
    times: dict[str, float] = {}
    if args.source is None:
        times["ingest A (--no-embed)"] = _cli(a, "ingest", "--no-embed", "--no-progress",
                                              *INPUTS)
        times["import shared .npy into A"] = _cli(
            a, "vectors", "import", str(DATA / "arxiv-75k-minilm.f16.npy"), "-e",
            "minilm-l6-int8")
        times["embed the rest of A (papers outside the .npy)"] = _cli(a, "embed",
                                                                      "--no-progress")
    times["export A"] = _cli(a, "vectors", "export", str(file))
    times["ingest B (--no-embed)"] = _cli(b, "ingest", "--no-embed", "--no-progress", *INPUTS)
    times["import the export into B"] = _cli(b, "vectors", "import", str(file))
    lines = [
        "# Vectors travel: export, then import into a fresh library",
        "",
        f"`python benchmarks/vectors_travel.py --work DIR"
        f"{' --source A' if args.source else ''}` on {machine()}.",
        f"Inputs: the README's ({', '.join(Path(i).name for i in INPUTS)}).",
        "",
        "| step | seconds |",
        "|---|---:|",
        *[f"| {name} | {seconds:.1f} |" for name, seconds in times.items()],
        "",
        *_compare(a, b, file, _queries(args.queries)),
        "",
    ]
    publish("\n".join(lines), args.out)


def _compare(a: Path, b: Path, file: Path, queries: list[str]) -> list[str]:
    """B right after the import against A: readiness, vectors, and search results."""
    import numpy as np

    from papersift.library import Library
    from papersift.settings import Settings

    exact = Settings(exact_below=2**62)
    lines = []
    with Library(a) as la, Library(b) as lb:
        sa, sb = la.status(), lb.status()
        lines.append(f"- A: {sa.papers:,} papers, {sa.embedded:,} with vectors; B right after "
                     f"the import: {sb.papers:,} papers, {sb.embedded:,} with vectors, "
                     f"semantic ready: {sb.semantic_ready}; exported file "
                     f"{file.stat().st_size / 2**20:.1f} MiB")
        ids = [p for p in (la.store.ids_of(la.store.current_keys(la.dense.name).tolist())
                           .values())]
        keys_a, keys_b = la.store.keys_of(ids), lb.store.keys_of(ids)
        both = [i for i in ids if i in keys_b]
        _, va = la.dense.vectors(np.asarray([keys_a[i] for i in both]))
        _, vb = lb.dense.vectors(np.asarray([keys_b[i] for i in both]))
        lines.append(f"- vectors of the {len(both):,} papers in both: identical "
                     f"{bool(np.array_equal(va, vb))} (largest difference "
                     f"{float(np.abs(va - vb).max()) if len(both) else 0:.3g})")
        same_index, overlap = 0, 0.0
        for query in queries:
            ra = [r.paper.id for r in la.search(query, mode="semantic", limit=10)]
            rb = [r.paper.id for r in lb.search(query, mode="semantic", limit=10)]
            same_index += ra == rb
            overlap += len(set(ra) & set(rb)) / 10
    with Library(a, settings=exact) as la, Library(b, settings=exact) as lb:
        same_exact = sum(
            [r.paper.id for r in la.search(q, mode="semantic", limit=10)]
            == [r.paper.id for r in lb.search(q, mode="semantic", limit=10)]
            for q in queries)
    lines.append(f"- semantic top 10, exact search: identical for {same_exact} of "
                 f"{len(queries)} queries")
    lines.append(f"- semantic top 10 through each library's own adaptive index (built "
                 f"separately, approximate): identical for {same_index} of {len(queries)}, "
                 f"overlap {100 * overlap / len(queries):.1f}%")
    return lines


if __name__ == "__main__":
    main()
