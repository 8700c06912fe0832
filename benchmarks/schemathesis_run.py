"""Schemathesis against a running ``papersift serve``: every operation of /openapi.json,
generated examples (positive and negative), no answer may be a server error (5xx).

    python benchmarks/schemathesis_run.py [--papers 400] [--examples 100] [--seed 20250611]

Builds a library of the first N papers of ../shared/data/arxiv-75k.jsonl.gz with their
precomputed MiniLM vectors (so semantic and hybrid search run for real), serves it on a free
loopback port in a subprocess, runs ``schemathesis run`` (phases examples, coverage,
fuzzing and stateful; the check ``not_a_server_error``; a fixed seed), and writes the
operations, the test cases run and the failures to benchmarks/results/schemathesis.md.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import DATA, SAMPLE, machine, publish

RESULTS = Path(__file__).resolve().parent / "results" / "schemathesis.md"
VECTORS = DATA / "arxiv-75k-minilm.f16.npy"
CLI = [sys.executable, "-m", "papersift.cli"]


def build(root: Path, papers: int) -> Path:
    """A library of the sample's first ``papers`` papers with their vectors."""
    subset = root / "subset.jsonl"
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as source, subset.open("w") as out:
        for _, line in zip(range(papers), source, strict=False):
            out.write(line)
    library = root / "library"
    for args in (["ingest", str(subset), "--no-embed"],
                 ["vectors", "import", str(VECTORS), "-e", "minilm-l6-int8"]):
        subprocess.run([*CLI, "--library", str(library), *args], check=True,
                       capture_output=True, text=True)
    return library


def member_token(library: Path) -> str:
    """An API token of a member of the library, so members' operations are tested past
    their 401 too."""
    from papersift.library import Library

    lib = Library(library)
    try:
        user = lib.add_user("schemathesis@example.org")
        return lib.create_api_token(user, "schemathesis")[0]
    finally:
        lib.close()


#: Left out of the member's pass (the anonymous pass runs them): they would end the
#: member's account or revoke its token halfway through the run.
MEMBER_EXCLUDED = ("delete_api_api_me_delete", "revoke_api_api_me_tokens__token_id__delete")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: Rate limits raised so that generated requests reach the handlers rather than a 429
#: (the limits themselves are tested in tests/test_web.py).
LIMITS = ("ratings_per_minute=100000", "vote_burst=100000", "ip_vote_burst=100000",
          "sign_ins_per_hour=100000", "network_sign_ins_per_hour=100000",
          "sign_ups_per_hour=100000")


def serve(library: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """``papersift serve`` on loopback, once it answers /api/status."""
    server = subprocess.Popen(
        [*CLI, "--library", str(library), "serve", "--host", "127.0.0.1", "--port", str(port),
         "--no-embed", *[x for limit in LIMITS for x in ("--set", limit)]],
        stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=5):
                return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"papersift serve exited: {log.read_text()[-2000:]}") from None
            time.sleep(0.5)
    server.kill()
    raise SystemExit("papersift serve did not answer within 120 s")


def run_schemathesis(url: str, args: argparse.Namespace, reports: Path,
                     extra: list[str]) -> tuple[int, str]:
    command = [str(Path(sys.executable).parent / "schemathesis"), "run", f"{url}/openapi.json",
               "--checks", "not_a_server_error", "--seed", str(args.seed),
               "--max-examples", str(args.examples), "--phases",
               "examples,coverage,fuzzing,stateful", "--workers", "1", "--no-color",
               "--generation-database", "none", "--request-timeout", "60",
               "--report", "junit", "--report-dir", str(reports), *extra]
    done = subprocess.run(command, capture_output=True, text=True, cwd=reports.parent,
                          env=os.environ | {"COLUMNS": "120"})  # its cache stays in tmp
    return done.returncode, done.stdout + done.stderr


def summarize(junit: Path) -> tuple[list[tuple[str, str]], int]:
    """``(operation, outcome)`` per operation, and how many failed."""
    rows, failed = [], 0
    for case in ET.parse(junit).getroot().iter("testcase"):
        problems = case.findall("failure") + case.findall("error")
        failed += bool(problems)
        outcome = "; ".join((p.get("message") or p.text or "").strip().splitlines()[0][:160]
                            for p in problems) or "ok"
        rows.append((case.get("name", "?"), outcome))
    return rows, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--papers", type=int, default=400)
    parser.add_argument("--examples", type=int, default=100,
                        help="Most test cases per operation and phase.")
    parser.add_argument("--seed", type=int, default=20250611)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if not SAMPLE.exists() or not VECTORS.exists():
        raise SystemExit(f"needs {SAMPLE} and {VECTORS} (see ../shared/data/README.md)")
    with tempfile.TemporaryDirectory(prefix="papersift-schemathesis-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        library = build(root, args.papers)
        port = free_port()
        token = member_token(library)
        server = serve(library, port, root / "serve.log")
        passes = {"anonymous": [],
                  "member (API token)": ["--header", f"Authorization: Bearer {token}",
                                         *[x for op in MEMBER_EXCLUDED
                                           for x in ("--exclude-operation-id", op)]]}
        results = []
        try:
            for name, extra in passes.items():
                reports = root / f"reports-{len(results)}"
                code, output = run_schemathesis(f"http://127.0.0.1:{port}", args, reports,
                                                extra)
                print(output.replace(token, "pst_…"), file=sys.stderr)
                junit = next(reports.glob("*.xml"), None)
                if junit is None:
                    raise SystemExit(f"schemathesis wrote no JUnit report (exit status {code})")
                results.append(Pass(name, code, output.replace(token, "pst_…"),
                                    *summarize(junit)))
        finally:
            server.terminate()
            server.wait(30)
        seconds = time.perf_counter() - started
    publish(report(args, results, seconds), args.out)
    sys.exit(max(r.code for r in results))


@dataclass
class Pass:
    """One schemathesis run: its exit status, output, operations and failing ones."""

    name: str
    code: int
    output: str
    rows: list[tuple[str, str]]
    failed: int

    @property
    def cases(self) -> str:
        found = re.search(r"Test cases:\s*\n?\s*(\d[\d,]*) generated", self.output)
        return found.group(1) if found else "?"

    @property
    def operations(self) -> str:
        found = re.search(r"Tested:\s*(\d+)", self.output)
        return found.group(1) if found else "?"

    @property
    def server_errors(self) -> int:
        return len(re.findall(r"Server error", self.output))


def _tail(output: str) -> str:
    """schemathesis's own summary (the lines from its SUMMARY header on)."""
    at = output.rfind("SUMMARY")
    tail = output[at:].strip() if at >= 0 else output[-3000:].strip()
    return "\n".join(line for line in tail.splitlines()  # no temporary paths
                     if "JUnit:" not in line and line.strip() != "Reports:")


def report(args: argparse.Namespace, results: list[Pass], seconds: float) -> str:
    lines = [
        "# Schemathesis: the JSON API against its OpenAPI schema",
        "",
        f"Command: `python benchmarks/schemathesis_run.py --papers {args.papers} "
        f"--examples {args.examples} --seed {args.seed}`",
        f"Data: the first {args.papers} papers of ../shared/data/arxiv-75k.jsonl.gz with "
        "their precomputed MiniLM vectors; `papersift serve` on 127.0.0.1 (one worker).",
        f"Machine: {machine()}. Both passes took {seconds:.0f} s in all. Rate limits "
        f"raised ({', '.join(LIMITS)}) so requests reach the handlers.",
        f"schemathesis: phases examples, coverage, fuzzing, stateful; check "
        f"`not_a_server_error`; at most {args.examples} cases per operation and phase; "
        "two passes: anonymous (every operation) and a member with an API token (every "
        f"operation but {', '.join(f'`{o}`' for o in MEMBER_EXCLUDED)}, which would end "
        "the member's account or token halfway).",
        "",
        "| pass | operations | test cases generated | operations failing | server errors "
        "| exit status |",
        "|---|---|---|---|---|---|",
        *[f"| {r.name} | {r.operations} | {r.cases} | {r.failed} | {r.server_errors} | "
          f"{r.code} |" for r in results],
        "",
    ]
    for r in results:
        lines += [f"## {r.name}", "", "| operation | outcome |", "|---|---|",
                  *[f"| `{name}` | {outcome.replace('|', '/')} |" for name, outcome in r.rows],
                  "", "schemathesis's summary:", "", "```", _tail(r.output), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
