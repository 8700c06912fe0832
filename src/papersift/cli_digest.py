"""``papersift digest``: send the e-mail digests that are due (a thin face over
:meth:`papersift.library.Library.send_digests`), or show what would go.

Run it from cron; each run sends what is due and whatever an interrupted run left recorded,
and never sends one digest twice::

    */15 * * * *  PAPERSIFT_BASE_URL=https://papers.example.org PAPERSIFT_SMTP_HOST=... \\
                  papersift -L /srv/papersift digest send
"""

from __future__ import annotations

import click

__all__ = ["digest"]

BASE_URL_ENV = "PAPERSIFT_BASE_URL"


@click.group()
def digest() -> None:
    """E-mail digests: send the ones due now (cron-able), see the outbox."""


@digest.command("send")
@click.option("--dry-run", is_flag=True, help="Show the digests due; record and send nothing.")
@click.option("--base-url", envvar=BASE_URL_ENV, metavar="URL",
              help=f"The site's public address, for the links in each digest "
                   f"(env {BASE_URL_ENV}).")
@click.option("--title", default="papersift", show_default=True, help="The site's name.")
@click.pass_context
def digest_send(ctx: click.Context, dry_run: bool, base_url: str | None, title: str) -> None:
    """Send every digest that is due, and any an interrupted run recorded but did not send.

    A digest is recorded (with its Message-ID) in the transaction that moves its
    subscription past the days it covers, so a crash or a rerun never sends one twice
    and never skips one (README, "Digests").

    Example: PAPERSIFT_BASE_URL=https://papers.example.org papersift digest send
    """
    from papersift import cli
    from papersift.errors import LibraryError

    if not base_url or not base_url.startswith(("http://", "https://")):
        raise cli.UserError(f"set --base-url or {BASE_URL_ENV} to the site's public address "
                            "(https://...), so the links in digests point to it")
    lib = cli._library(ctx)
    try:
        run = lib.send_digests(base_url, dry_run=dry_run, site=title)
    except (LibraryError, ValueError) as error:
        raise cli.UserError(str(error)) from None
    finally:
        lib.close()
    for found in run.planned:
        what = (f"{len(found.trending)} trending, {len(found.picks)} picks, "
                f"{sum(len(a.papers) for a in found.alerts)} from {len(found.alerts)} "
                f"saved searches")
        cli.out.print(cli._escape(f"{'would send' if dry_run else 'recorded'} "
                                  f"{found.subscription.frequency} digest to "
                                  f"{found.subscription.email} for {found.since} to "
                                  f"{found.through}: {what}"))
    if dry_run:
        cli.err.print(f"{len(run.planned)} digest(s) due; {run.waiting} recorded earlier wait "
                      "to be sent (dry run: nothing recorded or sent)")
        return
    for line in run.failed:
        cli.err.print(cli._escape(f"refused for good: {line}"))
    for line in run.retry:
        cli.err.print(cli._escape(f"refused for now (next run retries): {line}"))
    cli.err.print(f"{len(run.planned)} digest(s) due, {run.waiting} left by an earlier run; "
                  f"{run.sent} sent")
    if run.failed or run.retry:
        ctx.exit(1)


@digest.command("status")
@click.pass_context
def digest_status(ctx: click.Context) -> None:
    """How many digests the outbox holds, by state.

    Example: papersift digest status
    """
    from papersift import cli

    lib = cli._library(ctx)
    counts = lib.outbox_counts()
    lib.close()
    for state in ("pending", "handed", "sent", "failed"):
        cli.out.print(f"{state:>8}: {counts.get(state, 0)}")

