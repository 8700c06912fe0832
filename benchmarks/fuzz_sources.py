"""Coverage-guided fuzzing of the source readers (and the query parser) with atheris.

Each input is read as one file of the format named (``sniff`` lets the sniffer choose)
and must keep the promises in ``tests/source_invariants.py``: only Papers, Rejected
records and at most one one-line SourceError come out, every Paper is safe to store and
show, and the papers are then stored in an in-memory catalog. The first input byte picks
how the rest is fed: as it is, gzip-compressed, or gzip-compressed and cut short, so the
gzip paths are fuzzed too. Limits are small (tests/source_invariants.SMALL_LIMITS) so that
short inputs reach the limit checks.

    nice -n 15 python benchmarks/fuzz_sources.py jsonl --seconds 600 \\
        [--out benchmarks/results/fuzz/jsonl.txt]

READER is one of the formats, ``sniff`` or ``query``. The seed corpus is written from
tests/data and a few built-in samples into a scratch folder. A crash stops the run and
leaves ``crash-*`` beside the corpus (libFuzzer's artifact); the report gives the number
of executions, the coverage reached and any finding.
"""

from __future__ import annotations

import argparse
import gzip
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

DATA = ROOT / "tests" / "data"
FORMATS = ("text", "daily-page", "jsonl", "kaggle", "atom", "oai-pmh", "daily-json", "beir", "csv")
TARGETS = (*FORMATS, "sniff", "query")
SEED_FILES = {
    "jsonl": ["kaggle_arxiv.jsonl"],
    "kaggle": ["kaggle_arxiv.jsonl"],
    "atom": ["arxiv_api.atom"],
    "oai-pmh": ["oai_arxiv.xml", "oai_arxivraw.xml"],
    "daily-json": ["daily_papers_api.json"],
    "csv": ["papers.csv"],
}
SEED_TEXT = {
    "text": "We study the problem of learning. It works.\nAnother abstract, e.g. this one.\n",
    "daily-page": "Daily Papers\n\nA title\n\nAn abstract about it.\n\n  • 5 authors\n·\n"
    "Sep 16, 2023 1\n\nOther\n\nMore text.\n\n  openbmb OpenBMB\n·\nFeb 24\n",
    "jsonl": '{"id": "2401.00001", "title": "T", "abstract": "A", "upvotes": 3, '
    '"url": "https://arxiv.org/abs/2401.00001", "authors": ["A B", "C D"]}\n'
    '{"title": "U", "date": "2024-03-01", "categories": "cs.LG cs.AI"}\n',
    "beir": '{"_id": "d1", "title": "T", "text": "A", "metadata": {}}\n'
    '{"_id": "d2", "title": "", "text": "B", "metadata": {"x": [1, {"y": 2}]}}\n',
    "daily-json": '{"2312.17653": {"url": "https://arxiv.org/abs/2312.17653", "title": "T", '
    '"authors": ["A"], "abstract": "X", "publication_date": "2023-12-29", "upvotes": 2}}',
    "csv": 'title,abstract,authors\n"A, quoted",one,"X; Y"\nB,"two\nlines",Z\n',
}


def seeds(target: str) -> list[bytes]:
    """Seed inputs (without the leading mode byte) for one target."""
    if target == "query":
        return [b'deep learning "graph neural" -survey', b'"unclosed -x -- "" a-b']
    if target == "sniff":
        texts = [(DATA / f).read_bytes() for f in sorted(p.name for p in DATA.iterdir())]
        return texts + [t.encode() for t in SEED_TEXT.values()]
    found = [(DATA / name).read_bytes() for name in SEED_FILES.get(target, [])]
    if target in SEED_TEXT:
        found.append(SEED_TEXT[target].encode())
    return found


def prepare(data: bytes) -> bytes:
    """The first byte picks the feeding: 0 as is, 1 gzip, 2 gzip cut short (at byte 2)."""
    if not data:
        return data
    mode, rest = data[0] % 3, data[1:]
    if mode == 0:
        return rest
    packed = gzip.compress(rest, mtime=0)
    if mode == 1 or len(rest) < 2:
        return packed
    return packed[: len(packed) * rest[0] // 256]


def fuzz(target: str, argv: list[str]) -> None:
    """Run atheris on ``target`` with libFuzzer arguments ``argv`` (does not return)."""
    import atheris

    with atheris.instrument_imports(include=["papersift"]):
        from tests.source_invariants import read_data

        from papersift.catalog import Catalog
        from papersift.ranking import parse_query

    if target == "query":

        def one(data: bytes) -> None:
            text = atheris.FuzzedDataProvider(data).ConsumeUnicodeNoSurrogates(len(data))
            parsed = parse_query(text)
            assert '"' not in parsed.text and all('"' not in p for p in parsed.phrases)
            assert parsed.text == " ".join(parsed.text.split())

    else:
        fmt = None if target == "sniff" else target
        catalog = Catalog(":memory:")

        def one(data: bytes) -> None:
            read_data(prepare(data), fmt, catalog=catalog)

    atheris.Setup([sys.argv[0], *argv], one)
    atheris.Fuzz()


def report(target: str, seconds: int, log: str, rc: int, started: float, corpus: Path) -> str:
    runs = re.findall(r"Done (\d+) runs in (\d+) second", log) or [
        (n, "?") for n in re.findall(r"stat::number_of_executed_units: (\d+)", log)
    ]
    cov = re.findall(r"cov: (\d+) ft: (\d+)", log)
    crashes = sorted(p.name for p in corpus.parent.glob(f"{target}-crash-*"))
    finding = "none" if rc == 0 and not crashes else (
        f"exit {rc}: " + (", ".join(crashes) or "see the log") + "\n" +
        "\n".join(line for line in log.splitlines()
                  if "Error" in line or "Traceback" in line or "assert" in line.lower())[-2000:]
    )
    execs = f"{int(runs[-1][0]):,} runs in {runs[-1][1]} s" if runs else "no summary line"
    coverage = f"cov {cov[-1][0]}, features {cov[-1][1]}" if cov else "n/a"
    from common import machine

    return (
        f"# fuzz {target}\n\ncommand: nice -n 15 python benchmarks/fuzz_sources.py {target} "
        f"--seconds {seconds}\nmachine: {machine()}\nwall: {time.time() - started:.0f} s\n"
        f"executions: {execs}\ncoverage: {coverage}\ncorpus: {len(list(corpus.iterdir()))} "
        f"inputs at the end\nfindings: {finding}\n"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=TARGETS)
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--corpus", type=Path, help="corpus folder (default: a scratch one)")
    parser.add_argument("--out", type=Path, help="write the report here too")
    parser.add_argument("--max-len", type=int, default=8192, help="longest input, bytes")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.child:
        fuzz(args.target, rest)
        return
    corpus = args.corpus or Path(tempfile.gettempdir()) / "papersift-fuzz" / args.target
    corpus.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate(seeds(args.target)):
        for mode in (0, 1) if args.target != "query" else (0,):
            data = seed if args.target == "query" else bytes([mode]) + seed
            (corpus / f"seed-{i}-{mode}").write_bytes(data)
    started = time.time()
    libfuzzer = [
        f"-max_total_time={args.seconds}", "-timeout=10", "-rss_limit_mb=3072",
        f"-max_len={args.max_len}", f"-artifact_prefix={corpus.parent}/{args.target}-",
        "-print_final_stats=1", str(corpus),
    ]
    done = subprocess.run(
        [sys.executable, __file__, args.target, "--child", *libfuzzer],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )
    log = done.stdout + done.stderr
    (corpus.parent / f"{args.target}.log").write_text(log)
    text = report(args.target, args.seconds, log, done.returncode, started, corpus)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text)


if __name__ == "__main__":
    main()
