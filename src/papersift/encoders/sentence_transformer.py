"""Encoders run by sentence-transformers on torch: the reference, and any other local model.

Nothing is downloaded: the Hugging Face hub is put in offline mode and models load only from
a local folder or from models already in the local Hugging Face cache.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from papersift.encoders import EncoderError, spec_slug

__all__ = ["SentenceTransformerEncoder", "load_minilm_torch", "load_sentence_transformer"]

_INSTALL_HINT = (
    "pip install sentence-transformers (it brings torch), or use the default encoder "
    "(--encoder minilm), which needs neither"
)


def _sentence_transformer_class() -> Any:
    # huggingface_hub reads HF_HUB_OFFLINE when first imported; set it before that happens.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise ImportError(
            f"this encoder runs on sentence-transformers and torch, but {exc.name} is not "
            f"installed: {_INSTALL_HINT}"
        ) from exc
    return SentenceTransformer


class SentenceTransformerEncoder:
    """An :class:`~papersift.encoders.Encoder` over a loaded ``SentenceTransformer`` (CPU)."""

    def __init__(self, model: Any, *, name: str) -> None:
        self.name = name
        self.model = model
        # sentence-transformers 5.x renamed the method; keep older releases working.
        dimension = getattr(model, "get_embedding_dimension", None)
        dimension = dimension or model.get_sentence_embedding_dimension
        self.dim = int(dimension())
        self.max_tokens = int(model.max_seq_length)

    def __repr__(self) -> str:
        return f"SentenceTransformerEncoder(name={self.name!r})"

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        """Embed ``texts``: float32 ``(len(texts), dim)``, unit rows, in input order."""
        if isinstance(texts, str):
            raise TypeError("encode() takes a sequence of texts, not one string: wrap it in [ ]")
        if not len(texts):
            return np.empty((0, self.dim), dtype=np.float32)
        vectors = self.model.encode(
            list(texts),
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def _load(source: str, name: str) -> SentenceTransformerEncoder:
    cls = _sentence_transformer_class()
    try:
        model = cls(source, device="cpu", local_files_only=True)
    except (OSError, ValueError) as exc:
        raise EncoderError(
            f"encoder model {source!r} is not in the local Hugging Face cache and papersift "
            "does not download models: pass a local model folder instead "
            "(--encoder /path/to/model), or use the bundled default (--encoder minilm)"
        ) from exc
    return SentenceTransformerEncoder(model, name=name)


def load_minilm_torch() -> SentenceTransformerEncoder:
    """The reference: bundled all-MiniLM-L6-v2 through sentence-transformers on torch."""
    from papersift.encoders.onnx_runtime import minilm_folder

    return _load(str(minilm_folder()), "minilm-l6-torch")


def _folder_name(folder: Path) -> str:
    """A stable name for a local model: its folder name plus a short hash of the full path."""
    digest = hashlib.sha256(str(folder).encode()).hexdigest()[:8]
    return f"{spec_slug(folder.name)}-{digest}"


def load_sentence_transformer(spec: str) -> SentenceTransformerEncoder:
    """A sentence-transformers model by hub name (already cached) or local folder."""
    path = Path(spec).expanduser()
    if path.is_dir():
        folder = path.resolve()
        return _load(str(folder), _folder_name(folder))
    if path.is_absolute() or spec.startswith((".", "~")):
        raise EncoderError(f"encoder folder {spec!r} does not exist: give a model folder's path")
    return _load(spec, spec_slug(spec))
