"""One OAI-PMH 2.0 ``ListRecords`` page: its records, deletions, resumption token and errors.

The protocol (openarchives.org/OAI/openarchivesprotocol.html): a list is asked for with
``verb=ListRecords&metadataPrefix=...`` and optional ``set``, ``from``, ``until`` (inclusive
datestamps); a long list comes in pages, each but the last ending in a
``<resumptionToken cursor="..." completeListSize="...">`` whose text asks for the next page
(``verb=ListRecords&resumptionToken=...``, nothing else). The last page has an empty token.
Errors come as ``<error code="...">`` in a 200 response: ``noRecordsMatch`` is an empty
list, ``badResumptionToken`` an expired or unknown token; the rest are mistakes in the
request, or a server that is not what it seems.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import date

from papersift.papers import Paper, Rejected, normalize_id, normalize_text
from papersift.sources.fields import BadRecord, FieldMap, to_paper
from papersift.sources.oai_pmh import OAI_NS, header, record_fields
from papersift.sources.xmlstream import iter_records

from .fetcher import HarvestError
from .pages import as_input, expect_root

__all__ = ["RECOVERABLE", "OaiPage", "list_params", "parse_page", "resume_params"]

_O = "{" + OAI_NS + "}"
_TAGS = frozenset({_O + "record", _O + "error", _O + "resumptionToken"})
_FIELDS = FieldMap.build()
#: Error codes a harvester acts on; every other code stops the harvest.
RECOVERABLE = frozenset({"noRecordsMatch", "badResumptionToken"})
_HINTS = {
    "badArgument": "check --set, --from and --until (dates as YYYY-MM-DD)",
    "cannotDisseminateFormat": "the server does not offer arXivRaw records",
    "noSetHierarchy": "the server has no sets: harvest without --set",
    "badVerb": "the URL may not be an OAI-PMH endpoint",
}


@dataclass
class OaiPage:
    """What one response held, in document order."""

    papers: list[Paper] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    datestamps: list[str] = field(default_factory=list)
    token: str | None = None
    cursor: int | None = None
    size: int | None = None
    error: str | None = None

    @property
    def count(self) -> int:
        return len(self.papers) + len(self.deleted) + len(self.rejected)


def list_params(prefix: str, set_spec: str | None, since: date | None,
                until: date | None) -> dict[str, str]:
    """The arguments that start a list."""
    params = {"verb": "ListRecords", "metadataPrefix": prefix}
    if set_spec:
        params["set"] = set_spec
    if since:
        params["from"] = since.isoformat()
    if until:
        params["until"] = until.isoformat()
    return params


def resume_params(token: str) -> dict[str, str]:
    """The arguments that ask for the page after the one that gave ``token``."""
    return {"verb": "ListRecords", "resumptionToken": token}


def _int(text: str | None) -> int | None:
    return int(text) if text and text.strip().isdigit() else None


def _error(page: OaiPage, element_code: str, message: str, name: str) -> None:
    if element_code in RECOVERABLE:
        page.error = element_code
        return
    hint = _HINTS.get(element_code, "see the OAI-PMH specification's error codes")
    raise HarvestError(f"{name}: the OAI-PMH server answered {element_code or 'an error'}: "
                       f"{message or 'no message'} ({hint})")


def _record(page: OaiPage, line: int, element: ET.Element, name: str) -> None:
    head = header(element)
    page.datestamps.append(head.datestamp)
    if head.deleted:
        page.deleted.append(normalize_id(head.identifier)[0])
        return
    try:
        fields = record_fields(element)
        if fields is not None:
            page.papers.append(to_paper(fields, _FIELDS))
    except BadRecord as err:
        page.rejected.append(Rejected(name, line, f"{head.identifier}: {err}"))


def parse_page(body: bytes, name: str = "OAI-PMH response") -> OaiPage:
    """Read one response; raises :class:`HarvestError` for errors other than
    :data:`RECOVERABLE` and :class:`~papersift.sources.SourceError` for malformed XML."""
    expect_root(body, "OAI-PMH", name, "an OAI-PMH response")
    page = OaiPage()
    for line, element, problem in iter_records(as_input(body, name), _O + "OAI-PMH", _TAGS):
        if problem is not None:  # a record over the readers' limits: rejected alone
            page.rejected.append(Rejected(name, line, problem))
        elif element.tag == _O + "record":
            _record(page, line, element, name)
        elif element.tag == _O + "error":
            _error(page, element.get("code", ""), normalize_text("".join(element.itertext())),
                   name)
        else:
            page.token = (element.text or "").strip() or None
            page.cursor = _int(element.get("cursor"))
            page.size = _int(element.get("completeListSize"))
    return page
