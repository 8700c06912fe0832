"""Settings are data with help text, passed in (never read at import time)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["Settings", "describe", "describe_settings", "replace_settings", "setting"]


def setting(default: Any, help: str) -> Any:
    """A dataclass field carrying its help text (listed by :func:`describe_settings`)."""
    return field(default=default, metadata={"help": help})


def replace_settings(obj: Any, kind: str = "", **changes: Any) -> Any:
    """A copy of a settings dataclass with some settings changed; unknown names refused."""
    unknown = set(changes) - {f.name for f in fields(obj)}
    if unknown:
        raise ValueError(f"unknown {kind}setting(s): {', '.join(sorted(unknown))}")
    return dataclasses.replace(obj, **changes)


def describe_settings(cls: type) -> list[tuple[str, Any, str]]:
    """Every field of a settings dataclass as ``(name, default, help)``."""
    return [(f.name, f.default, f.metadata.get("help", "")) for f in fields(cls)]


@dataclass(frozen=True)
class Settings:
    """Tunable behaviour of a library. ``describe()`` lists every setting with its help."""

    ingest_batch: int = setting(
        500, "Papers written to the catalog per transaction during ingest (each holds the "
        "write lock briefly, so votes and other writers get their turn)."
    )
    embed_batch: int = setting(
        64, "Papers per encoder call while embedding; one stored segment per 16 batches."
    )
    fusion: str = setting(
        "zscore",
        "Hybrid fusion: 'zscore' (both rankers score the union of their top lists; scores "
        "standardised and added) or 'rrf' (reciprocal rank fusion).",
    )
    rrf_k: int = setting(
        60, "Reciprocal rank fusion constant k: larger flattens the rank discount."
    )
    fusion_depth: int = setting(
        100, "How many results each ranker contributes to hybrid fusion."
    )
    exact_below: int = setting(
        20_000, "Libraries with fewer vectors use exact search; larger ones the adaptive index."
    )
    recall_target: float = setting(
        0.95, "Recall@10 against exact search that the adaptive index is tuned to reach."
    )
    sign_in_minutes: float = setting(
        15.0, "Minutes a mailed sign-in link works (once) before it expires."
    )
    session_days: float = setting(
        30.0, "Days a sign-in lasts on one browser (signing out everywhere ends them all)."
    )
    feed_days: int = setting(
        7, "Listing days the personal feed covers when no day or range is asked for."
    )
    feed_background: int = setting(
        20_000, "Library papers sampled as the personal feed model's negatives (their "
        "vectors summarised once per process)."
    )

    def replace(self, **changes: Any) -> Settings:
        """A copy with some settings changed; unknown names are refused."""
        return replace_settings(self, **changes)


def describe() -> list[tuple[str, Any, str]]:
    """Every library setting as ``(name, default, help)``."""
    return describe_settings(Settings)
