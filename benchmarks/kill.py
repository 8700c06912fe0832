"""SIGKILL harness: kill a papersift command at a random moment, then check and rerun it.

For each seeded trial: a fresh library, the command started as a user starts it, killed
with SIGKILL at a random point of its run, then ``papersift check`` (what a person would see
after the crash), then the same command again; the final state must equal an uninterrupted
run's exactly.

- ``ingest``: the first ``--papers`` papers of the 75k sample; the state compared is every
  paper's id and content fingerprint, the lexical index's document count, and ``check``.
- ``embed``: a library of ``--papers`` papers embedded by ``papersift embed``; compared: the
  set of papers with a current vector (all of them, each once), ``check``, and each vector
  against the uninterrupted run's (int8 dynamic quantization makes a vector depend slightly
  on the batch it was encoded in, so a resumed run's batches give cosines just under 1).

    python benchmarks/kill.py ingest --trials 20 --papers 10000 \
        --out benchmarks/results/kill-ingest.md
    python benchmarks/kill.py embed --trials 20 --papers 800 \
        --out benchmarks/results/kill-embed.md
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from itertools import islice
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SAMPLE, machine, publish, vectors_of

CLI = [sys.executable, "-m", "papersift.cli"]


def papersift(library: Path, *args: str, timeout: float = 3600) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, "-L", str(library), *args], capture_output=True, text=True,
                          timeout=timeout)


def stored(library: Path) -> int:
    if not (library / "catalog.sqlite").exists():
        return 0
    db = sqlite3.connect(library / "catalog.sqlite")
    try:
        return int(db.execute("SELECT count(*) FROM papers").fetchone()[0])
    except sqlite3.Error:
        return 0
    finally:
        db.close()


def embedded(library: Path) -> int:
    db = sqlite3.connect(library / "catalog.sqlite")
    try:
        return int(db.execute("SELECT count(*) FROM embedded").fetchone()[0])
    finally:
        db.close()


def catalog_state(library: Path) -> str:
    """A digest of every paper's id and content fingerprint."""
    db = sqlite3.connect(library / "catalog.sqlite")
    rows = db.execute("SELECT id, fingerprint FROM papers ORDER BY id").fetchall()
    db.close()
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:16] + f" ({len(rows)} papers)"


def kill_at(args: list[str], after: float) -> float:
    """Start a command, SIGKILL it after ``after`` seconds (or let it finish first)."""
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    try:
        process.wait(timeout=after)
        return -1.0  # finished before the kill
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return time.monotonic() - started


def sample_file(folder: Path, papers: int) -> Path:
    path = folder / f"first-{papers}.jsonl.gz"
    with gzip.open(SAMPLE, "rt") as lines, gzip.open(path, "wt") as out:
        out.writelines(islice(lines, papers))
    return path


def ingest_trials(scratch: Path, trials: int, papers: int, seed: int) -> list[str]:
    source = sample_file(scratch, papers)
    reference = scratch / "reference"
    started = time.monotonic()
    assert papersift(reference, "ingest", "--no-embed", str(source)).returncode == 0
    full = time.monotonic() - started
    expected = catalog_state(reference)
    rows = [f"uninterrupted: {full:.1f} s, state {expected}", "",
            "| trial | killed at s | papers stored then | check after the kill | rerun | "
            "state equal | check |", "|---:|---:|---:|---|---|---|---|"]
    rng = random.Random(seed)
    for trial in range(trials):
        library = scratch / f"trial-{trial}"
        when = rng.uniform(0.5, full)
        killed = kill_at([*CLI, "-L", str(library), "ingest", "--no-embed", str(source)], when)
        had = stored(library)
        after = papersift(library, "check") if (library / "catalog.sqlite").exists() else None
        seen = ("no library yet" if after is None else
                "ok" if after.returncode == 0 else after.stderr.strip().splitlines()[0][:70])
        rerun = papersift(library, "ingest", "--no-embed", str(source))
        equal = catalog_state(library) == expected
        final = papersift(library, "check").returncode == 0
        rows.append(f"| {trial} | {killed:.1f} | {had:,} | {seen} | exit {rerun.returncode} | "
                    f"{'yes' if equal else 'NO'} | {'ok' if final else 'FAILED'} |")
        print(rows[-1], flush=True)
        shutil.rmtree(library)
    return rows


def embed_trials(scratch: Path, trials: int, papers: int, seed: int) -> list[str]:
    source = sample_file(scratch, papers)
    base = scratch / "base"
    assert papersift(base, "ingest", "--no-embed", str(source)).returncode == 0
    reference = scratch / "reference"
    shutil.copytree(base, reference)
    started = time.monotonic()
    assert papersift(reference, "embed").returncode == 0
    full = time.monotonic() - started
    expected = vectors_of(reference)
    rows = [f"uninterrupted: {full:.1f} s, {len(expected)} vectors", "",
            "| trial | killed at s | vectors then | check after the kill | rerun | "
            "every paper once | min cosine to reference | check |",
            "|---:|---:|---:|---|---|---|---:|---|"]
    rng = random.Random(seed)
    for trial in range(trials):
        library = scratch / f"trial-{trial}"
        shutil.copytree(base, library)
        killed = kill_at([*CLI, "-L", str(library), "embed"], rng.uniform(1.0, full))
        had = embedded(library)
        after = papersift(library, "check")
        seen = "ok" if after.returncode == 0 else after.stderr.strip().splitlines()[0][:70]
        rerun = papersift(library, "embed")
        got = vectors_of(library)
        complete = set(got) == set(expected)
        cosine = min(float(got[i] @ expected[i]) for i in expected if i in got)
        final = papersift(library, "check").returncode == 0
        rows.append(f"| {trial} | {killed:.1f} | {had:,} | {seen} | exit {rerun.returncode} | "
                    f"{'yes' if complete else 'NO'} | {cosine:.4f} | "
                    f"{'ok' if final else 'FAILED'} |")
        print(rows[-1], flush=True)
        shutil.rmtree(library)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["ingest", "embed"])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--papers", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20261130)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="papersift-kill-") as scratch:
        run = ingest_trials if args.command == "ingest" else embed_trials
        rows = run(Path(scratch), args.trials, args.papers, args.seed)
    report = (f"`python benchmarks/kill.py {' '.join(sys.argv[1:])}`\n\n"
              f"{args.trials} trials, {args.papers:,} papers of the 75k sample, seed "
              f"{args.seed}. Machine: {machine()}.\n\n" + "\n".join(rows) + "\n")
    publish(report, args.out)


if __name__ == "__main__":
    main()
