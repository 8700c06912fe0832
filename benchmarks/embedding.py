"""Embedding throughput and memory: the ingest pipeline against the raw encoder.

Two measurements, printed as tables:

1. ``--compare N``: the first N papers of the sample embedded by the raw encoder
   (``encoder.encode`` over the texts, same batch size) and by the pipeline
   (``Library.embed``: catalog reads, batching, vector store writes, cursor), same texts.
2. ``--library PATH``: runs ``papersift embed`` on an ingested library as a child process and
   samples its resident memory (VmRSS) as it goes, to show that memory stays flat.

    python benchmarks/embedding.py --compare 2000
    python benchmarks/embedding.py --library /tmp/lib75 --log /tmp/embed-rss.tsv
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from papersift.encoders import load_encoder
from papersift.library import Library
from papersift.papers import Paper, document_text, normalize_text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SAMPLE


def first_papers(n: int) -> list[Paper]:
    out = []
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as lines:
        for line, _ in zip(lines, range(n), strict=False):
            r = json.loads(line)
            out.append(Paper(id=r["id"], title=normalize_text(r["title"]),
                             abstract=normalize_text(r["abstract"])))
    return out


def compare(n: int, batch: int) -> str:
    papers = first_papers(n)
    encoder = load_encoder()
    encoder.encode([document_text(p.title, p.abstract) for p in papers[:64]])  # warm up
    started = time.perf_counter()
    encoder.encode([document_text(p.title, p.abstract) for p in papers], batch_size=batch)
    raw = n / (time.perf_counter() - started)
    with tempfile.TemporaryDirectory() as scratch:
        lib = Library(scratch, encoder=encoder)
        lib.add(papers)
        started = time.perf_counter()
        lib.embed()
        pipeline = n / (time.perf_counter() - started)
    return ("| texts | raw encoder papers/s | pipeline papers/s | pipeline / raw |\n"
            "|---:|---:|---:|---:|\n"
            f"| {n:,} | {raw:.1f} | {pipeline:.1f} | {pipeline / raw:.3f} |\n")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def stored(library: Path) -> int:
    total = 0
    for manifest in library.glob("vectors/*/manifest.json"):
        total += int(json.loads(manifest.read_text()).get("count", 0))
    return total


def watch(library: Path, log: Path | None, every: float) -> str:
    total = len(Library(library))
    child = subprocess.Popen([sys.executable, "-m", "papersift.cli", "--library", str(library),
                              "embed", "--no-progress"])
    samples: list[tuple[float, int, float]] = []
    started = time.perf_counter()
    while child.poll() is None:
        with contextlib.suppress(OSError, ValueError):
            samples.append((time.perf_counter() - started, stored(library), rss_mib(child.pid)))
        time.sleep(every)
    elapsed = time.perf_counter() - started
    if log:
        log.write_text("seconds\tvectors\trss_mib\n" + "".join(
            f"{t:.1f}\t{n}\t{r:.1f}\n" for t, n, r in samples))
    rows = ["| progress | vectors stored | RSS MiB |", "|---:|---:|---:|"]
    for share in (0.1, 0.25, 0.5, 0.75, 1.0):
        at = next((s for s in samples if s[1] >= share * total), samples[-1] if samples else None)
        if at:
            rows.append(f"| {share:.0%} | {at[1]:,} | {at[2]:.0f} |")
    peak = max((s[2] for s in samples), default=0.0)
    done = stored(library)
    return ("\n".join(rows) + f"\n\n{done:,} vectors in {elapsed / 60:.1f} min "
            f"({done / elapsed:.1f} papers/s, including start-up); peak RSS {peak:.0f} MiB; "
            f"exit status {child.returncode}.\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compare", type=int, default=0, metavar="N")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--library", type=Path)
    parser.add_argument("--log", type=Path)
    parser.add_argument("--every", type=float, default=5.0)
    args = parser.parse_args()
    if not SAMPLE.exists():
        sys.exit(f"{SAMPLE}: missing; put the shared data folder beside the checkout")
    print(f"`python benchmarks/embedding.py {' '.join(sys.argv[1:])}`\n")
    if args.compare:
        print(compare(args.compare, args.batch))
    if args.library:
        print(watch(args.library, args.log, args.every))


if __name__ == "__main__":
    main()
