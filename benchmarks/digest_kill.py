"""Kill ``papersift digest send`` with SIGKILL at random points, run it again, and count at
the SMTP server that every due digest arrived exactly once.

The library holds three listing days of the 75k arXiv sample and ``--subscribers``
confirmed daily subscriptions (some with saved searches); then a fourth day arrives, so
one digest per subscription is due. Each trial copies that library and runs
``papersift digest send`` as a subprocess, as cron would, against a real SMTP server on
loopback (aiosmtpd) that counts every message by its Message-ID. The harness kills the
sender with SIGKILL: in a third of the trials at a random moment of a whole run (start-up
and planning included), otherwise a random 0-3 ms after the server received a random one
of the messages (inside the send loop). Then it runs the same command again (killing it
again in the same way, up to ``--kills`` times), and finally once to the end. A trial
passes when the server received each due digest's Message-ID exactly once and nothing else.

    python benchmarks/digest_kill.py [--trials 10] [--subscribers 60] [--kills 2]
        [--seed 15] [--out benchmarks/results/digest_kill.md]
"""

from __future__ import annotations

import argparse
import email
import email.policy
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from tests.community_fixtures import BASE, DAYS, WORD, matching, sample_days  # noqa: E402

from common import SAMPLE, machine, publish  # noqa: E402
from papersift.library import Library  # noqa: E402

QUERIES = [WORD, "robot grasping", "diffusion models for video", "speculative decoding"]


class CountingServer:
    """aiosmtpd on 127.0.0.1 counting messages by Message-ID; tells a waiter each arrival."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        self.counts: Counter[str] = Counter()
        self.arrived = threading.Condition()
        self.total = 0
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
        with self.arrived:
            self.counts[str(message["Message-ID"])] += 1
            self.total += 1
            self.arrived.notify_all()
        return "250 OK"

    def wait_for(self, total: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self.arrived:
            while self.total < total:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.arrived.wait(left)
        return True

    def reset(self) -> None:
        with self.arrived:
            self.counts.clear()
            self.total = 0


def build(root: Path, subscribers: int) -> tuple[Path, set[str]]:
    """The library, and the Message-IDs of the digests due in it."""
    lib = Library(root)
    by_day = sample_days(SAMPLE)
    lib.add([p for d in DAYS[:3] for p in by_day[d]])
    for i in range(subscribers):
        made = lib.subscribe(f"reader{i:03d}@example.org", link_for=lambda s: s)
        lib.confirm_subscription(made.link)
        if i % 3 == 0:
            member = lib.add_user(f"reader{i:03d}@example.org")
            lib.add_saved_search(member, QUERIES[i % len(QUERIES)], "lexical")
    lib.add([*by_day[DAYS[3]], *matching(DAYS[3], 4)])
    due = {f"<digest-{s.id}-{DAYS[3].isoformat()}@example.org>"
           for s in lib.community_store.active_subscriptions()}
    lib.close()
    return root, due


def command(library: Path) -> list[str]:
    return [sys.executable, "-m", "papersift.cli", "-L", str(library), "digest", "send"]


def environment(port: int) -> dict[str, str]:
    paths = [str(REPO / "src"), str(REPO), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p),
            "PAPERSIFT_BASE_URL": BASE, "PAPERSIFT_SMTP_HOST": "127.0.0.1",
            "PAPERSIFT_SMTP_PORT": str(port), "PAPERSIFT_SMTP_SECURITY": "none",
            "PAPERSIFT_MAIL_FROM": "papersift <digest@example.org>"}


def killed_run(library: Path, server: CountingServer, rng: random.Random, full: float,
               due: int) -> str:
    """One run of the sender, killed at a random point; says where."""
    env = environment(server.port)
    before = server.total
    if rng.random() < 1 / 3 or before >= due:
        delay = rng.uniform(0, full)
        process = subprocess.Popen(command(library), env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        try:
            process.wait(timeout=delay)
            return f"ended before {delay:.2f} s"
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            return f"at {delay:.2f} s"
    target = before + rng.randint(1, due - before)
    jitter = rng.uniform(0, 0.003)
    process = subprocess.Popen(command(library), env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    reached = server.wait_for(target, timeout=120)
    time.sleep(jitter)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return (f"{jitter * 1000:.1f} ms after mail {target - before}" if reached
            else "ended first")


def outbox_states(library: Path) -> dict[str, str]:
    """Each digest's state in the outbox, by Message-ID (read straight from the file)."""
    import sqlite3

    with sqlite3.connect(library / "catalog.sqlite") as db:
        return dict(db.execute("SELECT message_id, state FROM digest_outbox").fetchall())


def trial(built: Path, due: set[str], server: CountingServer, seed: int, kills: int,
          full: float, work: Path) -> dict[str, Any]:
    rng = random.Random(seed)
    library = work / f"trial-{seed}"
    shutil.copytree(built, library)
    server.reset()
    where = [killed_run(library, server, rng, full, len(due)) for _ in range(kills)]
    done = subprocess.run(command(library), env=environment(server.port), capture_output=True,
                          text=True, check=False, timeout=600)
    counts = dict(server.counts)
    states = outbox_states(library)
    twice = sorted(k for k, n in counts.items() if n > 1)
    missing = sorted(due - set(counts))
    extra = sorted(set(counts) - due)
    shutil.rmtree(library, ignore_errors=True)
    if missing:
        print(f"trial {seed}: missing {missing}, outbox states {states}", file=sys.stderr)
    return {"seed": seed, "kills": where, "received": server.total, "twice": twice,
            "missing": missing, "extra": extra, "rc": done.returncode,
            "ok": not twice and not missing and not extra and done.returncode == 0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--subscribers", type=int, default=60)
    parser.add_argument("--kills", type=int, default=2, help="Kills per trial before the "
                        "last, uninterrupted run.")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not SAMPLE.exists():
        sys.exit(f"{SAMPLE} is missing: put the shared data folder beside the checkout")
    server = CountingServer()
    server.controller.start()
    work = Path(tempfile.mkdtemp(prefix="digest-kill-"))
    try:
        built, due = build(work / "library", args.subscribers)
        reference = work / "reference"
        shutil.copytree(built, reference)
        started = time.perf_counter()
        plain = subprocess.run(command(reference), env=environment(server.port),
                               capture_output=True, text=True, check=False, timeout=600)
        full = time.perf_counter() - started
        clean = (plain.returncode == 0 and set(server.counts) == due
                 and all(n == 1 for n in server.counts.values()))
        results = [trial(built, due, server, args.seed + i, args.kills, full, work)
                   for i in range(args.trials)]
    finally:
        server.controller.stop()
        shutil.rmtree(work, ignore_errors=True)
    publish(report(args, due, full, clean, results), args.out)
    if not clean or not all(r["ok"] for r in results):
        sys.exit(1)


def report(args: argparse.Namespace, due: set[str], full: float, clean: bool,
           results: list[dict[str, Any]]) -> str:
    lines = [
        "# `papersift digest send` killed with SIGKILL, then run again", "",
        f"Command: `python benchmarks/digest_kill.py --trials {args.trials} --subscribers "
        f"{args.subscribers} --kills {args.kills} --seed {args.seed}`  ",
        f"Machine: {machine()}  ",
        f"Data: three listing days of the 75k arXiv sample (711 papers), then a fourth "
        f"(203 papers + 4 made to match a saved search); {len(due)} daily digests due, one "
        f"per subscription; a third of the subscribers have a saved search.  ",
        f"Reference (same run, never killed): {full:.2f} s for the whole command, "
        f"{'every digest exactly once' if clean else 'NOT exactly once'}.", "",
        "| trial (seed) | where the kills landed | received at the SMTP server | twice | "
        "missing | unexpected | exactly once |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(f"| {r['seed']} | {'; '.join(r['kills'])} | {r['received']} | "
                     f"{len(r['twice'])} | {len(r['missing'])} | {len(r['extra'])} | "
                     f"{'yes' if r['ok'] else 'NO'} |")
    good = sum(r["ok"] for r in results)
    lines += ["", f"{good} of {len(results)} trials: every due digest delivered exactly once "
              "(counted by Message-ID at the SMTP server).", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
