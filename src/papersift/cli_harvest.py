"""``papersift harvest``: thin faces over :mod:`papersift.harvest` (arXiv OAI-PMH, the arXiv
API, Hugging Face Daily Papers), with a request log and a progress bar.

The shared CLI helpers are imported when a command runs, not when this module loads, so
that ``papersift.cli`` can import this module at its end (as ``python -m papersift.cli``).
"""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from typing import Any

import click

__all__ = ["harvest"]


@click.group()
def harvest() -> None:
    """Bring in new papers from arXiv (OAI-PMH, the API) and Hugging Face Daily Papers.

    Each run goes on from where the last one stopped (killed or not), asks each host at
    most once every 3 s, and logs one line per request. See README, "Harvesting".

    Example: papersift harvest arxiv --set cs && papersift harvest daily-papers
    """


def _harvest_options(command: Any) -> Any:
    options = [
        click.option("--url", help="The source's URL (a mirror or a test server); default: "
                                   "the public service."),
        click.option("--min-interval", type=click.FloatRange(0), default=None,
                     help="Seconds between requests to one host (default 3, arXiv's policy)."),
        click.option("--setting", "changes", multiple=True, metavar="NAME=VALUE",
                     help="Change a harvest setting, e.g. retries=3 (README lists them)."),
        click.option("--progress/--no-progress", default=None,
                     help="Progress bar (default: on a tty)."),
        click.option("--embed/--no-embed", default=True, show_default=True,
                     help="Embed the new papers afterwards (resumable; `papersift embed`)."),
        click.option("--quiet", "-q", is_flag=True, help="No log line per request."),
    ]
    for option in reversed(options):
        command = option(command)
    return click.pass_context(command)


def _pairs(changes: tuple[str, ...], option: str = "--setting") -> dict[str, str]:
    """``NAME=VALUE`` items as a mapping (checked and converted by the library's settings)."""
    from papersift import cli

    pairs: dict[str, str] = {}
    for item in changes:
        name, sep, text = item.partition("=")
        if not sep:
            raise cli.UserError(f"{option} {item!r}: write it as NAME=VALUE, e.g. retries=3")
        pairs[name.strip()] = text.strip()
    return pairs


def _setting_pairs(changes: tuple[str, ...], **given: Any) -> dict[str, str]:
    """``--setting NAME=VALUE`` items and the named options, checked against the defaults
    (before a library is opened or made)."""
    from papersift import cli
    from papersift.harvest import HarvestError, settings_from

    pairs = {k: str(v) for k, v in given.items() if v is not None} | _pairs(changes)
    try:
        settings_from(pairs)
    except HarvestError as error:
        raise cli.UserError(f"{error}; see README, Harvesting") from None
    return pairs


def _harvest_settings(lib: Any, pairs: dict[str, str]) -> Any:
    """The library's harvest settings with a command's own on top."""
    from papersift import cli
    from papersift.harvest import HarvestError, load_settings

    try:
        return load_settings(lib, pairs)
    except HarvestError as error:
        raise cli.UserError(str(error)) from None


def _run_harvest(ctx: click.Context, url_setting: str, url: str | None,
                 min_interval: float | None, changes: tuple[str, ...], progress: bool | None,
                 embed: bool, quiet: bool, work: Any) -> None:
    """Open the library, run ``work(library, settings, progress)``, report, then embed."""
    from papersift import cli
    from papersift.harvest import HarvestError

    pairs = _setting_pairs(changes, **{url_setting: url, "min_interval": min_interval})
    show = progress if progress is not None else cli.err.is_terminal
    _request_log(quiet, show)
    lib = cli._library(ctx, create=True)
    settings = _harvest_settings(lib, pairs)
    try:
        with cli.progress_bars(show, unit="records") as bar:
            report = work(lib, settings, bar)
    except HarvestError as error:
        raise cli.UserError(f"{error} (pages harvested before this were stored)") from None
    except KeyboardInterrupt:
        cli.err.print("harvest interrupted; run it again to go on where it stopped")
        raise SystemExit(130) from None
    for rejected in report.rejected:
        cli.err.print(cli._escape(str(rejected)), markup=False)
    cli.err.print(cli._escape(report.summary()) + f" · {len(lib)} papers in {lib.path}")
    if embed and report.brought:
        cli._embed(lib, show)


def _request_log(quiet: bool, terminal: bool) -> None:
    """One line per request on stderr (beside the progress bar on a terminal)."""
    logger = logging.getLogger("papersift.harvest")
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    if not logger.handlers:
        handler = _TerminalLog() if terminal else logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"
                                               if terminal else None))
        logger.addHandler(handler)


class _TerminalLog(logging.Handler):
    """Log lines above the progress bar, one screen line each."""

    def emit(self, record: logging.LogRecord) -> None:
        from papersift import cli

        cli.err.print(self.format(record), markup=False, highlight=False, soft_wrap=False,
                      no_wrap=True, overflow="ellipsis")


@harvest.command(name="arxiv")
@click.option("--set", "set_spec", default="cs", show_default=True,
              help="arXiv OAI set: cs, math, physics:hep-th, ...; 'all' for every set.")
@click.option("--from", "since", type=click.DateTime(["%Y-%m-%d"]),
              help="Start a new list at this datestamp (default: the last one seen).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="End the list here.")
@_harvest_options
def harvest_arxiv(ctx: click.Context, set_spec: str, since: datetime | None,
                  until: datetime | None, **options: Any) -> None:
    """Harvest arXivRaw records of one set over OAI-PMH, from the last datestamp seen.

    Example: papersift harvest arxiv --set cs --from 2026-06-01
    """
    from papersift.harvest import harvest_oai

    _run_harvest(ctx, "oai_url", work=lambda lib, settings, bar: harvest_oai(
        lib, set_spec=None if set_spec == "all" else set_spec,
        since=since.date() if since else None, until=until.date() if until else None,
        settings=settings, progress=bar), **options)


@harvest.command(name="arxiv-api")
@click.option("--query", required=True, help='arXiv API search_query, e.g. "cat:cs.IR".')
@click.option("--max", "max_results", type=click.IntRange(1, 30000), default=1000,
              show_default=True, help="Most papers to bring.")
@click.option("--sort", type=click.Choice(["submitted", "updated", "relevance"]),
              default="submitted", show_default=True, help="Order of results (newest first).")
@_harvest_options
def harvest_arxiv_api(ctx: click.Context, query: str, max_results: int, sort: str,
                      **options: Any) -> None:
    """Pull the papers matching a query from the arXiv API (one-off, paged, polite).

    Example: papersift harvest arxiv-api --query "cat:cs.IR AND ti:retrieval" --max 200
    """
    from papersift.harvest import harvest_arxiv_api as pull

    _run_harvest(ctx, "arxiv_api_url", work=lambda lib, settings, bar: pull(
        lib, query, max_results=max_results, sort=sort, settings=settings, progress=bar),
        **options)


@harvest.command(name="daily-papers")
@click.option("--date", "day", type=click.DateTime(["%Y-%m-%d"]), help="Only this day.")
@click.option("--days", type=click.IntRange(1, 366),
              help="The last N days (default: 3, and any days missed since the last run).")
@_harvest_options
def harvest_daily(ctx: click.Context, day: datetime | None, days: int | None,
                  **options: Any) -> None:
    """Fetch Hugging Face Daily Papers: new entries, and fresh upvotes, organizations,
    submitters and code links for recent days.

    Example: papersift harvest daily-papers --days 7
    """
    from papersift import cli
    from papersift.harvest import harvest_daily_papers

    if day and days:
        raise cli.UserError("give --date or --days, not both")
    _run_harvest(ctx, "daily_papers_url", work=lambda lib, settings, bar: harvest_daily_papers(
        lib, day=day.date() if day else None, days=days, settings=settings, progress=bar),
        **options)


@harvest.command(name="config")
@click.option("--setting", "changes", multiple=True, metavar="NAME=VALUE",
              help="Keep a setting in this library (checked first), e.g. "
                   'schedule="arxiv:cs@6h, daily-papers@1h" or oai_url=http://mirror/oai.')
@click.option("--reset", multiple=True, metavar="NAME", help="Forget a kept setting "
              "(back to its default).")
@click.pass_context
def harvest_config(ctx: click.Context, changes: tuple[str, ...], reset: tuple[str, ...]) -> None:
    """Show or change the harvest settings this library keeps: the sources' URLs, the
    politeness, and the schedule that `serve --harvest` and `harvest run` follow.

    Every process harvesting this library (each web worker, cron, these commands) uses
    them; a command's own --setting goes on top for that run.

    Example: papersift harvest config --setting schedule="arxiv:cs@6h, daily-papers@1h"
    """
    from papersift import cli
    from papersift.harvest import HarvestError, describe, kept_settings, save_settings

    pairs = _setting_pairs(changes)
    lib = cli._library(ctx, create=bool(pairs))
    try:
        settings = save_settings(lib, pairs, reset) if pairs or reset else None
    except HarvestError as error:
        raise cli.UserError(str(error)) from None
    settings = settings or _harvest_settings(lib, {})
    kept = kept_settings(lib)
    for name, _default, _help in describe():
        mark = "  (kept in this library)" if name in kept else ""
        cli.out.print(cli._escape(f"{name} = {getattr(settings, name)!r}{mark}"))


@harvest.command(name="run")
@click.option("--every", metavar="DURATION",
              help="Harvest again every DURATION (e.g. 6h) until Ctrl-C, embedding what "
                   "arrives; without it, harvest once and stop (for cron).")
@click.option("--setting", "changes", multiple=True, metavar="NAME=VALUE",
              help="Change a harvest setting for this run, e.g. min_interval=5.")
@click.option("--embed/--no-embed", default=True, show_default=True,
              help="Embed the new papers afterwards (resumable; `papersift embed`).")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a tty).")
@click.option("--quiet", "-q", is_flag=True, help="No log line per request.")
@click.pass_context
def harvest_run(ctx: click.Context, every: str | None, changes: tuple[str, ...], embed: bool,
                progress: bool | None, quiet: bool) -> None:
    """Harvest every source of the schedule (`papersift harvest config`), each from where
    it stopped, as the job `serve --harvest` runs; a failing source does not stop the
    others (exit status 1 at the end).

    Example: papersift harvest run --every 6h
    """
    from papersift import cli
    from papersift.harvest import Scheduler, parse_duration

    try:
        seconds = parse_duration(every) if every is not None else None
    except ValueError as error:
        raise cli.UserError(f"--every: {error}") from None
    pairs = _setting_pairs(changes)
    show = progress if progress is not None else cli.err.is_terminal and seconds is None
    _request_log(quiet, show)
    lib = cli._library(ctx, create=True)
    scheduler = Scheduler(lib, settings=_harvest_settings(lib, pairs), every=seconds)
    if seconds is None:
        _harvest_once(lib, scheduler, show, embed)
    else:
        _harvest_every(lib, scheduler, embed)


def _harvest_once(lib: Any, scheduler: Any, show: bool, embed: bool) -> None:
    from papersift import cli
    from papersift.errors import LockBusy
    from papersift.harvest import HarvestError

    before, failed = len(lib), None
    # the runner would log a failure too: here it is said once, below
    logging.getLogger("papersift.jobs").setLevel(logging.CRITICAL)
    try:
        with cli.progress_bars(show, unit="records") as bar:
            try:
                scheduler.run_now(wait=False, progress=bar)
            except LockBusy as busy:
                cli.err.print(f"another process is harvesting ({cli._escape(busy.holder or '')})"
                              "; waiting for it, then harvesting")
                scheduler.run_now(wait=True, progress=bar)
    except HarvestError as error:
        failed = str(error)
    except KeyboardInterrupt:
        cli.err.print("harvest interrupted; run it again to go on where it stopped")
        raise SystemExit(130) from None
    _show_sources(lib)
    cli.err.print(f"{len(lib):,} papers in {cli._escape(str(lib.path))} "
                  f"({len(lib) - before:+,})")
    if embed and lib.embedding_pending():
        cli._embed(lib, show)
    if failed:
        raise cli.UserError(f"{failed} (pages harvested before this were stored)")


def _harvest_every(lib: Any, scheduler: Any, embed: bool) -> None:
    """Keep the harvest (and embedding) jobs here until Ctrl-C; a line per finished run.

    Ctrl-C sets a flag (a signal handler) rather than raising where the main thread
    happens to be: a KeyboardInterrupt raised inside a finalizer is printed and dropped by
    Python, which can leave this loop running; and the handler is in place before the jobs
    start, so no Ctrl-C falls between the two. The handler takes no lock: one that set a
    `threading.Event` could wait forever on the event's lock when the signal came while
    this thread held it. A second Ctrl-C while the jobs stop raises as usual and exits at
    once (130)."""
    import signal
    import time

    from papersift import cli
    from papersift.harvest import JOB, HarvestError, format_duration

    stop_asked = False

    def ask_stop(*_: object) -> None:
        nonlocal stop_asked
        stop_asked = True

    previous = signal.getsignal(signal.SIGINT)
    handled = previous is not signal.SIG_IGN  # started with it ignored (`cmd &`): it stays so
    if handled:
        signal.signal(signal.SIGINT, ask_stop)
    try:
        try:
            entries = scheduler.start()
        except HarvestError as error:
            raise cli.UserError(str(error)) from None
        if embed:
            lib.start_jobs(embed=True)
        names = ", ".join(e.source for e in entries)
        cli.err.print(f"harvesting {cli._escape(names)} every "
                      f"{format_duration(entries[0].every)}; Ctrl-C stops (what was harvested "
                      "is kept)")
        seen, next_look = None, 0.0
        while not stop_asked:
            if time.monotonic() >= next_look:  # a line per finished run, looked for each second
                next_look = time.monotonic() + 1
                job = next((j for j in lib.status().jobs if j.name == JOB), None)
                if job is not None and job.finished_at is not None and job.finished_at != seen:
                    seen = job.finished_at
                    cli.err.print(cli._escape(job.describe()))
            time.sleep(0.1)
    finally:
        if handled:
            signal.signal(signal.SIGINT, previous)
    cli.err.print("stopping: the harvest ends after the page in hand")
    try:
        lib.close()
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    cli.err.print("stopped; the next run goes on where this one stopped")


def _show_sources(lib: Any) -> None:
    from papersift import cli
    from papersift.harvest import source_statuses

    for status in source_statuses(lib):
        cli.err.print(cli._escape(status.describe()))
