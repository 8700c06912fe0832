"""One-off export of a BERT-style sentence-transformers model to ONNX, optionally int8.

This is the only encoder module that needs torch, and it runs once per cache: the result is
stored by :mod:`papersift.encoders.model_cache` and later loads use onnxruntime alone.

The exported graph takes ``input_ids`` and ``attention_mask`` (int64, ``batch x tokens``) and
returns ``sentence_embedding`` (float32, ``batch x dim``): the transformer, masked mean pooling
and L2 normalisation, the same three modules sentence-transformers runs for all-MiniLM-L6-v2.
Token type ids are all zero for single-segment input, so they are made inside the graph.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import tempfile
import warnings
from collections.abc import Iterator
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


def _pooled_model(torch: Any, transformers: Any, source: Path, *, eager: bool = False) -> Any:
    """The transformer wrapped with mean pooling and normalisation, in eval mode.

    ``eager`` exports attention as plain matrix products and a softmax, the pattern
    onnxruntime's BERT fusion recognises (the default, scaled-dot-product attention, is
    exported in a form it leaves unfused)."""
    options = {"attn_implementation": "eager"} if eager else {}
    backbone = transformers.AutoModel.from_pretrained(str(source), **options)

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
    model = _pooled_model(torch, transformers, source, eager=settings.fuse)
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


def _fuse(source: Path, target: Path, model_folder: Path) -> None:
    """Rewrite the BERT graph with onnxruntime's fused operators (Attention,
    SkipLayerNormalization, BiasGelu, EmbedLayerNormalization)."""
    from onnxruntime.transformers import optimizer

    config = json.loads((model_folder / "config.json").read_text(encoding="utf-8"))
    fused = optimizer.optimize_model(
        str(source), model_type="bert", num_heads=int(config["num_attention_heads"]),
        hidden_size=int(config["hidden_size"]), opt_level=0, use_gpu=False,
    )
    fused.save_model_to_file(str(target))


def _quantize(source: Path, target: Path, settings: ExportSettings) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # a fused graph's contrib operators have no type inference: say their outputs are float
    extra = {"DefaultTensorType": onnx.TensorProto.FLOAT} if settings.fuse else {}
    quantize_dynamic(
        str(source),
        str(target),
        op_types_to_quantize=list(settings.quantize_ops),
        per_channel=settings.per_channel,
        weight_type=QuantType.QInt8,
        extra_options=extra,
    )


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence the optimizer's and quantizer's generic advice (logged at INFO/WARNING)."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


def export_onnx(source: Path, target: Path, settings: ExportSettings) -> None:
    """Export the model folder ``source`` to the ONNX file ``target`` as ``settings`` say.

    ``target`` is written in place; callers write to a temporary name and rename.
    """
    if not settings.quantize_ops and not settings.fuse:
        _export_fp32(source, target, settings)
        return
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".export-") as tmp, _quiet():
        graph = Path(tmp) / "fp32.onnx"
        _export_fp32(source, graph, settings)
        if settings.fuse:
            _fuse(graph, Path(tmp) / "fused.onnx", source)
            graph = Path(tmp) / "fused.onnx"
        if settings.quantize_ops:
            _quantize(graph, target, settings)
        else:
            shutil.copyfile(graph, target)
