"""Search and page requests while ``papersift serve --harvest`` harvests and then embeds:
p99 latency idle against p99 during the harvest and the embedding that follows, and errors.

The library is a copy of ``--library`` (e.g. the 75k sample: ``papersift ingest --no-embed
../shared/data/arxiv-75k.jsonl.gz`` then ``papersift vectors import
../shared/data/arxiv-75k-minilm.f16.npy -e minilm-l6-int8``). Two loopback servers from
``tests/protocol_servers`` stand in for arXiv's OAI-PMH interface and the Daily Papers API;
at first they have nothing new. The library's harvest settings point at them (arXiv's real
3 s gap between requests, pages of ``--page`` records) with the schedule
``arxiv:cs@EVERY, daily-papers@EVERY``, and the server starts as a user starts it:
``papersift serve --harvest`` (embedding on). Its first harvest finds nothing.

Then ``--clients`` clients load it, each one request at a time, with the request mix of
``benchmarks/load.py`` (hybrid and lexical searches, JSON and HTML, paper pages with similar
papers, daily and trending listings, upvotes). After ``--idle`` seconds, ``--records`` new
arXiv records (the sample's titles and abstracts under new ids, dated today) and
``--daily`` Daily Papers entries appear upstream; the next scheduled run harvests them, the
server's embedding job embeds them, and the vector index takes them in. A monitor reads
``/api/status`` twice a second to find the phases; each request counts in the phase it
started in: idle (before that run), harvest, embedding (until every paper has its vector),
after. Every request goes to 127.0.0.1 and the script stops by itself.

    python benchmarks/harvest_load.py --library LIB [--records 3000] [--daily 300]
        [--clients 4] [--idle 60] [--every 150s] [--out benchmarks/results/harvest_load.md]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path

import httpx
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from tests.protocol_servers import (  # noqa: E402
    DailyPapersApi,
    LoopbackServer,
    OaiRepository,
    Record,
    daily_items,
    records_from_jsonl,
)

from common import DATA, SAMPLE, machine, publish  # noqa: E402
from load import MIX, SRC, Server, Workload, running  # noqa: E402

PHASES = ("idle", "harvest", "embedding", "after")
LIMITS = ["vote_burst=100000", "votes_per_minute=100000", "ip_vote_burst=100000",
          "ip_votes_per_minute=100000"]


def new_records(n: int) -> list[Record]:
    """``n`` cs records with the sample's texts under new ids, listed over today."""
    now = datetime.now(UTC).replace(microsecond=0)
    chosen = [r for r in records_from_jsonl(SAMPLE, 4 * n) if "cs" in r.sets][:n]
    return [replace(r, id=f"2699.{i:05d}", versions=(now - timedelta(seconds=i),))
            for i, r in enumerate(chosen)]


def configure(library: Path, oai: str, daily: str, every: str, page_gap: float) -> None:
    from papersift.harvest import save_settings
    from papersift.library import Library

    with Library(library) as lib:
        save_settings(lib, {"oai_url": f"{oai}/oai",
                            "daily_papers_url": f"{daily}/api/daily_papers",
                            "schedule": f"arxiv:cs@{every}, daily-papers@{every}",
                            "oai_first_days": "0", "min_interval": str(page_gap),
                            "schedule_check": "2"})


@dataclass
class Timeline:
    """Monotonic times of the phases, and the load average seen, from the monitor."""

    marks: dict[str, float] = field(default_factory=dict)
    loads: list[tuple[float, float]] = field(default_factory=list)
    papers: list[int] = field(default_factory=list)
    status: dict[str, object] = field(default_factory=dict)


def monitor(url: str, stop: threading.Event, timeline: Timeline, armed: threading.Event,
            first_run: str) -> None:
    """Mark when the second harvest starts and ends, and when every paper has a vector."""
    with httpx.Client(base_url=url, timeout=30) as client:
        while not stop.wait(0.5):
            timeline.loads.append((time.monotonic(), os.getloadavg()[0]))
            try:
                status = client.get("/api/status").json()
            except httpx.HTTPError:
                continue
            now = time.monotonic()
            job = next((j for j in status["jobs"] if j["name"] == "harvest"), None)
            if not armed.is_set() or job is None or job["started_at"] == first_run:
                continue
            timeline.status = status
            if "harvest" not in timeline.marks:
                timeline.marks["harvest"] = now
            if job["status"] != "running" and "embedding" not in timeline.marks:
                timeline.marks["embedding"] = now
            if ("embedding" in timeline.marks and "after" not in timeline.marks
                    and status["embedded"] == status["papers"]):
                timeline.marks["after"] = now


def first_harvest(url: str, timeout: float = 300) -> str:
    """Wait for the server's first (empty) harvest to end; its start time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            status = httpx.get(f"{url}/api/status", timeout=30).json()
        except httpx.HTTPError:
            status = {"jobs": []}
        job = next((j for j in status["jobs"] if j["name"] == "harvest"), None)
        if job is not None and job["status"] == "done":
            return str(job["started_at"])
        time.sleep(0.5)
    raise RuntimeError("the first scheduled harvest did not end")


def phase_of(started: float, marks: dict[str, float]) -> str | None:
    if started < marks["idle"]:
        return None  # warm-up
    for name in reversed(PHASES):
        if name in marks and started >= marks[name]:
            return name
    return "idle"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", type=Path, required=True)
    parser.add_argument("--records", type=int, default=3000)
    parser.add_argument("--daily", type=int, default=300)
    parser.add_argument("--page", type=int, default=250)
    parser.add_argument("--gap", type=float, default=3.0, help="politeness, seconds")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--warmup", type=float, default=15)
    parser.add_argument("--idle", type=float, default=60)
    parser.add_argument("--every", default="150s")
    parser.add_argument("--after", type=float, default=20)
    parser.add_argument("--limit", type=float, default=1500, help="longest run, seconds")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    work = Workload.sample(args.library)
    records = new_records(args.records)
    today = datetime.now(UTC).date()
    items = [replace(i, day=today) for i in
             daily_items(DATA / "hf-daily-papers" / "papers.json", args.daily)]
    repo, daily = OaiRepository.of([], page_size=args.page), DailyPapersApi.of([])
    with tempfile.TemporaryDirectory(prefix="papersift-harvest-load-") as scratch, \
            LoopbackServer(repo) as oai, LoopbackServer(daily) as hf:
        library = Path(scratch) / "library"
        shutil.copytree(args.library, library)
        configure(library, oai.url, hf.url, args.every, args.gap)
        from papersift.library import Library

        with Library(library) as lib:
            before = len(lib)
        server = Server("papersift --harvest", SRC, library, 1, LIMITS, embed=True,
                        extra=["--harvest"])
        with running(server):
            first_run = first_harvest(server.url)
            timeline, log, stop, armed = Timeline(), Log(), threading.Event(), threading.Event()
            watcher = threading.Thread(target=monitor, args=(server.url, stop, timeline,
                                                              armed, first_run))
            watcher.start()
            began = time.monotonic()
            timeline.marks["idle"] = began + args.warmup
            clients = threading.Thread(target=lambda: asyncio.run(
                load(server.url, work, args.clients, stop, log)))
            clients.start()
            time.sleep(args.warmup + args.idle)
            repo.records.update({r.id: r for r in records})  # new upstream, for the next run
            daily.items.update({i.id: i for i in items})
            armed.set()
            deadline = began + args.limit
            while "after" not in timeline.marks and time.monotonic() < deadline:
                time.sleep(0.5)
            timeline.marks["end"] = min(time.monotonic() + args.after, deadline)
            while time.monotonic() < timeline.marks["end"]:
                time.sleep(0.5)
            stop.set()
            clients.join()
            watcher.join()
            found = httpx.get(f"{server.url}/api/search", params={
                "q": records[-1].title, "mode": "hybrid"}, timeout=60).json()
            status = httpx.get(f"{server.url}/api/status", timeout=60).json()
        report(args, timeline, log, before, status, found, records, oai, hf)


@dataclass
class Log:
    samples: list[tuple[str, float, int, float]] = field(default_factory=list)
    failures: int = 0


async def load(url: str, work: Workload, clients: int, stop: threading.Event, log: Log) -> None:
    """``clients`` clients, each sending load.py's request mix one at a time until ``stop``."""
    kinds, weights = zip(*MIX, strict=True)

    async def client(n: int) -> None:
        rng = random.Random(n)
        async with httpx.AsyncClient(base_url=url, timeout=60) as http:
            await http.get("/")  # the voter cookie a page view issues
            while not stop.is_set():
                kind = rng.choices(kinds, weights)[0]
                method, path = work.request(kind, rng)
                started = time.monotonic()
                try:
                    response = await http.request(method, path)
                except httpx.HTTPError:
                    log.failures += 1
                    continue
                ended = time.monotonic()
                log.samples.append((kind, ended, response.status_code, ended - started))

    await asyncio.gather(*(client(n) for n in range(clients)))


def report(args: argparse.Namespace, timeline: Timeline, log: Log, before: int,
           status: dict[str, object], found: dict[str, object], records: list[Record],
           oai: LoopbackServer, hf: LoopbackServer) -> None:
    marks, samples, failures = timeline.marks, log.samples, log.failures
    by: dict[str, list[tuple[str, int, float]]] = defaultdict(list)
    for kind, ended, code, took in samples:
        phase = phase_of(ended - took, marks)
        if phase is not None and ended <= marks["end"]:
            by[phase].append((kind, code, took * 1000))
    spans = {"idle": (marks["idle"], marks.get("harvest")),
             "harvest": (marks.get("harvest"), marks.get("embedding")),
             "embedding": (marks.get("embedding"), marks.get("after")),
             "after": (marks.get("after"), marks["end"])}
    rows, p99 = [], {}
    for phase in PHASES:
        got = by.get(phase, [])
        a, b = spans[phase]
        seconds = (b - a) if a is not None and b is not None else float("nan")
        loads = [v for t, v in timeline.loads if a is not None and b is not None and a <= t <= b]
        if not got:
            rows.append(f"| {phase} | {seconds:.0f} | 0 | | | | | |")
            continue
        times = np.asarray([t for _, _, t in got])
        errors = sum(1 for _, code, _ in got if code >= 500 or code in (400, 403, 404))
        p99[phase] = float(np.percentile(times, 99))
        low, high = min(loads, default=float("nan")), max(loads, default=float("nan"))
        rows.append(f"| {phase} | {seconds:.0f} | {len(got)} | {len(got) / seconds:.1f} | "
                    f"{np.percentile(times, 50):.0f} | {p99[phase]:.0f} | {errors} | "
                    f"{low:.1f}-{high:.1f} |")
    busy = by.get("harvest", []) + by.get("embedding", [])
    busy_p99 = float(np.percentile([t for _, _, t in busy], 99)) if busy else float("nan")
    kinds = []
    for kind in sorted({k for k, _, _ in by.get("idle", [])}):
        idle_t = [t for k, _, t in by["idle"] if k == kind]
        busy_t = [t for k, _, t in busy if k == kind]
        if idle_t and busy_t:
            kinds.append(f"| {kind} | {len(idle_t)} | {np.percentile(idle_t, 99):.0f} | "
                         f"{len(busy_t)} | {np.percentile(busy_t, 99):.0f} |")
    gaps = [b.arrived - a.arrived for a, b in pairwise(e for e in oai.log if e.status)]
    listed = [r["paper"]["id"] for r in found.get("results", [])[:3]]  # type: ignore[union-attr]
    harvest_s = marks.get("embedding", float("nan")) - marks.get("harvest", float("nan"))
    embed_s = marks.get("after", float("nan")) - marks.get("embedding", float("nan"))
    ratio = busy_p99 / p99["idle"] if "idle" in p99 else float("nan")
    first = "found first" if listed[:1] == [records[-1].id] else f"NOT first: {listed}"
    lines = [
        f"`python benchmarks/harvest_load.py {' '.join(sys.argv[1:])}`", "",
        f"Library: a copy of {before:,} papers with their vectors; upstream: {len(records):,} "
        f"new arXiv records (pages of {args.page}, {args.gap:g} s between requests) and "
        f"{args.daily} Daily Papers entries for today; {args.clients} clients, one request "
        f"at a time each, on loopback. Machine: {machine()}.", "",
        "| phase | seconds | requests | requests/s | p50 ms | p99 ms | errors | load average |",
        "|---|---:|---:|---:|---:|---:|---:|---|", *rows, "",
        f"p99 during the harvest and the embedding: {busy_p99:.0f} ms, idle "
        f"{p99.get('idle', 0):.0f} ms: "
        f"**{ratio:.2f}x** (bound: 2x); failed connections: {failures}.", "",
        f"The scheduled run: {len(oai.log) - 1} OAI-PMH requests (the first, empty run made 1), "
        f"{len(hf.log)} Daily Papers requests; harvest {harvest_s:.0f} s, then embedding "
        f"{embed_s:.0f} s; smallest gap between OAI-PMH requests {min(gaps, default=0):.2f} s. "
        f"Papers {before:,} -> {status['papers']:,}, with vectors {status['embedded']:,}; a "
        f"new paper's title as a hybrid search: {first}.",
        "", "p99 ms per request kind:", "",
        "| request | idle count | idle p99 | harvest+embedding count | harvest+embedding p99 |",
        "|---|---:|---:|---:|---:|", *kinds,
    ]
    publish("\n".join(lines) + "\n", args.out)


if __name__ == "__main__":
    main()
