"""Search page server time at 75k papers (p50 / p99), written to benchmarks/results/web.md.

    python benchmarks/web.py [--library /tmp/papersift-bench-75k] [--queries 200]

Builds (once) a library by ingesting ../shared/data/arxiv-75k.jsonl.gz, then requests the
HTML search page in process (FastAPI TestClient) and reads the app's own ``Server-Timing``
header: the time from request to rendered page inside the server, without network.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("PAPERSIFT_SHARED", REPO.parent / "shared")) / "data"


def queries(path: Path, n: int, seed: int = 7) -> list[str]:
    """Queries made of 2-4 words from real titles (deterministic)."""
    rng = random.Random(seed)
    titles = []
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for i, line in enumerate(lines):
            if i % 97 == 0:
                titles.append(json.loads(line)["title"])
    out = []
    for title in rng.sample(titles, n):
        words = [w.strip(":,.()") for w in title.split() if len(w) > 3]
        out.append(" ".join(words[: rng.randint(2, 4)]) or title)
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def time_pages(client: object, urls: list[str]) -> list[float]:
    times = []
    for url in urls:
        response = client.get(url)  # type: ignore[attr-defined]
        assert response.status_code == 200, (url, response.status_code)
        times.append(float(response.headers["server-timing"].split("dur=")[1]))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--library", default="/tmp/papersift-bench-75k")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--modes", default="lexical,hybrid")
    args = parser.parse_args()
    from fastapi.testclient import TestClient

    from papersift.library import Library
    from papersift.web import create_app

    source = DATA / "arxiv-75k.jsonl.gz"
    library = Library(args.library)
    if len(library) < 70_000:
        start = time.perf_counter()
        report = library.ingest([source])
        print(f"ingest: {report.summary()} in {time.perf_counter() - start:.0f}s")
    client = TestClient(create_app(library))
    qs = queries(source, args.queries)
    rows = []
    for mode in args.modes.split(","):
        urls = [f"/search?{urlencode({'q': q, 'mode': mode})}" for q in qs]
        time_pages(client, urls[:20])  # warm caches
        t = time_pages(client, urls)
        rows.append((f"search page, mode={mode}", len(t), statistics.median(t),
                     percentile(t, 0.99)))
    home = time_pages(client, ["/"] * 50)
    rows.append(("daily page (home)", len(home), statistics.median(home), percentile(home, 0.99)))
    ids = [p["paper"]["id"] for p in client.get("/api/search?q=language+model").json()["results"]]
    paper = time_pages(client, [f"/papers/{i}" for i in ids] * 3)
    rows.append(("paper page (with similar)", len(paper), statistics.median(paper),
                 percentile(paper, 0.99)))
    write(rows, len(library), args)


def write(rows: list[tuple[str, int, float, float]], papers: int, args: argparse.Namespace) -> None:
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    lines = [
        "# Web: server time per page",
        "",
        f"- command: `python benchmarks/web.py --queries {args.queries} --modes {args.modes}`",
        f"- data: {papers:,} papers (arxiv-75k.jsonl.gz ingested)",
        f"- machine: {machine}",
        "- measure: the app's Server-Timing header (request in, rendered HTML out; in process,",
        "  no network), 20 warm-up requests per mode first",
        "",
        "| page | requests | p50 ms | p99 ms |",
        "|---|---:|---:|---:|",
        *[f"| {name} | {n} | {p50:.1f} | {p99:.1f} |" for name, n, p50, p99 in rows],
        "",
    ]
    text = "\n".join(lines)
    print(text)
    out = REPO / "benchmarks" / "results" / "web.md"
    out.write_text(text)
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
