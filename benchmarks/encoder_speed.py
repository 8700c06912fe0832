"""Embedding throughput of the MiniLM ONNX paths on the 75k sample, in one run.

Each configuration (an exported graph, how texts are scheduled, threads, memory arena) embeds
the same papers (title + abstract, as ``papersift embed`` does) in a child process of its
own, so that its peak resident memory is its own. The papers are split into rounds and the
configurations take turns round by round, so that load from other work on a shared machine
falls on all of them alike; papers/s is the total over the rounds. The graphs compared:

- ``int8`` (the unfused dynamic-int8 export, ``minilm-l6-int8``: the default);
- ``fused int8`` (onnxruntime's BERT fusion, then dynamic int8 of the matrix products and
  attention: ``minilm-l6-int8-fused``, opt-in);
- ``fused static QDQ``: the fused graph quantized statically (QDQ, per-channel int8 weights,
  uint8 activations calibrated on 256 abstracts that are not among the timed ones).

The schedules: ``batched`` is the path before 2026-11-30 (texts sorted by length, batches
padded to their longest text, one session with ``threads`` intra-op threads), rebuilt here
as the reference; ``alone`` is today's :class:`~papersift.encoders.onnx_runtime.OnnxEncoder`
(each text run alone, ``threads`` lanes of one thread each).

Mean and minimum cosine to the fp32 export of the same weights (the torch reference to
1e-6) are measured on the first 300 papers.

    python benchmarks/encoder_speed.py --papers 2000 --out benchmarks/results/encoder_speed.md
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common import SAMPLE, machine, publish
from papersift.encoders import default_cache_dir
from papersift.encoders.model_cache import ExportSettings
from papersift.encoders.onnx_export import export_onnx
from papersift.encoders.onnx_runtime import OnnxEncoder, ensure_minilm_onnx, minilm_folder
from papersift.papers import document_text

CALIBRATION = 256


@dataclass(frozen=True)
class Config:
    """One way to run the encoder."""

    label: str
    graph: str
    schedule: str = "alone"
    threads: int = 2
    batch: int = 64
    arena: bool = True


def configs() -> list[Config]:
    return [Config("int8, batches of 64 (before)", "int8", "batched"),
            Config("int8, batches of 16", "int8", "batched", batch=16),
            Config("int8, each text alone (default)", "int8"),
            Config("int8, each text alone, no memory arena", "int8", arena=False),
            Config("int8, each text alone", "int8", threads=1),
            Config("fused int8, batches of 64", "fused", "batched"),
            Config("fused int8, each text alone", "fused"),
            Config("fused int8, each text alone, no memory arena", "fused", arena=False),
            Config("fused static QDQ, each text alone", "qdq")]


def sample_texts(n: int, seed: int = 1) -> tuple[list[str], list[str]]:
    """``n`` papers drawn from the sample, and the first abstracts for calibration."""
    with gzip.open(SAMPLE, "rt", encoding="utf-8") as lines:
        papers = [json.loads(line) for line in lines]
    rows = np.random.default_rng(seed).permutation(len(papers))
    texts = [document_text(papers[i]["title"], papers[i]["abstract"]) for i in rows]
    return texts[CALIBRATION:CALIBRATION + n], texts[:CALIBRATION]


def graphs(folder: Path, calibration: list[str]) -> dict[str, Path]:
    """The ONNX files compared: the cached exports, and a static QDQ of the fused graph."""
    cache = default_cache_dir()
    paths = {"int8": ensure_minilm_onnx(cache, "minilm-l6-int8").path,
             "fused": ensure_minilm_onnx(cache, "minilm-l6-int8-fused").path,
             "fp32": ensure_minilm_onnx(cache, "minilm-l6-fp32").path}
    fused_fp32 = folder / "fused-fp32.onnx"
    export_onnx(minilm_folder(), fused_fp32, ExportSettings(quantize_ops=(), fuse=True))
    paths["qdq"] = folder / "fused-qdq.onnx"
    _static_qdq(fused_fp32, paths["qdq"], calibration)
    return paths


def _static_qdq(source: Path, target: Path, texts: list[str]) -> None:
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    encoder = OnnxEncoder(source, minilm_folder() / "tokenizer.json", name="calibration")
    ids = encoder.token_ids(texts)

    class Batches(CalibrationDataReader):
        def __init__(self) -> None:
            self.left = [ids[i:i + 16] for i in range(0, len(ids), 16)]

        def get_next(self) -> dict[str, np.ndarray] | None:
            return _feed(self.left.pop()) if self.left else None

    quantize_static(str(source), str(target), Batches(), quant_format=QuantFormat.QDQ,
                    op_types_to_quantize=["MatMul"], per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def _feed(batch: list[list[int]]) -> dict[str, np.ndarray]:
    width = max(len(row) for row in batch)
    input_ids = np.zeros((len(batch), width), np.int64)
    mask = np.zeros_like(input_ids)
    for r, row in enumerate(batch):
        input_ids[r, :len(row)], mask[r, :len(row)] = row, 1
    return {"input_ids": input_ids, "attention_mask": mask}


CHILD = """
import json, resource, sys, time
import numpy as np
from pathlib import Path
from papersift.encoders.onnx_runtime import OnnxEncoder, minilm_folder
graph, schedule, threads, batch, arena, texts_file, out = sys.argv[1:8]
encoder = OnnxEncoder(Path(graph), minilm_folder() / "tokenizer.json", name="x",
                      threads=int(threads), memory_arena=arena == "1")
texts = json.loads(Path(texts_file).read_text())

def batched(texts, batch):
    # The path before: one session, intra-op threads, length-sorted padded batches.
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = int(threads), 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.enable_cpu_mem_arena = arena == "1"
    session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
    def run(texts):
        ids = encoder.token_ids(texts)
        out = np.empty((len(ids), encoder.dim), np.float32)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]), reverse=True)
        for s in range(0, len(order), batch):
            rows = order[s:s + batch]
            width = max(len(ids[i]) for i in rows)
            x = np.zeros((len(rows), width), np.int64)
            m = np.zeros_like(x)
            for r, i in enumerate(rows):
                x[r, :len(ids[i])], m[r, :len(ids[i])] = ids[i], 1
            out[rows] = session.run(["sentence_embedding"],
                                    {"input_ids": x, "attention_mask": m})[0]
        return out
    return run

encode = (batched(texts, int(batch)) if schedule == "batched"
          else lambda t: encoder.encode(t))
encode(texts[:8])
start = time.perf_counter()
vectors = encode(texts)
seconds = time.perf_counter() - start
np.save(out, vectors)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork and exec, so it would report
# the parent's peak (which holds the whole sample); VmHWM is this process's own.
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")]
rss = (int(hwm[0].split()[1]) if hwm
       else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) / 1024
print(json.dumps({"seconds": seconds, "rss_mib": rss}))
"""


def run_round(config: Config, graph: Path, texts: list[str], folder: Path,
              tag: str) -> tuple[float, float, np.ndarray]:
    """Embed ``texts`` in a fresh child process: (seconds, peak RSS MiB, vectors)."""
    texts_file, out = folder / f"{tag}.json", folder / f"{tag}.npy"
    texts_file.write_text(json.dumps(texts))
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(graph), config.schedule, str(config.threads),
         str(config.batch),
         "1" if config.arena else "0", str(texts_file), str(out)],
        capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["seconds"], result["rss_mib"], np.load(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--papers", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not SAMPLE.exists():
        sys.exit(f"{SAMPLE} is missing: put the shared data folder beside the checkout")
    texts, calibration = sample_texts(args.papers)
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory(prefix="encoder-speed-") as tmp:
        folder = Path(tmp)
        paths = graphs(folder, calibration)
        plan = configs()
        seconds = {c: 0.0 for c in plan}
        rss = {c: 0.0 for c in plan}
        vectors: dict[Config, list[np.ndarray]] = {c: [] for c in plan}
        for r, part in enumerate(np.array_split(np.arange(len(texts)), args.rounds)):
            chunk = [texts[i] for i in part]
            for c, config in enumerate(plan):
                s, m, v = run_round(config, paths[config.graph], chunk, folder, f"{r}-{c}")
                seconds[config] += s
                rss[config] = max(rss[config], m)
                vectors[config].append(v)
            load.append(os.getloadavg()[0])
            print(f"round {r + 1}/{args.rounds} done, load {load[-1]:.1f}", flush=True)
        reference = run_round(Config("fp32", "fp32"), paths["fp32"], texts[:300], folder,
                              "reference")[2]
    before = len(texts) / seconds[plan[0]]
    rows = ["| configuration | papers/s | vs before | peak RSS MiB | cosine to fp32 mean / min |",
            "|---|---:|---:|---:|---|"]
    for config in plan:
        rate = len(texts) / seconds[config]
        cos = (np.vstack(vectors[config])[:300] * reference).sum(axis=1)
        threads = "intra-op threads" if config.schedule == "batched" else "lanes"
        rows.append(f"| {config.label}, {config.threads} {threads} | {rate:.1f} | "
                    f"{rate / before:.2f}x | {rss[config]:.0f} | "
                    f"{cos.mean():.4f} / {cos.min():.4f} |")
    lines = [f"command: `{shlex.join(['python', 'benchmarks/encoder_speed.py', *sys.argv[1:]])}`",
             f"machine: {machine()}; load average {min(load):.1f}-{max(load):.1f} during the run",
             f"data: {len(texts):,} papers of the 75k sample (title + abstract, cut at 256 "
             f"tokens), in {args.rounds} interleaved rounds; {time.strftime('%Y-%m-%d %H:%M')}",
             "", *rows]
    publish("\n".join(lines), args.out)


if __name__ == "__main__":
    main()
