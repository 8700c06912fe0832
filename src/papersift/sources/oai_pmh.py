"""OAI-PMH ``ListRecords`` responses from arXiv (``https://oaipmh.arxiv.org/oai``).

Two metadata formats are read:

- ``arXiv`` (``http://arxiv.org/OAI/arXiv/``): ``id``, ``created``, ``updated``,
  ``authors/author/{keyname, forenames, suffix}``, ``title``, ``categories``, ``comments``,
  ``doi``, ``abstract``. Published is ``created`` (the first version's date).
- ``arXivRaw`` (``http://arxiv.org/OAI/arXivRaw/``): ``id``, ``submitter``,
  ``version[@version]/date``, ``title``, ``authors`` (one string), ``categories``,
  ``abstract``. Published is the first version's date; version is the latest one.

Deleted records (``<header status="deleted">``) are skipped. An OAI-PMH ``<error>`` other
than ``noRecordsMatch`` is a :class:`SourceError`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from papersift.papers import Paper, Rejected, normalize_text

from .fields import BadRecord, EmptyRecord, to_paper
from .files import Input, SourceError
from .options import Options
from .xmlstream import child_text, iter_records, local

__all__ = ["ARXIV_NS", "ARXIV_RAW_NS", "OAI_NS", "Header", "header", "read", "record_fields"]

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
ARXIV_NS = "http://arxiv.org/OAI/arXiv/"
ARXIV_RAW_NS = "http://arxiv.org/OAI/arXivRaw/"
_O = "{" + OAI_NS + "}"
_X = "{" + ARXIV_NS + "}"
_R = "{" + ARXIV_RAW_NS + "}"


def _arxiv(meta: ET.Element) -> dict[str, Any]:
    authors = []
    for author in meta.iterfind(f"{_X}authors/{_X}author"):
        parts = (child_text(author, _X + t) for t in ("forenames", "keyname", "suffix"))
        authors.append(" ".join(normalize_text(p) for p in parts if p))
    return {
        "id": child_text(meta, _X + "id"),
        "title": child_text(meta, _X + "title"),
        "abstract": child_text(meta, _X + "abstract"),
        "authors": authors,
        "published": child_text(meta, _X + "created"),
        "categories": child_text(meta, _X + "categories"),
        "comment": child_text(meta, _X + "comments"),
    }


def _arxiv_raw(meta: ET.Element) -> dict[str, Any]:
    versions = [
        (v.get("version", ""), child_text(v, _R + "date")) for v in meta.iter(_R + "version")
    ]
    labels = (label.lstrip("v") for label, _ in versions)
    numbers = [int(label) for label in labels if _VERSION_RE.fullmatch(label)]
    return {
        "id": child_text(meta, _R + "id"),
        "title": child_text(meta, _R + "title"),
        "abstract": child_text(meta, _R + "abstract"),
        "authors": child_text(meta, _R + "authors"),
        "published": versions[0][1] if versions else None,
        "version": max(numbers) if numbers else None,
        "categories": child_text(meta, _R + "categories"),
        "comment": child_text(meta, _R + "comments"),
    }


_VERSION_RE = re.compile(r"[0-9]{1,9}")
_FORMATS = {_X + "arXiv": _arxiv, _R + "arXivRaw": _arxiv_raw}


@dataclass(frozen=True, slots=True)
class Header:
    """A record's OAI-PMH header: its identifier, datestamp, and whether it was deleted."""

    identifier: str
    datestamp: str
    deleted: bool


def header(record: ET.Element) -> Header:
    """The header of a ``<record>`` (empty strings where the server left a part out)."""
    found = record.find(_O + "header")
    if found is None:
        return Header("", "", False)
    return Header(
        identifier=(child_text(found, _O + "identifier") or "").strip(),
        datestamp=(child_text(found, _O + "datestamp") or "").strip(),
        deleted=found.get("status") == "deleted",
    )


def record_fields(record: ET.Element) -> dict[str, Any] | None:
    """The fields of one record; ``None`` for a deleted one."""
    if header(record).deleted:
        return None
    metadata = record.find(_O + "metadata")
    meta = metadata[0] if metadata is not None and len(metadata) else None
    if meta is None:
        raise BadRecord("record has no <metadata>; ask for metadataPrefix=arXiv or arXivRaw")
    convert = _FORMATS.get(meta.tag)
    if convert is None:
        raise BadRecord(
            f"metadata format <{local(meta.tag)}> is not supported; "
            "harvest with metadataPrefix=arXiv or arXivRaw"
        )
    return convert(meta)


def read(inp: Input, options: Options) -> Iterator[Paper | Rejected]:
    """One paper per (not deleted) ``<record>``."""
    tags = frozenset({_O + "record", _O + "error"})
    for line, element, problem in iter_records(inp, _O + "OAI-PMH", tags, options.limits):
        if problem is not None:
            yield Rejected(inp.name, line, problem)
            continue
        if element.tag == _O + "error":
            code = element.get("code", "")
            if code == "noRecordsMatch":
                continue
            message = normalize_text("".join(element.itertext()))
            raise SourceError(f"{inp.name}: the OAI-PMH server answered {code}: {message}")
        try:
            fields = record_fields(element)
            if fields is not None:
                yield to_paper(fields, options.fields, limits=options.limits)
        except BadRecord as err:
            yield Rejected(inp.name, line, str(err), empty=isinstance(err, EmptyRecord))
