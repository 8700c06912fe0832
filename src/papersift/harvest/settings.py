"""Where each source lives and how politely papersift asks it: data with help text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from papersift.settings import describe_settings, replace_settings, setting

__all__ = ["HarvestSettings", "describe"]


@dataclass(frozen=True)
class HarvestSettings:
    """Sources and politeness of harvesting. ``describe()`` lists every setting with help."""

    oai_url: str = setting(
        "https://oaipmh.arxiv.org/oai",
        "Base URL of arXiv's OAI-PMH 2.0 interface (a mirror or a test server may stand in).",
    )
    arxiv_api_url: str = setting(
        "https://export.arxiv.org/api/query",
        "URL of the arXiv API's query interface (Atom with opensearch paging).",
    )
    daily_papers_url: str = setting(
        "https://huggingface.co/api/daily_papers",
        "URL of the Hugging Face Daily Papers JSON API.",
    )
    min_interval: float = setting(
        3.0,
        "Seconds between two requests to one host, counted from the start of the first and "
        "from the end of its answer (arXiv asks for 3); kept across runs of one library.",
    )
    timeout: float = setting(
        60.0, "Seconds a request may take to connect, or wait between two reads, before it fails."
    )
    retries: int = setting(
        6,
        "Tries after the first before a harvest gives up on a request (connection errors, "
        "5xx, 429, cut or malformed responses).",
    )
    backoff: float = setting(
        2.0, "Seconds of the first back-off; it doubles per try, with up to half as jitter."
    )
    backoff_cap: float = setting(120.0, "Longest back-off between two tries, in seconds.")
    max_retry_after: float = setting(
        900.0,
        "Longest Retry-After a harvest waits for; a server asking for more stops the run "
        "with a clear error (the next run resumes).",
    )
    user_agent: str = setting(
        "papersift/0.1 (+https://github.com/papersift/papersift)",
        "User-Agent sent with every request, so a source can see who is asking.",
    )
    oai_first_days: int = setting(
        7,
        "Days back the first harvest of an OAI-PMH set starts when no --from is given "
        "(0: the whole set, which for cs is hundreds of thousands of records).",
    )
    api_page_size: int = setting(
        100, "Results per request to the arXiv API (it allows up to 2,000)."
    )
    daily_refresh_days: int = setting(
        3,
        "Days of Daily Papers fetched again on each run, so upvotes, organizations, "
        "submitters and code links stay fresh.",
    )
    daily_catch_up_days: int = setting(
        30,
        "Longest gap a Daily Papers harvest fills after missed runs (days back from today).",
    )
    daily_page_size: int = setting(100, "Items per request to the Daily Papers API (at most 100).")
    schedule: str = setting(
        "arxiv:cs@6h, daily-papers@1h",
        "What `serve --harvest` and `harvest run` harvest, and how often: comma-separated "
        "SOURCE@EVERY, SOURCE being arxiv:SET (an OAI set: cs, math, physics:hep-th; "
        "arxiv alone for every set) or daily-papers, EVERY a duration (90s, 30m, 6h, 1d).",
    )
    retry_failed: float = setting(
        300.0,
        "Seconds before a scheduled source whose run failed is tried again; doubled after "
        "each failure in a row, never beyond the source's own interval.",
    )
    schedule_check: float = setting(
        30.0, "Seconds between a scheduler's checks for sources that are due."
    )

    def replace(self, **changes: Any) -> HarvestSettings:
        """A copy with some settings changed; unknown names are refused."""
        return replace_settings(self, "harvest ", **changes)


def describe() -> list[tuple[str, Any, str]]:
    """Every harvest setting as ``(name, default, help)``."""
    return describe_settings(HarvestSettings)
