"""BEIR corpus files (``corpus.jsonl``: ``_id``, ``title``, ``text``, ``metadata``).

The default field names already cover BEIR (``_id`` is an id, ``text`` an abstract); what
differs is that ids are kept exactly as given, since relevance judgments (qrels) refer to
them. Titles may be empty.
"""

from __future__ import annotations

from collections.abc import Iterator

from papersift.papers import Paper, Rejected

from .fields import to_paper
from .files import Input
from .jsonl import read_records
from .options import Options

__all__ = ["read"]


def read(inp: Input, options: Options) -> Iterator[Paper | Rejected]:
    """Papers from a BEIR corpus, ids untouched."""
    fields, limits = options.fields, options.limits
    return read_records(
        inp, options, lambda record: to_paper(record, fields, normalize_ids=False, limits=limits)
    )
