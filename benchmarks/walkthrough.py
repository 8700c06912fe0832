"""The README walkthrough's second part, verbatim, in a clone that ran its first command.

    python benchmarks/walkthrough.py --clone DIR [--skip eval] [--out FILE]

Runs each line of the README's second code block in ``DIR`` with the clone's virtual
environment activated, times it and keeps the end of its output. A ``serve`` line is run in
the background until its home page answers, then stopped (on another port when 8000 is
taken). Prints a table: command, exit status, seconds, last line of output.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, publish

REPO = Path(__file__).resolve().parent.parent


def readme_walkthrough(readme: Path) -> list[str]:
    """The commands of the README's second bash block (after ``source``)."""
    block = readme.read_text().split("```bash")[2].split("```", 1)[0]
    lines = [line.strip() for line in block.strip().splitlines()]
    return [line for line in lines if line and not line.startswith(("#", "source "))]


def _free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _serve(clone: Path, line: str) -> tuple[int, str]:
    port = 8000 if _free(8000) else 8766
    command = line.split("#", 1)[0].strip() + ("" if port == 8000 else f" --port {port}")
    server = subprocess.Popen(["bash", "-c", f"source .venv/bin/activate && exec {command}"],
                              cwd=clone, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, start_new_session=True)
    deadline = time.monotonic() + 600
    ok = False
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as answer:
                ok = answer.status == 200
                break
        except OSError:
            time.sleep(1)
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGINT)
    output, _ = server.communicate(timeout=120)
    note = f"GET / on port {port}: {'200' if ok else 'no answer'}"
    return (0 if ok else 1), note + " · " + (output.strip().splitlines() or [""])[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clone", type=Path, required=True)
    parser.add_argument("--skip", action="append", default=[],
                        help="skip the commands of this papersift subcommand, e.g. eval "
                             "(say why in the report)")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    rows = []
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    for line in readme_walkthrough(args.clone / "README.md"):
        if line.split()[1:2] and line.split()[1] in args.skip:  # papersift SUBCOMMAND ...
            rows.append((line, "skipped", 0.0, ""))
            continue
        began = time.monotonic()
        if " serve" in line:
            code, last = _serve(args.clone, line)
        else:
            done = subprocess.run(["bash", "-c", f"source .venv/bin/activate && {line}"],
                                  cwd=args.clone, capture_output=True, text=True)
            code = done.returncode
            output = (done.stderr.strip() + "\n" + done.stdout.strip()).strip().splitlines()
            last = output[-1] if output else ""
        rows.append((line.split("  #", 1)[0].strip(), str(code), time.monotonic() - began,
                     last[:140]))
    lines = [
        "# The README walkthrough, second part, verbatim",
        "",
        f"`python benchmarks/walkthrough.py --clone DIR` on {machine()}; load average {load} "
        f"at the start. Each line run as written, with `{shlex.quote('.venv')}` activated.",
        "",
        "| command | exit | seconds | last line of output |",
        "|---|---:|---:|---|",
        *[f"| `{c.replace('|', '/')}` | {code} | {s:.0f} | {last.replace('|', '/')} |"
          for c, code, s, last in rows],
        "",
    ]
    publish("\n".join(lines), args.out)


if __name__ == "__main__":
    main()
