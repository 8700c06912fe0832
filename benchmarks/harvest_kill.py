"""Kill an OAI-PMH harvest with SIGKILL at a random page, run it again, and compare the
library with one an uninterrupted run made; measure the gaps between requests.

The feed: a library holds yesterday's harvest of the first ``--base`` papers of the 75k
arXiv sample (with votes on some). Today the loopback repository lists ``--records`` records
after yesterday's newest datestamp: new papers, new versions of yesterday's (a changed
abstract), and deletions. ``papersift harvest arxiv`` runs as a subprocess, as cron would
run it; the server kills it ``SIGKILL`` a random moment after a random page has been sent,
then the same command runs again. Each trial also meets one 503 with ``Retry-After`` and one
cut, malformed or reset response at random requests.

With ``--polite``: one uninterrupted run at arXiv's real 3 s gap (pages of 500), to show the
gap kept at that scale.

    python benchmarks/harvest_kill.py [--trials 10] [--records 5000] [--polite]
        [--out benchmarks/results/harvest_kill.md]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import astuple, dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from tests.protocol_servers import (  # noqa: E402
    Logged,
    LoopbackServer,
    OaiRepository,
    Record,
    records_from_jsonl,
)

from common import SAMPLE, machine, publish  # noqa: E402
from papersift.library import Library  # noqa: E402
from papersift.query import Filters  # noqa: E402

RETRY_AFTER = 1.0


def command(library: Path, url: str, gap: float, backoff: float) -> list[str]:
    return [sys.executable, "-m", "papersift.cli", "-L", str(library), "harvest", "arxiv",
            "--set", "all", "--url", url, "--min-interval", str(gap),
            "--setting", f"backoff={backoff}", "--setting", "oai_first_days=0",
            "--no-embed", "--no-progress"]


def feeds(n_base: int, n_records: int, seed: int) -> tuple[list[Record], list[Record]]:
    """Yesterday's records and today's: new ones, revised and deleted ones of yesterday."""
    n_revised, n_deleted = n_records // 50, n_records // 100
    n_new = n_records - n_revised - n_deleted
    sample = records_from_jsonl(SAMPLE, n_base + n_new)
    yesterday = sample[:n_base]
    start = datetime.combine(max(r.datestamp for r in yesterday) + timedelta(days=1),
                             datetime.min.time(), UTC)
    rng = random.Random(seed)
    spread = timedelta(days=20)
    today = [replace(r, versions=(start + spread * i / n_new,)) for i, r in
             enumerate(sample[n_base:])]
    chosen = rng.sample(yesterday, n_revised + n_deleted)
    for r in chosen[:n_revised]:
        today.append(r.revised(start + spread * rng.random(), r.abstract + " (revised)"))
    for r in chosen[n_revised:]:
        today.append(replace(r, deleted_on=(start + spread * rng.random()).date()))
    changed = {r.id for r in today}
    return yesterday, today + [r for r in yesterday if r.id not in changed]


def snapshot(path: Path, voted: list[str]) -> dict[str, object]:
    """Everything a harvest is responsible for, in a comparable form."""
    with Library(path) as lib:
        papers = lib.store.papers(lib.store.matching(Filters()).tolist())
        cursor = json.loads(lib.store.get_meta("harvest.cursor:arxiv") or "{}")
        return {  # a paper's votes here are part of it (votes_here)
            "papers": sorted(astuple(p) for p in papers.values()),
            "voters": {i: [v for v in ("voter-a", "voter-b") if lib.store.voted([i], v)]
                       for i in voted},
            "kept": {i: lib.store.kept_votes(i) for i in voted},
            "high": cursor.get("high"),
            "token": cursor.get("token"),
            "check": lib.check(),
            "lexical": lib.lexical.count,
        }


@dataclass
class Trial:
    seed: int
    kill_page: int
    delay: float
    killed: bool
    requests: int
    rerun_requests: int
    faults: str
    min_gap: float
    short_gaps: int
    after_503: float
    after_fault: float
    same: bool


def _gap_after(log: list[Logged], fault: str | None, of: set[str]) -> float:
    """The shortest gap between a request that met one of the faults ``of`` and the next."""
    gaps = [b.arrived - a.arrived for a, b in pairwise(log) if a.fault in of]
    return min(gaps) if gaps else float("nan")


@dataclass
class Feed:
    base: Path  # yesterday's library
    today: list[Record]  # today's repository
    listed: int  # records an incremental harvest lists today
    voted: list[str]
    reference: dict[str, object]  # what an uninterrupted run leaves
    seconds: float  # how long that run took


def run_trial(seed: int, feed: Feed, work: Path, page_size: int, gap: float,
              backoff: float) -> Trial:
    rng = random.Random(seed)
    library = work / f"trial-{seed}"
    shutil.copytree(feed.base, library)
    repo = OaiRepository.of(feed.today, page_size=page_size)
    pages = -(-feed.listed // page_size)
    kill_page, delay = rng.randint(1, pages - 1), rng.uniform(0, gap + 0.1)
    with LoopbackServer(repo, retry_after=f"{RETRY_AFTER:g}") as server:
        first, second = rng.sample(range(2, pages), 2)
        other = rng.choice(["cut", "malformed", "reset"])
        server.at.update({first: "503", second: other})
        argv = command(library, server.url + "/oai", gap, backoff)
        process: subprocess.Popen[bytes] | None = None
        sent = 0

        def after(entry: Logged) -> None:
            nonlocal sent
            if entry.status == 200 and entry.fault is None:
                sent += 1
                if sent == kill_page and process is not None:
                    threading.Timer(delay, _kill, (process,)).start()

        server.after_answer = after
        with open(work / f"trial-{seed}-1.log", "wb") as log:
            process = subprocess.Popen(argv, stderr=log, stdout=subprocess.DEVNULL)
            killed = process.wait() == -signal.SIGKILL
        server.after_answer = None
        before = len(server.log)
        with open(work / f"trial-{seed}-2.log", "wb") as log:
            rerun = subprocess.run(argv, stderr=log, stdout=subprocess.DEVNULL, check=False)
        if rerun.returncode != 0:
            tail = (work / f"trial-{seed}-2.log").read_text()[-3000:]
            raise SystemExit(f"trial {seed}: the rerun failed (exit {rerun.returncode}):\n{tail}")
        gaps = server.gaps()
        trial = Trial(
            seed=seed, kill_page=kill_page, delay=delay, killed=killed,
            requests=len(server.log), rerun_requests=len(server.log) - before,
            faults=f"503@{first}, {other}@{second}", min_gap=min(gaps),
            short_gaps=sum(g < gap for g in gaps),
            after_503=_gap_after(server.log, "503", {"503"}),
            after_fault=_gap_after(server.log, other, {other}),
            same=_compare(snapshot(library, feed.voted), feed.reference, seed),
        )
    shutil.rmtree(library)
    return trial


def _compare(got: dict[str, object], want: dict[str, object], seed: int) -> bool:
    """Whether two snapshots agree; what differs is printed, for whoever has to fix it."""
    for key in want:
        if got[key] != want[key]:
            mine, theirs = got[key], want[key]
            if isinstance(mine, list) and isinstance(theirs, list):
                mine, theirs = [x for x in mine if x not in theirs], [
                    x for x in theirs if x not in mine]
            print(f"trial {seed}: {key} differs: {str(mine)[:600]} vs {str(theirs)[:600]}",
                  file=sys.stderr)
    return got == want


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGKILL)


def prepare(work: Path, n_base: int, n_records: int, seed: int, page_size: int, gap: float,
            backoff: float) -> Feed:
    """Yesterday's library (with votes), today's records, and the uninterrupted result."""
    yesterday, today = feeds(n_base, n_records, seed)
    high = max(r.datestamp for r in yesterday)
    voted = [r.id for r in today if r.deleted_on or len(r.versions) > 1][:40]
    base = work / "base"
    with LoopbackServer(OaiRepository.of(yesterday, page_size=page_size)) as server:
        subprocess.run(command(base, server.url + "/oai", gap, backoff), check=True,
                       capture_output=True)
    with Library(base) as lib:
        for paper_id in voted:
            lib.upvote(paper_id, "voter-a")
            lib.upvote(paper_id, "voter-b")
    reference = work / "reference"
    shutil.copytree(base, reference)
    with LoopbackServer(OaiRepository.of(today, page_size=page_size)) as server:
        started = time.perf_counter()
        subprocess.run(command(reference, server.url + "/oai", gap, backoff), check=True,
                       capture_output=True)
        seconds = time.perf_counter() - started
    listed = sum(r.datestamp >= high for r in today)
    expected = snapshot(reference, voted)
    if expected["check"]:
        raise SystemExit(f"the uninterrupted run left a library that fails check: "
                         f"{expected['check']}")
    return Feed(base, today, listed, voted, expected, seconds)


def polite_run(work: Path, feed: Feed) -> dict[str, float]:
    """One uninterrupted run at the real 3 s gap and default back-off, with two faults."""
    library = work / "polite"
    shutil.copytree(feed.base, library)
    with LoopbackServer(OaiRepository.of(feed.today, page_size=500), retry_after="5") as server:
        server.at.update({3: "503", 6: "cut"})
        started = time.perf_counter()
        subprocess.run(command(library, server.url + "/oai", 3.0, 2.0), check=True,
                       capture_output=True)
        seconds = time.perf_counter() - started
        gaps = server.gaps()
        same = snapshot(library, feed.voted) == feed.reference
        return {"requests": len(server.log), "seconds": seconds, "min_gap": min(gaps),
                "after_503": _gap_after(server.log, "503", {"503"}),
                "after_cut": _gap_after(server.log, "cut", {"cut"}), "same": float(same)}


def report(trials: list[Trial], args: argparse.Namespace, feed: Feed,
           polite: dict[str, float] | None) -> str:
    lines = [
        f"# Harvest killed with SIGKILL, then rerun ({machine()})",
        "",
        f"`python benchmarks/harvest_kill.py {' '.join(sys.argv[1:])}`: {feed.listed} "
        "records listed today after a library "
        f"of {args.base} harvested yesterday; pages of {args.page_size}; gap "
        f"{args.gap:g} s, back-off base {args.backoff:g} s, Retry-After {RETRY_AFTER:g} s. "
        f"Uninterrupted run (the reference): {feed.seconds:.1f} s.",
        "",
        "| seed | killed after page (+ms) | killed | faults (request no.) | requests "
        "(rerun) | min gap s | gaps < gap | after 503 s | after fault s | same as reference |",
        "|---:|---:|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for t in trials:
        lines.append(
            f"| {t.seed} | {t.kill_page} (+{t.delay * 1000:.0f}) | {'yes' if t.killed else 'no'}"
            f" | {t.faults} | {t.requests} ({t.rerun_requests}) | {t.min_gap:.3f} | "
            f"{t.short_gaps} | {t.after_503:.3f} | {t.after_fault:.3f} | "
            f"{'yes' if t.same else '**NO**'} |")
    same = sum(t.same for t in trials)
    lines += ["", f"{same} of {len(trials)} trials end with exactly the reference's papers, "
              "votes (kept ones included), position and a lexical index that agrees."]
    if polite:
        lines += ["", f"At arXiv's 3 s gap (pages of 500, default back-off, a 503 with "
                  f"Retry-After 5 at request 3, a cut at request 6): {polite['requests']:.0f} "
                  f"requests in {polite['seconds']:.1f} s; shortest gap "
                  f"{polite['min_gap']:.3f} s, after the 503 {polite['after_503']:.3f} s, "
                  f"after the cut {polite['after_cut']:.3f} s; same papers as the reference: "
                  f"{'yes' if polite['same'] else 'NO'}."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--base", type=int, default=300)
    parser.add_argument("--page-size", type=int, default=100)
    parser.add_argument("--gap", type=float, default=0.2)
    parser.add_argument("--backoff", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--skip", type=int, default=0, help="Start at this trial (to repeat one).")
    parser.add_argument("--polite", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not SAMPLE.exists():
        raise SystemExit(f"{SAMPLE} is missing: put the shared data folder beside the checkout")
    with tempfile.TemporaryDirectory(prefix="harvest-kill-") as tmp:
        work = Path(tmp)
        feed = prepare(work, args.base, args.records, args.seed, args.page_size, args.gap,
                       args.backoff)
        trials = []
        for n in range(args.skip, args.trials):
            trials.append(run_trial(args.seed + n, feed, work, args.page_size, args.gap,
                                    args.backoff))
            print(trials[-1], file=sys.stderr, flush=True)
        polite = polite_run(work, feed) if args.polite else None
    publish(report(trials, args, feed, polite), args.out)
    polite_ok = polite is None or (polite["same"] and polite["min_gap"] >= 3.0
                                   and polite["after_503"] >= 5.0)
    if not polite_ok or not all(_kept(t, args) for t in trials):
        raise SystemExit(1)


def _kept(t: Trial, args: argparse.Namespace) -> bool:
    """The trial ended right and every gap was kept: the politeness gap, Retry-After, and
    at least half the first back-off (the jitter keeps half)."""
    return (t.same and t.short_gaps == 0 and t.after_503 >= RETRY_AFTER
            and t.after_fault >= args.backoff / 2)


if __name__ == "__main__":
    main()
