"""Harvesting: papers brought in from arXiv (OAI-PMH, the API) and Hugging Face Daily Papers.

Each harvest is a plain function over a :class:`~papersift.library.Library`, so the CLI, a
cron job or a job runner can call it; each returns a :class:`HarvestReport` and raises
:class:`HarvestError` (one line) when a source cannot be harvested. What a source has done
so far is :func:`harvest_states`.

>>> import papersift
>>> from papersift.harvest import harvest_oai, harvest_daily_papers
>>> lib = papersift.open("papersift-data")                           # doctest: +SKIP
>>> harvest_oai(lib, set_spec="cs").summary()                        # doctest: +SKIP
>>> harvest_daily_papers(lib, days=3).summary()                      # doctest: +SKIP

Politeness (one request every 3 s per host, ``Retry-After``, capped back-off) and the
sources' URLs are :class:`HarvestSettings`. Requests are logged on ``papersift.harvest``.
"""

from __future__ import annotations

from papersift.library import Library

from . import store
from .arxiv import harvest_oai
from .arxiv_api import harvest_arxiv_api
from .daily import harvest_daily_papers
from .fetcher import HarvestError
from .settings import HarvestSettings, describe
from .state import HarvestReport, HarvestState

__all__ = [
    "HarvestError",
    "HarvestReport",
    "HarvestSettings",
    "HarvestState",
    "describe",
    "harvest_arxiv_api",
    "harvest_daily_papers",
    "harvest_oai",
    "harvest_states",
]


def harvest_states(library: Library) -> list[HarvestState]:
    """When each source last ran, what it brought, and its last error (by source name)."""
    return store.states(library)
