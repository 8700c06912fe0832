"""Ray embedding against local embedding: throughput, equal vectors, one kill and resume.

The first N papers of the 75k sample, ingested once and copied, so both libraries are the
same. In one run:

1. local: ``papersift embed`` (onnxruntime on this machine's cores), timed;
2. Ray: a Ray instance with W CPUs started here on loopback (Ray's single-machine mode),
   then ``papersift embed --ray ADDRESS --ray-workers W`` SIGKILLed once a share of the
   papers is recorded, ``papersift check``, and the same command again to the end; both
   runs timed (each includes connecting, starting the workers and loading the model);
3. every paper's stored (float16) vector compared between the two libraries.

The 1-minute load average is sampled every 5 s in each phase: the machine is shared, and a
ratio means little if the load moved between the phases. Every command has a time limit.

    python benchmarks/ray_embed.py --papers 10000 --workers 2 \\
        --out benchmarks/results/ray_embed.md
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from itertools import islice
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import SAMPLE, machine, publish, vectors_of

REPO = Path(__file__).resolve().parents[1]
#: Ray's servers on loopback only, no usage reports (set before Ray is imported).
RAY_ENV = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}
CLI = [sys.executable, "-m", "papersift.cli"]


class Load:
    """The 1-minute load average, sampled every ``every`` seconds while the block runs."""

    def __init__(self, every: float = 5.0) -> None:
        self.every, self.samples = every, [os.getloadavg()[0]]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.every):
            self.samples.append(os.getloadavg()[0])

    def __enter__(self) -> Load:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(os.getloadavg()[0])

    def __str__(self) -> str:
        return f"{np.mean(self.samples):.1f} / {max(self.samples):.1f}"


def env() -> dict[str, str]:
    path = os.pathsep.join(filter(None, [str(REPO / "src"), os.environ.get("PYTHONPATH")]))
    return {**os.environ, **RAY_ENV, "PYTHONPATH": path}


def papersift(library: Path, *args: str, timeout: float) -> subprocess.CompletedProcess:
    result = subprocess.run([*CLI, "-L", str(library), *args], capture_output=True, text=True,
                            env=env(), timeout=timeout)
    if result.returncode != 0:
        raise SystemExit(f"papersift {' '.join(args)} failed: {result.stderr[-2000:]}")
    return result


def embedded(library: Path) -> int:
    db = sqlite3.connect(library / "catalog.sqlite")
    try:
        return int(db.execute("SELECT count(*) FROM embedded").fetchone()[0])
    finally:
        db.close()


def killed_partway(library: Path, args: list[str], share: float, papers: int,
                   timeout: float) -> tuple[float, int]:
    """Run ``papersift embed ...``, SIGKILL it once ``share`` of the papers are recorded;
    returns the seconds it ran and how many papers were recorded."""
    process = subprocess.Popen([*CLI, "-L", str(library), *args], env=env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    started = time.monotonic()
    while embedded(library) < share * papers and process.poll() is None:
        if time.monotonic() - started > timeout:
            break
        time.sleep(0.5)
    process.send_signal(signal.SIGKILL)
    process.wait()
    seconds = time.monotonic() - started
    if process.returncode != -signal.SIGKILL:
        raise SystemExit(f"the Ray run ended by itself (exit {process.returncode}) before "
                         "the kill: use more papers")
    if seconds > timeout:
        raise SystemExit(f"the Ray run recorded {embedded(library):,} papers in {timeout} s")
    return seconds, embedded(library)


def said(result: subprocess.CompletedProcess) -> str:
    """A command's message on stderr, on one line."""
    return " / ".join(line.strip() for line in result.stderr.strip().splitlines())


def compare(local: Path, on_ray: Path) -> str:
    mine, theirs = vectors_of(local), vectors_of(on_ray)
    common = sorted(set(mine) & set(theirs))
    a = np.stack([mine[i] for i in common]).astype(np.float32)
    b = np.stack([theirs[i] for i in common]).astype(np.float32)
    identical = int(np.all(a == b, axis=1).sum())
    cosines = np.sum(a * b, axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    return ("| vectors local | vectors Ray | same papers | bit-identical | max abs diff | "
            "min cosine |\n|---:|---:|---|---:|---:|---:|\n"
            f"| {len(mine):,} | {len(theirs):,} | {'yes' if set(mine) == set(theirs) else 'NO'}"
            f" | {identical:,} | {float(np.abs(a - b).max()):.3g} | {float(cosines.min()):.6f} |")


def start_ray(cpus: int, temp: Path) -> str:
    os.environ.update(RAY_ENV)
    os.environ["PYTHONPATH"] = env()["PYTHONPATH"]  # Ray's workers import this checkout
    import ray

    info = ray.init(address="local", num_cpus=cpus, include_dashboard=False,
                    object_store_memory=512 << 20, logging_level="WARNING",
                    log_to_driver=False, _temp_dir=str(temp))
    return str(info.address_info["gcs_address"])


def run(scratch: Path, papers: int, workers: int, share: float, timeout: float) -> str:
    source = scratch / f"first-{papers}.jsonl.gz"
    with gzip.open(SAMPLE, "rt") as lines, gzip.open(source, "wt") as out:
        out.writelines(islice(lines, papers))
    local, on_ray = scratch / "local", scratch / "ray"
    papersift(local, "ingest", "--no-embed", "--no-progress", str(source), timeout=timeout)
    shutil.copytree(local, on_ray)

    with Load() as local_load:
        started = time.monotonic()
        papersift(local, "embed", "--no-progress", timeout=timeout)
        local_s = time.monotonic() - started
    temp = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))  # short: Ray's sockets
    try:
        started = time.monotonic()
        address = start_ray(workers, temp)
        ray_start = time.monotonic() - started
        command = ["embed", "--ray", address, "--ray-workers", str(workers), "--no-progress"]
        with Load() as first_load:
            first_s, kept = killed_partway(on_ray, command, share, papers, timeout)
        check = subprocess.run([*CLI, "-L", str(on_ray), "check"], capture_output=True,
                               text=True, env=env(), timeout=timeout)
        with Load() as rerun_load:
            started = time.monotonic()
            rerun = papersift(on_ray, *command, timeout=timeout)
            rerun_s = time.monotonic() - started
        final = subprocess.run([*CLI, "-L", str(on_ray), "check"], capture_output=True,
                               text=True, env=env(), timeout=timeout)
    finally:
        import ray

        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)
    told = rerun.stderr.strip().splitlines()[-1]
    ray_s = first_s + rerun_s
    rows = [
        "| run | papers recorded | wall s | papers/s | load avg mean / max |",
        "|---|---:|---:|---:|---|",
        f"| local `papersift embed` | {papers:,} | {local_s:.1f} | {papers / local_s:.1f} | "
        f"{local_load} |",
        f"| Ray, first run, SIGKILLed | {kept:,} | {first_s:.1f} | | {first_load} |",
        f"| Ray, rerun to the end | {papers - kept:,} | {rerun_s:.1f} | | {rerun_load} |",
        f"| Ray, both runs | {papers:,} | {ray_s:.1f} | {papers / ray_s:.1f} | |",
    ]
    return "\n".join([
        *rows, "",
        f"Ray / local throughput: **{local_s / ray_s:.2f}x** (both Ray runs, each connecting, "
        f"starting {workers} workers and loading the model; the Ray instance itself took "
        f"{ray_start:.1f} s to start and is not counted).",
        f"After the kill, {kept:,} papers were recorded (whole chunks, the first ones small, "
        f"written in order) and `papersift check` said (exit {check.returncode}): "
        f"`{said(check)}`. The rerun said: `{told}`; then `papersift check` said (exit "
        f"{final.returncode}): `{said(final)}`.", "",
        compare(local, on_ray), ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2, help="Ray CPUs and workers")
    parser.add_argument("--kill-at", type=float, default=0.4,
                        help="SIGKILL the first Ray run once this share is recorded")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds per command")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    started = time.strftime("%Y-%m-%d %H:%M")
    with tempfile.TemporaryDirectory(prefix="papersift-ray-") as scratch:
        body = run(Path(scratch), args.papers, args.workers, args.kill_at, args.timeout)
    import ray

    report = (f"`python benchmarks/ray_embed.py {' '.join(sys.argv[1:])}`\n\n"
              f"{args.papers:,} papers of the 75k sample, Ray {ray.__version__}, {args.workers}"
              f" workers of 1 CPU on a local Ray instance; started {started}. "
              f"Machine: {machine()}.\n\n{body}")
    publish(report, args.out)


if __name__ == "__main__":
    main()
