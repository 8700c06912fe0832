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
sources' URLs are :class:`HarvestSettings`, which a library keeps (:func:`load_settings`,
:func:`save_settings`). Requests are logged on ``papersift.harvest``.

The ``schedule`` setting (``arxiv:cs@6h, daily-papers@1h``) is run by :class:`Scheduler`
as the job runner's ``harvest`` job (``papersift serve --harvest``, ``harvest run``);
:func:`source_statuses` is what pages and ``stats`` show of each source.
"""

from __future__ import annotations

from papersift.library import Library

from . import store
from .arxiv import harvest_oai
from .arxiv_api import harvest_arxiv_api
from .config import SettingError, load_settings, save_settings, settings_from
from .config import stored as kept_settings
from .daily import harvest_daily_papers
from .fetcher import HarvestError
from .schedule import ScheduleError, format_duration, parse_duration, parse_schedule
from .scheduler import JOB, Scheduler, SourceStatus, how_long, source_statuses
from .settings import HarvestSettings, describe
from .state import HarvestReport, HarvestState

__all__ = [
    "JOB",
    "HarvestError",
    "HarvestReport",
    "HarvestSettings",
    "HarvestState",
    "ScheduleError",
    "Scheduler",
    "SettingError",
    "SourceStatus",
    "describe",
    "format_duration",
    "harvest_arxiv_api",
    "harvest_daily_papers",
    "harvest_oai",
    "harvest_states",
    "how_long",
    "kept_settings",
    "load_settings",
    "parse_duration",
    "parse_schedule",
    "save_settings",
    "settings_from",
    "source_statuses",
]


def harvest_states(library: Library) -> list[HarvestState]:
    """When each source last ran, what it brought, and its last error (by source name)."""
    return store.states(library)
