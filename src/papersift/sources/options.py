"""What every format reader receives besides its input."""

from __future__ import annotations

from dataclasses import dataclass, field

from .fields import FieldMap
from .limits import DEFAULT_LIMITS, Limits

__all__ = ["Options"]


@dataclass(frozen=True, slots=True)
class Options:
    """Reader settings: field names for JSON/CSV records, the year of a Daily Papers page,
    and the per-record resource limits."""

    fields: FieldMap = field(default_factory=FieldMap.build)
    page_year: int | None = None
    limits: Limits = DEFAULT_LIMITS
