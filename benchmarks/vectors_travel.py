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
INPUTS = [str(SAMPLE), str(DATA / "hf-daily-papers" / "papers.json"), str(DATA.parent / "seeds")]


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
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    a, b, file = args.work / "a", args.work / "b", args.work / "vectors.npz"
    times = {
        "ingest A (--no-embed)": _cli(a, "ingest", "--no-embed", "--no-progress", *INPUTS),
        "import shared .npy into A": _cli(
            a, "vectors", "import", str(DATA / "arxiv-75k-minilm.f16.npy"),
            "-e", "minilm-l6-int8"),
        "embed the rest of A (papers outside the .npy)": _cli(a, "embed", "--no-progress"),
        "export A": _cli(a, "vectors", "export", str(file)),
        "ingest B (--no-embed)": _cli(b, "ingest", "--no-embed", "--no-progress", *INPUTS),
        "import the export into B": _cli(b, "vectors", "import", str(file)),
    }
    from papersift.library import Library

    with Library(a) as la, Library(b) as lb:
        sa, sb = la.status(), lb.status()
        same, modes = 0, set()
        queries = _queries(args.queries)
        for query in queries:
            ra = la.search(query, mode="semantic", limit=10)
            rb = lb.search(query, mode="semantic", limit=10)
            modes |= {ra.mode, rb.mode}
            same += [r.paper.id for r in ra] == [r.paper.id for r in rb]
    lines = [
        "# Vectors travel: export, then import into a fresh library",
        "",
        f"`python benchmarks/vectors_travel.py --work DIR` on {machine()}.",
        f"Inputs: the README's ({', '.join(Path(i).name for i in INPUTS)}).",
        "",
        "| step | seconds |",
        "|---|---:|",
        *[f"| {name} | {seconds:.1f} |" for name, seconds in times.items()],
        "",
        f"- A: {sa.papers:,} papers, {sa.embedded:,} with vectors; B right after the import: "
        f"{sb.papers:,} papers, {sb.embedded:,} with vectors, semantic ready: "
        f"{sb.semantic_ready}.",
        f"- exported file: {file.stat().st_size / 2**20:.1f} MiB",
        f"- semantic top 10 identical in A and B for {same} of {len(queries)} queries "
        f"(modes used: {', '.join(sorted(modes))})",
        "",
    ]
    publish("\n".join(lines), args.out)


if __name__ == "__main__":
    main()
