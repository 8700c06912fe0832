"""Encoder runtimes compared: speed and SciFact retrieval quality of the same MiniLM weights.

For each runtime (int8 ONNX, fp32 ONNX, sentence-transformers on torch) this encodes the full
SciFact corpus (5,183 abstracts, batch 32) and the 300 test queries one at a time, then ranks
the corpus for each query by exact cosine. It reports:

- texts/s: abstracts encoded per second, timed on the first 1,000 (one call; the rest of the
  corpus is encoded afterwards, untimed, for the quality figures);
- query ms: median and 90th percentile time to encode one query;
- nDCG@10 of exact cosine search, BEIR's definition (graded gains, log2 discount);
- cosine to torch: mean and minimum cosine between each abstract's vector and the torch one.

Example::

    python benchmarks/encoders.py                       # all three runtimes, ~10 min idle
    python benchmarks/encoders.py --runtimes minilm --docs 1000

Results are printed and written to ``benchmarks/results/encoders.md``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from papersift.encoders import Encoder, load_encoder
from papersift.papers import document_text

HERE = Path(__file__).resolve().parent
SCIFACT = HERE.parents[1] / "shared" / "data" / "scifact"
RESULTS = HERE / "results" / "encoders.md"
SPEED_DOCS = 1000
RUNTIMES = {"minilm": "int8 ONNX", "minilm-fp32": "fp32 ONNX", "minilm-torch": "torch (reference)"}


@dataclass
class SciFact:
    """The BEIR SciFact test split: corpus texts, query texts and graded judgments."""

    doc_ids: list[str]
    docs: list[str]
    query_ids: list[str]
    queries: list[str]
    qrels: dict[str, dict[str, int]]


def read_scifact(folder: Path, limit: int | None = None) -> SciFact:
    """Read the corpus (its first ``limit`` documents if given), test queries and qrels."""
    qrels: dict[str, dict[str, int]] = {}
    for line in (folder / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        query_id, doc_id, score = line.split("\t")
        qrels.setdefault(query_id, {})[doc_id] = int(score)
    doc_ids, docs = [], []
    with (folder / "corpus.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            doc_ids.append(record["_id"])
            docs.append(document_text(record["title"], record["text"]))
    queries = {}
    with (folder / "queries.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            record = json.loads(line)
            if record["_id"] in qrels:
                queries[record["_id"]] = record["text"]
    query_ids = sorted(queries, key=int)
    return SciFact(
        doc_ids[:limit],
        docs[:limit],
        query_ids,
        [queries[q] for q in query_ids],
        {q: qrels[q] for q in query_ids},
    )


def ndcg_at_10(ranked: list[str], judged: dict[str, int]) -> float:
    """nDCG@10 of one ranking: sum of gain / log2(rank + 1), over the ideal ordering's sum."""
    dcg = sum(judged.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:10]))
    ideal = sorted(judged.values(), reverse=True)[:10]
    idcg = sum(gain / math.log2(rank + 2) for rank, gain in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def mean_ndcg(data: SciFact, docs: np.ndarray, queries: np.ndarray) -> float:
    """Mean nDCG@10 over all queries of exact inner-product (cosine) search."""
    scores = queries @ docs.T
    top = np.argsort(-scores, axis=1, kind="stable")[:, :10]
    return float(
        np.mean(
            [
                ndcg_at_10([data.doc_ids[i] for i in row], data.qrels[query_id])
                for query_id, row in zip(data.query_ids, top, strict=True)
            ]
        )
    )


@dataclass
class Row:
    """One runtime's measurements."""

    runtime: str
    name: str
    load_s: float
    texts_per_s: float
    query_ms_p50: float
    query_ms_p90: float
    ndcg10: float | None
    docs: np.ndarray


def measure(spec: str, data: SciFact, *, full_corpus: bool) -> Row:
    """Load ``spec`` (twice for ONNX: the second, cached load is timed) and measure it."""
    if spec != "minilm-torch":
        load_encoder(spec)  # exports into the cache the first time
    started = time.perf_counter()
    encoder: Encoder = load_encoder(spec)
    load_s = time.perf_counter() - started
    timed = data.docs[:SPEED_DOCS]
    started = time.perf_counter()
    head = encoder.encode(timed, batch_size=32)
    texts_per_s = len(timed) / (time.perf_counter() - started)
    docs = np.vstack([head, encoder.encode(data.docs[SPEED_DOCS:], batch_size=32)])
    for query in data.queries[:10]:  # warm-up
        encoder.encode([query])
    times, query_vectors = [], []
    for query in data.queries:
        started = time.perf_counter()
        query_vectors.append(encoder.encode([query])[0])
        times.append((time.perf_counter() - started) * 1000)
    ndcg = mean_ndcg(data, docs, np.vstack(query_vectors)) if full_corpus else None
    return Row(
        RUNTIMES.get(spec, spec),
        encoder.name,
        load_s,
        texts_per_s,
        float(np.median(times)),
        float(np.percentile(times, 90)),
        ndcg,
        docs,
    )


def machine() -> str:
    """CPU model and the cores this process may use, from lscpu where available."""
    model = platform.processor() or platform.machine()
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next(
            line.split(":", 1)[1].strip()
            for line in lscpu.splitlines()
            if line.startswith("Model name")
        )
    except (OSError, subprocess.CalledProcessError, StopIteration):
        pass
    return f"{model}, {len(os.sched_getaffinity(0))} cores available"


def table(rows: list[Row]) -> str:
    """The results as a Markdown table, with cosine agreement to the torch rows if present."""
    reference = next((r.docs for r in rows if r.name == "minilm-l6-torch"), None)
    lines = [
        "| runtime | encoder name | load s | texts/s | query ms p50 | query ms p90 "
        "| nDCG@10 | cosine to torch mean / min |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        ndcg = f"{r.ndcg10:.3f}" if r.ndcg10 is not None else "n/a"
        agree = "n/a"
        if reference is not None:
            cosines = (r.docs * reference).sum(axis=1)
            agree = f"{cosines.mean():.4f} / {cosines.min():.4f}"
        lines.append(
            f"| {r.runtime} | {r.name} | {r.load_s:.2f} | {r.texts_per_s:.1f} "
            f"| {r.query_ms_p50:.2f} | {r.query_ms_p90:.2f} | {ndcg} | {agree} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtimes", default=",".join(RUNTIMES), help="comma-separated specs")
    parser.add_argument("--docs", type=int, default=None, help="only the first N abstracts")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    if not SCIFACT.exists():
        sys.exit(f"{SCIFACT} is missing: put the shared data folder beside the checkout")
    data = read_scifact(SCIFACT, args.docs)
    full = args.docs is None or args.docs >= 5183
    command = shlex.join(["python", "benchmarks/encoders.py", *sys.argv[1:]])
    header = [
        f"command: `{command}`",
        f"data: SciFact, {len(data.docs):,} abstracts (title + abstract, cut at 256 tokens; "
        f"texts/s timed on the first {min(SPEED_DOCS, len(data.docs)):,}), "
        f"{len(data.queries)} test queries{'' if full else ' (nDCG needs the full corpus)'}",
        f"machine: {machine()}; load average at start {os.getloadavg()[0]:.1f}",
        f"date: {time.strftime('%Y-%m-%d %H:%M')}",
    ]
    print("\n".join(header), flush=True)
    rows = []
    for spec in args.runtimes.split(","):
        rows.append(measure(spec.strip(), data, full_corpus=full))
        print(f"{spec}: done, load average {os.getloadavg()[0]:.1f}", flush=True)
    result = table(rows)
    footer = f"load average at end {os.getloadavg()[0]:.1f} (other jobs share these cores)"
    print(result + "\n" + footer)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    body = "\n\n".join(["# Encoder runtimes", "\n".join(f"- {h}" for h in header), result, footer])
    args.out.write_text(body + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
