"""Loopback servers that speak the protocols papersift harvests, with faults on demand.

Written from the published descriptions, not from papersift's code:

- OAI-PMH 2.0 (openarchives.org/OAI/openarchivesprotocol.html): the six verbs, the error
  codes, selective harvesting by set and inclusive ``from``/``until`` datestamps, exclusive
  ``resumptionToken`` arguments, tokens with ``cursor`` and ``completeListSize``, an empty
  token on the last page, deleted records kept (``deletedRecord=persistent``); records in
  arXiv's ``arXivRaw`` format (every version with its date).
- The arXiv API (info.arxiv.org/help/api/user-manual.html): ``/api/query`` with
  ``search_query`` (``ti: au: abs: co: cat: all:`` joined by ``AND``/``OR``/``ANDNOT``),
  ``id_list``, ``start``, ``max_results``, ``sortBy``, ``sortOrder``; an Atom feed with
  ``opensearch:totalResults/startIndex/itemsPerPage``; errors as a feed whose one entry has
  an ``.../api/errors#...`` id, with HTTP 400.
- The Hugging Face Daily Papers API: ``/api/daily_papers?date=YYYY-MM-DD&limit=&p=``, a JSON
  list of items holding ``paper`` beside ``title``, ``publishedAt``, ``numComments``,
  ``submittedBy`` and ``organization``.

Faults, switched per request (the next ones, or by request number): ``503`` (with
``Retry-After``), ``malformed`` (a page cut and closed with bad markup, served whole),
``cut`` (the connection closed half way through the body), ``reset`` (closed before any
answer) and ``expire`` (every resumption token issued so far stops working). Every request
is logged with its arrival time, so tests can measure the gaps between requests.
"""

from __future__ import annotations

from .arxiv_api import ArxivApi
from .daily_papers import DailyItem, DailyPapersApi, daily_items
from .loopback import FAULTS, Answer, Logged, LoopbackServer
from .oai import OaiRepository
from .records import Record, records_from_jsonl, set_of

__all__ = [
    "FAULTS",
    "Answer",
    "ArxivApi",
    "DailyItem",
    "DailyPapersApi",
    "Logged",
    "LoopbackServer",
    "OaiRepository",
    "Record",
    "daily_items",
    "records_from_jsonl",
    "set_of",
]
