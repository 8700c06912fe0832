"""``papersift votes``: the vote ledger's audit and the withdrawal of stuffed votes, a thin
face over :class:`papersift.vote_ledger.VoteLedger` (a part of the library).

The shared CLI helpers are imported when the command runs (``papersift.cli`` imports this
module at its end).
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from papersift.vote_audit import AuditRules, Finding

__all__ = ["votes"]

_TIMES = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]


@click.command()
@click.option("--suspicious", is_flag=True,
              help="List votes that look stuffed, with the reasons.")
@click.option("--remove", is_flag=True,
              help="Withdraw the anonymous votes of --network / --voter (one transaction).")
@click.option("--network", "networks", multiple=True, metavar="TAG|PREFIX",
              help="A network: its tag as --suspicious prints it, an address or a prefix "
                   "(203.0.113.0/24). Repeatable.")
@click.option("--voter", "voters", multiple=True, metavar="ID",
              help="A voter id as --suspicious --json lists it. Repeatable.")
@click.option("--since", type=click.DateTime(formats=_TIMES), default=None,
              help="Only votes cast since then (UTC). --suspicious: default 30 days ago; "
                   "--remove: default all.")
@click.option("--window", type=click.FloatRange(min=0.1), default=None, metavar="MINUTES",
              help="The short window bursts, sprees and spikes are counted in (default 10).")
@click.option("--yes", is_flag=True, help="--remove without asking.")
@click.option("--json", "as_json", is_flag=True, help="--suspicious as JSON.")
@click.pass_context
def votes(ctx: click.Context, suspicious: bool, remove: bool, networks: tuple[str, ...],
          voters: tuple[str, ...], since: datetime | None, window: float | None, yes: bool,
          as_json: bool) -> None:
    """Audit the votes cast here, and withdraw the ones that were stuffed.

    Each anonymous vote is kept with its time and a tag of its network (a keyed digest of
    its /24 or /48; no address is stored). --suspicious lists bursts on one paper from one
    network, one network voting on many papers, papers voted far above their day's
    neighbours, and many new voter cookies from one network.

    Example: papersift votes --suspicious --since 2025-06-01, then
    papersift votes --remove --network 3f9c0a1b2c3d4e5f --since 2025-06-01T12:00
    """
    from papersift import cli

    if suspicious == remove:
        raise cli.UserError("say what to do: --suspicious (list) or --remove (withdraw)")
    when = since.replace(tzinfo=UTC) if since else None
    lib = cli._library(ctx)
    try:
        if suspicious:
            rules = AuditRules()
            if window is not None:
                rules = replace(rules, window=timedelta(minutes=window))
            start = when or datetime.now(UTC) - timedelta(days=30)
            _show(lib.suspicious_votes(start, rules), start, as_json)
            return
        if not networks and not voters:
            raise cli.UserError("--remove needs --network or --voter: whose votes to remove")
        whose = ", ".join([*(f"network {n}" for n in networks), *(f"voter {v}" for v in voters)])
        span = f" cast since {when:%Y-%m-%d %H:%M} UTC" if when else ""
        if not yes:
            click.confirm(f"withdraw the anonymous votes of {whose}{span}?", abort=True,
                          err=True)
        removed = lib.remove_votes(networks=networks, voters=voters, since=when)
        cli.err.print(f"removed {removed:,} votes of {cli._escape(whose)}{span}; the papers' "
                      "counts went down by as many")
    finally:
        lib.close()


def _finding_json(finding: Finding) -> dict[str, Any]:
    data = asdict(finding)
    data["start"], data["end"] = finding.start.isoformat(), finding.end.isoformat()
    data["voters"] = list(finding.voters)
    return data


def _show(findings: list[Finding], since: datetime, as_json: bool) -> None:
    from papersift import cli

    if as_json:
        cli.out.print_json(json.dumps({"since": since.isoformat(),
                                       "findings": [_finding_json(f) for f in findings]}))
        return
    if not findings:
        cli.out.print(f"nothing looks stuffed among the votes since {since:%Y-%m-%d %H:%M} UTC")
        return
    cli.out.print(f"{len(findings)} findings among the votes since {since:%Y-%m-%d %H:%M} UTC:")
    for f in findings:
        where = f"network {f.network}" if f.network else "no network recorded"
        cli.out.print(f"{f.kind:<10} {f.start:%Y-%m-%d %H:%M:%S}–{f.end:%H:%M:%S}  {where}  "
                      f"{f.votes} votes, {len(f.voters)} voters"
                      + (f"  {cli._escape(f.paper_id)}" if f.paper_id else ""))
        cli.out.print(f"           {cli._escape(f.reason)}")
    tags = sorted({f.network for f in findings if f.network})
    if tags:
        cli.out.print(f"withdraw a network's votes: papersift votes --remove --network {tags[0]}"
                      f" --since '{findings[0].start:%Y-%m-%d %H:%M}'")
