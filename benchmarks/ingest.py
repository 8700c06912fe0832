"""Ingest speed: ``papersift ingest`` of the 75k arXiv sample into a fresh library, twice.

The reference in the same run is the floor: reading and parsing the same file with
``papersift.sources.read`` and storing nothing. The second ingest must change nothing.

    python benchmarks/ingest.py [--out benchmarks/results/ingest.md]
"""

from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from papersift import sources

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SAMPLE, machine, publish


def ingest(library: Path) -> tuple[float, str, float]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "papersift.cli", "--library", str(library), "ingest",
         "--no-embed", "--no-progress", str(SAMPLE)],
        capture_output=True, text=True, check=False,
    )
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    summary = next((line for line in done.stderr.splitlines() if "added" in line), done.stderr)
    return seconds, re.sub(r" · .*", "", summary), peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not SAMPLE.exists():
        sys.exit(f"{SAMPLE}: missing; put the shared data folder beside the checkout")
    started = time.perf_counter()
    parsed = sum(1 for _ in sources.read(SAMPLE))
    floor = time.perf_counter() - started
    rows = [("parse only (sources.read, nothing stored)", floor, f"{parsed:,} papers read", 0.0)]
    with tempfile.TemporaryDirectory(prefix="papersift-ingest-") as scratch:
        library = Path(scratch) / "lib"
        rows.append(("first ingest (catalog + tantivy)", *ingest(library)))
        rows.append(("second ingest, same file", *ingest(library)))
    table = ["| run | seconds | papers/s | result | peak RSS MiB (children) |",
             "|---|---:|---:|---|---:|"]
    table += [f"| {name} | {sec:.1f} | {parsed / sec:,.0f} | {result} | "
              f"{peak:.0f} |" for name, sec, result, peak in rows]
    report = (f"`python benchmarks/ingest.py`\n\n{parsed:,} papers from {SAMPLE.name}. "
              f"Machine: {machine()}.\n\n" + "\n".join(table) + "\n")
    publish(report, args.out)


if __name__ == "__main__":
    main()
