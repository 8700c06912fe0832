"""Settings are data with help text, passed in (never read at import time)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["Settings", "describe"]


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Settings:
    """Tunable behaviour of a library. ``describe()`` lists every setting with its help."""

    ingest_batch: int = _setting(
        2000, "Papers written to the catalog per transaction during ingest."
    )
    embed_batch: int = _setting(
        64, "Papers per encoder call while embedding; one stored segment per 16 batches."
    )
    fusion: str = _setting(
        "zscore",
        "Hybrid fusion: 'zscore' (both rankers score the union of their top lists; scores "
        "standardised and added) or 'rrf' (reciprocal rank fusion).",
    )
    rrf_k: int = _setting(
        60, "Reciprocal rank fusion constant k: larger flattens the rank discount."
    )
    fusion_depth: int = _setting(
        100, "How many results each ranker contributes to hybrid fusion."
    )
    exact_below: int = _setting(
        20_000, "Libraries with fewer vectors use exact search; larger ones the adaptive index."
    )
    recall_target: float = _setting(
        0.95, "Recall@10 against exact search that the adaptive index is tuned to reach."
    )
    snippet_chars: int = _setting(
        300, "Characters of abstract shown in result listings."
    )

    def replace(self, **changes: Any) -> Settings:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        unknown = set(changes) - set(values)
        if unknown:
            raise ValueError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        values.update(changes)
        return Settings(**values)


def describe() -> list[tuple[str, Any, str]]:
    """Every setting as ``(name, default, help)``."""
    return [(f.name, f.default, f.metadata.get("help", "")) for f in fields(Settings)]
