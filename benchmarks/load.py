"""Load test on loopback: many clients against ``papersift serve`` with 1 or more workers.

Two scenarios, each server started fresh as a user starts it (``papersift serve``):

- **mixed**: ``--clients`` concurrent clients for ``--seconds``, each looping over a mix of
  hybrid and lexical searches (JSON and HTML), paper pages (with similar papers), daily
  and trending listings and upvotes. Reports requests/s, p50/p99 per kind, errors, and
  whether the vote counts the server reports afterwards are exactly what the clients cast.
- **hammer**: an unrelated search's latency alone, then again while four clients loop on
  the most expensive request the API allows (the arXiv-compatible query at its largest
  page, sorted by date); work per request is bounded, so the ratio must stay small.

``--baseline-src`` runs the same load against another checkout's server (for example the
commit before the seams work: ``git worktree add ../papersift-base 89c886a``), over its own
library (``--baseline-library``), in the same run: these machines are noisy, so only
ratios measured together mean anything. Every request goes to 127.0.0.1, bounded in count
and time, and the script stops by itself.

    python benchmarks/load.py --library LIB --workers 1 2 --seconds 60 \\
        [--baseline-src ../papersift-base/src --baseline-library LIB_BASE] \\
        --out benchmarks/results/load.md
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, publish

SRC = Path(__file__).resolve().parents[1] / "src"
#: What the mixed scenario sends, with weights (out of 100).
MIX = [("search hybrid", 25), ("search lexical", 10), ("search page", 10),
       ("paper", 20), ("paper page", 5), ("daily", 10), ("home", 5), ("trending", 5),
       ("vote", 10)]
HEAVY = ("/api/query?search_query=all:learning&start=0&max_results={n}"
         "&sortBy=submittedDate&sortOrder=descending")


@dataclass
class Server:
    name: str
    src: Path
    library: Path | str
    workers: int
    settings: list[str] = field(default_factory=list)
    url: str = ""
    extra: list[str] = field(default_factory=list)  # more serve options, e.g. --harvest
    embed: bool = False
    pid: int = 0


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(server: Server) -> Iterator[Server]:
    port = _port()
    env = {**os.environ, "PYTHONPATH": str(server.src), "PYTHONUNBUFFERED": "1"}
    args = [sys.executable, "-m", "papersift.cli", "-L", str(server.library), "serve",
            "--port", str(port), "--embed" if server.embed else "--no-embed", *server.extra]
    if server.workers > 1:
        args += ["--workers", str(server.workers)]
    for pair in server.settings:
        args += ["--set", pair]
    process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    server.url, server.pid = f"http://127.0.0.1:{port}", process.pid
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{server.url}/api/status", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{server.name}: the server did not start")
            time.sleep(0.3)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class Workload:
    """What the clients ask for: real titles as queries, real paper ids and days."""

    queries: list[str]
    ids: list[str]
    days: list[str]

    @classmethod
    def sample(cls, library: Path | str, n: int = 400, seed: int = 5) -> Workload:
        from papersift.library import Library
        from papersift.query import Filters

        lib = Library(library)
        daily = lib.daily()
        days = [d for d in (daily.day, daily.previous) if d]
        keys = lib.store.matching(Filters()).tolist()
        rng = random.Random(seed)
        papers = list(lib.store.papers(rng.sample(keys, n)).values())
        lib.close()
        queries = [" ".join(p.title.split()[: rng.choice([3, 4, 6])]) for p in papers]
        return cls(queries, [p.id for p in papers], [d.isoformat() for d in days])

    def request(self, kind: str, rng: random.Random) -> tuple[str, str]:
        q, paper = rng.choice(self.queries), rng.choice(self.ids)
        return {
            "search hybrid": ("GET", f"/api/search?q={q}&mode=hybrid"),
            "search lexical": ("GET", f"/api/search?q={q}&mode=lexical"),
            "search page": ("GET", f"/search?q={q}"),
            "paper": ("GET", f"/api/papers/{paper}"),
            "paper page": ("GET", f"/papers/{paper}"),
            "daily": ("GET", f"/api/daily?date={rng.choice(self.days)}"),
            "home": ("GET", "/"),
            "trending": ("GET", "/api/trending?days=30"),
            "vote": ("POST", f"/api/papers/{rng.choice(self.ids[:40])}/upvote"),
        }[kind]


@dataclass
class Log:
    samples: list[tuple[str, float, int, float]] = field(default_factory=list)
    failures: int = 0
    votes: dict[tuple[int, str], bool] = field(default_factory=dict)


async def _client(n: int, server: Server, work: Workload, stop: float, log: Log) -> None:
    rng = random.Random(n)
    kinds, weights = zip(*MIX, strict=True)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        await client.get("/")  # the voter cookie a page view issues
        while time.monotonic() < stop:
            kind = rng.choices(kinds, weights)[0]
            method, path = work.request(kind, rng)
            started = time.monotonic()
            try:
                response = await client.request(method, path)
            except httpx.HTTPError:
                log.failures += 1
                continue
            ended = time.monotonic()
            log.samples.append((kind, ended, response.status_code, ended - started))
            if kind == "vote" and response.status_code == 200:
                log.votes[(n, path.split("/")[3])] = bool(response.json()["voted"])


def database_processes(library: Path | str) -> list[Any]:
    """The PostgreSQL server holding ``library`` (a postgresql:// URL on this machine): the
    process listening on its port and that process's children; none for a directory. Only
    this server counts: another PostgreSQL on the machine (a test run's) is not the load's."""
    import psutil

    if not str(library).startswith(("postgresql://", "postgres://")):
        return []
    port = urlsplit(str(library)).port or 5432
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port \
                and conn.pid:
            root = psutil.Process(conn.pid)
            return [root, *root.children(recursive=True)]
    raise RuntimeError(f"no process on this machine listens on port {port} of {library}")


def cpu_seconds(server: Server) -> dict[str, float]:
    """CPU seconds (user + system) used so far by the server's processes (the one started
    and its workers), by the PostgreSQL server holding its library (its processes now: a
    backend that exited during the window is missed), and by this client."""
    import psutil

    def used(process: psutil.Process) -> float:
        try:
            times = process.cpu_times()
            return float(times.user + times.system)
        except psutil.Error:
            return 0.0

    root = psutil.Process(server.pid)
    return {"server": used(root) + sum(used(c) for c in root.children(recursive=True)),
            "database": sum(used(p) for p in database_processes(server.library)),
            "client": used(psutil.Process())}


def mixed(server: Server, work: Workload, clients: int, seconds: float,
          warmup: float) -> dict[str, object]:
    with running(server):
        before = _votes_here(server, work.ids[:40])
        log = Log()
        start = time.monotonic()
        stop = start + warmup + seconds
        cpu: list[dict[str, float]] = []

        async def measure() -> None:  # CPU used over the measured window only
            await asyncio.sleep(warmup)
            cpu.append(cpu_seconds(server))
            await asyncio.sleep(max(stop - time.monotonic(), 0))
            cpu.append(cpu_seconds(server))

        async def everyone() -> None:
            await asyncio.gather(measure(), *(_client(n, server, work, stop, log)
                                              for n in range(clients)))

        asyncio.run(everyone())
        after = _votes_here(server, work.ids[:40])
    window = [s for s in log.samples if s[1] >= start + warmup]
    expected: dict[str, int] = defaultdict(int)
    for (_, paper), voted in log.votes.items():
        expected[paper] += voted
    exact = all(after[p] - before[p] == expected.get(p, 0) for p in after)
    return {"samples": window, "seconds": seconds, "failures": log.failures,
            "errors": sum(1 for s in window if s[2] >= 500 or s[2] in (400, 403, 404)),
            "limited": sum(1 for s in window if s[2] == 429), "exact": exact,
            "cpu": {k: cpu[1][k] - cpu[0][k] for k in cpu[0]}}


def _votes_here(server: Server, ids: list[str]) -> dict[str, int]:
    counts = {}
    for paper in ids:
        data = httpx.get(f"{server.url}/api/papers/{paper}", timeout=30).json()["paper"]
        counts[paper] = int(data.get("votes", {}).get("here", data["upvotes"]))
    return counts


def hammer(server: Server, work: Workload, heavy_page: int, seconds: float) -> dict[str, float]:
    with running(server):
        probe = [f"/api/search?q={q}&mode=hybrid" for q in work.queries[:60]]
        with httpx.Client(base_url=server.url, timeout=60) as client:
            for path in probe[:10]:  # warm up: encoder, index
                client.get(path)
            idle = _timed(client, probe, seconds / 2)
            heavy_path = HEAVY.format(n=heavy_page)
            stop = time.monotonic() + seconds
            heavy_times: list[float] = []

            async def hammering() -> None:
                async with httpx.AsyncClient(base_url=server.url, timeout=60) as hc:
                    while time.monotonic() < stop:
                        began = time.monotonic()
                        await hc.get(heavy_path)
                        heavy_times.append(time.monotonic() - began)

            async def all_four() -> None:
                await asyncio.gather(*(hammering() for _ in range(4)))

            import threading

            thread = threading.Thread(target=lambda: asyncio.run(all_four()))
            thread.start()
            time.sleep(2)
            loaded = _timed(client, probe, seconds - 4)
            thread.join()
    return {"idle": idle, "loaded": loaded, "heavy": float(np.median(heavy_times)) * 1000,
            "heavy_rps": len(heavy_times) / seconds}


def _timed(client: httpx.Client, paths: list[str], seconds: float) -> float:
    times, i, stop = [], 0, time.monotonic() + seconds
    while time.monotonic() < stop:
        began = time.perf_counter()
        client.get(paths[i % len(paths)])
        times.append(time.perf_counter() - began)
        i += 1
    return float(np.median(times)) * 1000


def _row(name: str, result: dict[str, object]) -> str:
    samples = result["samples"]  # type: ignore[assignment]
    times = np.asarray([s[3] for s in samples]) * 1000  # type: ignore[union-attr]
    rps = len(samples) / float(result["seconds"])  # type: ignore[arg-type]
    return (f"| {name} | {rps:.1f} | {np.percentile(times, 50):.0f} | "
            f"{np.percentile(times, 99):.0f} | {result['errors']} + {result['failures']} | "
            f"{result['limited']} | {'yes' if result['exact'] else 'NO'} |")


def _cpu_row(name: str, result: dict[str, object]) -> str:
    """CPU ms per request of each party, and the requests/s this machine's cores allow at
    that cost (all of them busy with nothing else)."""
    cpu: dict[str, float] = result["cpu"]  # type: ignore[assignment]
    count = max(len(result["samples"]), 1)  # type: ignore[arg-type]
    per = {k: 1000 * v / count for k, v in cpu.items()}
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    bound = 1000 * (cores or 1) / max(sum(per.values()), 1e-9)
    share = per["database"] / max(per["server"], 1e-9)
    return (f"| {name} | {per['server']:.1f} | {per['database']:.1f} | {per['client']:.1f} | "
            f"{share:.2f} | {bound:.0f} |")


def _kinds(name: str, result: dict[str, object]) -> list[str]:
    by: dict[str, list[float]] = defaultdict(list)
    for kind, _, _, took in result["samples"]:  # type: ignore[union-attr]
        by[kind].append(took * 1000)
    return [f"| {name} | {kind} | {len(t)} | {np.percentile(t, 50):.0f} | "
            f"{np.percentile(t, 99):.0f} |" for kind, t in sorted(by.items())]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", required=True,
                        help="a library directory or a postgresql:// URL")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--warmup", type=float, default=10)
    parser.add_argument("--baseline-src", type=Path)
    parser.add_argument("--baseline-library", type=Path)
    parser.add_argument("--skip-hammer", action="store_true")
    parser.add_argument("--only-hammer", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    work = Workload.sample(args.library)
    # votes are counted for real: the shared per-network bucket is widened for one host
    limits = ["vote_burst=100000", "votes_per_minute=100000", "ip_vote_burst=100000",
              "ip_votes_per_minute=100000"]
    servers = [Server(f"papersift, {w} worker{'s' if w > 1 else ''}", SRC, args.library, w,
                      limits) for w in args.workers]
    if args.baseline_src:
        servers.insert(0, Server("baseline (1 process)", args.baseline_src,
                                 args.baseline_library or args.library, 1))
    rows, kinds, hammers, cpus = [], [], [], []
    for server in servers:
        if not args.only_hammer:
            result = mixed(server, work, args.clients, args.seconds, args.warmup)
            rows.append(_row(server.name, result))
            cpus.append(_cpu_row(server.name, result))
            kinds += _kinds(server.name, result)
            print(rows[-1], flush=True)
        if not args.skip_hammer:
            page = 2000 if server.src != SRC else 200  # the largest each allows
            h = hammer(server, work, page, min(args.seconds, 40))
            hammers.append(f"| {server.name} | {h['idle']:.1f} | {h['loaded']:.1f} | "
                           f"{h['loaded'] / h['idle']:.2f}x | {page} | {h['heavy']:.0f} |")
            print(hammers[-1], flush=True)
    report = [f"`python benchmarks/load.py {' '.join(sys.argv[1:])}`", "",
              f"{args.clients} clients for {args.seconds:.0f} s after {args.warmup:.0f} s of "
              f"warm-up, on loopback, client and server on the same machine. "
              f"Machine: {machine()}.", "",
              "| server | requests/s | p50 ms | p99 ms | errors + failed | 429 | votes exact |",
              "|---|---:|---:|---:|---:|---:|---|", *rows, "",
              "CPU per request over the measured window (user + system ms): the server's "
              "processes, PostgreSQL's (0 for the embedded library), the load client's; and "
              "the requests/s these cores would allow at that cost:", "",
              "| server | server ms | database ms | client ms | database / server | "
              "cores allow req/s |", "|---|---:|---:|---:|---:|---:|", *cpus, "",
              "| server | request | count | p50 ms | p99 ms |", "|---|---|---:|---:|---:|",
              *kinds]
    if hammers:
        report += ["", "An unrelated hybrid search (p50 ms), alone and while 4 clients loop on "
                   "the arXiv query API's largest page:", "",
                   "| server | idle p50 | loaded p50 | ratio | heavy page size | heavy p50 ms |",
                   "|---|---:|---:|---:|---:|---:|", *hammers]
    publish("\n".join(report) + "\n", args.out)


if __name__ == "__main__":
    main()
