"""One-off export of a BERT-style sentence-transformers model to ONNX, optionally int8.

This is the only encoder module that needs torch, and it runs once per cache: the result is
stored by :mod:`papersift.encoders.model_cache` and later loads use onnxruntime alone.

The exported graph takes ``input_ids`` and ``attention_mask`` (int64, ``batch x tokens``) and
returns ``sentence_embedding`` (float32, ``batch x dim``): the transformer, masked mean pooling
and L2 normalisation, the same three modules sentence-transformers runs for all-MiniLM-L6-v2.
Token type ids are all zero for single-segment input, so they are made inside the graph.
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from pathlib import Path
from typing import Any

from papersift.encoders.model_cache import ExportSettings

__all__ = ["export_onnx"]

_INSTALL_HINT = (
    "building the ONNX encoder needs torch and transformers once (later runs use the cached "
    "model): pip install torch transformers, or copy a cache made on another machine into "
    "$PAPERSIFT_CACHE"
)


def _import_torch() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(f"{exc.name} is not installed: {_INSTALL_HINT}") from exc
    return torch, transformers


def _pooled_model(torch: Any, transformers: Any, source: Path) -> Any:
    """The transformer wrapped with mean pooling and normalisation, in eval mode."""
    backbone = transformers.AutoModel.from_pretrained(str(source))

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.backbone = backbone

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.backbone(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=torch.zeros_like(input_ids),
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    return MeanPooled().eval()


def _export_fp32(source: Path, target: Path, settings: ExportSettings) -> None:
    torch, transformers = _import_torch()
    model = _pooled_model(torch, transformers, source)
    example = torch.ones((2, 16), dtype=torch.long)
    batch_and_tokens = {0: "batch", 1: "tokens"}
    with warnings.catch_warnings(), torch.no_grad():
        # The TorchScript-based exporter is deprecated in favour of dynamo, but it handles
        # this small BERT in about a second with no extra dependency (onnxscript).
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (example, example),
            str(target),
            input_names=["input_ids", "attention_mask"],
            output_names=["sentence_embedding"],
            dynamic_axes={
                "input_ids": batch_and_tokens,
                "attention_mask": batch_and_tokens,
                "sentence_embedding": {0: "batch"},
            },
            opset_version=settings.opset,
            dynamo=False,
        )


def _quantize(source: Path, target: Path, settings: ExportSettings) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_dynamic logs a generic pre-processing advice
    try:
        quantize_dynamic(
            str(source),
            str(target),
            op_types_to_quantize=list(settings.quantize_ops),
            per_channel=settings.per_channel,
            weight_type=QuantType.QInt8,
        )
    finally:
        root.setLevel(level)


def export_onnx(source: Path, target: Path, settings: ExportSettings) -> None:
    """Export the model folder ``source`` to the ONNX file ``target`` as ``settings`` say.

    ``target`` is written in place; callers write to a temporary name and rename.
    """
    if not settings.quantize_ops:
        _export_fp32(source, target, settings)
        return
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as tmp:
        fp32 = Path(tmp) / "fp32.onnx"
        _export_fp32(source, fp32, settings)
        _quantize(fp32, target, settings)
