"""time-to-first-semantic-result: the README's first command on a fresh clone, until a
paper listed on the newest day is found by meaning.

    python benchmarks/first_hour.py --work /tmp/first-hour [--out benchmarks/results/first_hour.md]

Clones this checkout's HEAD into ``WORK/clone`` with ``WORK/shared`` beside it (a link to
the shared data), then runs the README's first command there, step by step (its ``&&``
parts, verbatim, each timed; the last one, ``serve``, in the background). Once the home
page answers, it picks the paper of the newest listing day that the background embedding
reaches last (the last one on the day's last page) and asks ``/api/search`` for its title
in semantic mode every few seconds, until that paper is among the first ten results and
the answer says semantic ran. It also records when the first paper of that day (the first
on the home page) was found that way, and the embedding's progress over time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, publish

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


def readme_first_command() -> str:
    """The command under ``# 1.`` in the README's first code block."""
    text = (REPO / "README.md").read_text()
    block = text.split("```bash", 1)[1].split("```", 1)[0]
    lines = block.strip().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("# 1."))
    return lines[start + 1].strip()


def _get(url: str, timeout: float = 30) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return answer.status, answer.read()
    except OSError:
        return 0, b""


def _json(url: str) -> dict:  # type: ignore[type-arg]
    status, body = _get(url)
    return json.loads(body) if status == 200 else {}


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _found(base: str, paper: dict, started: float) -> float | None:  # type: ignore[type-arg]
    query = urllib.parse.urlencode({"q": paper["title"], "mode": "semantic"})
    answer = _json(f"{base}/api/search?{query}")
    ids = [r["paper"]["id"] for r in answer.get("results", [])[:10]]
    if answer.get("mode_used") == "semantic" and paper["id"] in ids:
        return time.monotonic() - started
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="scratch folder (emptied)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--limit", type=float, default=3600, help="give up after (s)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    clone, log = args.work / "clone", args.work / "serve.log"
    (args.work / "shared").symlink_to(SHARED.resolve())
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    command = readme_first_command()
    steps = [part.strip() for part in command.split(" && ")]
    steps[-1] += f" --port {args.port}"
    rows: list[tuple[str, float]] = []
    load_before = _load()
    for step in steps[:-1]:
        began = time.monotonic()
        subprocess.run(["bash", "-c", step], cwd=clone, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        rows.append((step, time.monotonic() - began))
    began = time.monotonic()
    server = subprocess.Popen(["bash", "-c", f"exec {steps[-1]}"], cwd=clone,
                              stdout=log.open("w"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    base = f"http://127.0.0.1:{args.port}"
    try:
        while _get(base + "/")[0] != 200:
            time.sleep(0.5)
        up = time.monotonic()
        rows.append((steps[-1] + " (until GET / answers 200)", up - began))
        daily = _json(base + "/api/daily")
        pages = -(-daily["total"] // daily["pagination"]["per_page"])
        last = _json(f"{base}/api/daily?date={daily['date']}&page={pages}")["papers"][-1]
        first = daily["papers"][0]
        first_at = last_at = None
        progress: list[str] = []
        while last_at is None and time.monotonic() - up < args.limit:
            first_at = first_at or _found(base, first, up)
            last_at = _found(base, last, up)
            status = _json(base + "/api/status")
            progress.append(f"{time.monotonic() - up:6.0f} s: {status.get('embedded', 0):,} "
                            "papers embedded")
            time.sleep(5)
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=60)
    report = _report(args, command, rows, daily, first, last, first_at, last_at, progress,
                     load_before)
    publish(report, args.out)


def _report(args: argparse.Namespace, command: str, rows: list[tuple[str, float]],
            daily: dict, first: dict, last: dict, first_at: float | None,  # type: ignore[type-arg]
            last_at: float | None, progress: list[str], load_before: str) -> str:
    total = sum(seconds for _, seconds in rows)
    cache = Path(os.environ.get("PAPERSIFT_CACHE", Path.home() / ".cache" / "papersift"))
    lines = [
        "# time-to-first-semantic-result",
        "",
        f"`python benchmarks/first_hour.py --work DIR` on {machine()}; load average "
        f"{load_before} before, {_load()} after (1, 5, 15 min).",
        f"The README's first command, verbatim, split at `&&`: `{command}`",
        f"pip's cache was warm; the encoder's ONNX cache ({cache}) "
        f"{'existed' if cache.exists() else 'did not exist'}.",
        "",
        "| step | seconds |",
        "|---|---:|",
        *[f"| `{re.sub(r'[|]', '/', step)[:90]}` | {seconds:.0f} |" for step, seconds in rows],
        f"| **from the first command to a serving home page** | **{total:.0f}** |",
        "",
        f"Newest listing day {daily['date']}: {daily['total']:,} papers.",
        "",
        "| found by meaning (its title, `mode=semantic`, in the top 10) | seconds after the "
        "server answered |",
        "|---|---:|",
        f"| the day's first paper on the home page ({first['id']}) | "
        f"{'not found' if first_at is None else f'{first_at:.0f}'} |",
        f"| the day's last paper, embedded last ({last['id']}) | "
        f"{'not found' if last_at is None else f'{last_at:.0f}'} |",
        "",
        "Embedding progress seen through `/api/status`:",
        "",
        *[f"    {line}" for line in progress[:: max(1, len(progress) // 12)]],
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
