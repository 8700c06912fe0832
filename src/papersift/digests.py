"""E-mail digests: when one is due, what it holds, and the mail (plain text and HTML).

A subscription's ``cursor`` is the last listing day its previous digest covered. A daily
digest is due once a newer listing day exists; a weekly one once the newest listing day is
seven or more days past the cursor. The digest covers the listing days after the cursor
through the newest one: the period's most upvoted papers ("trending"), for a member the
papers their personal feed ranks first ("picks"), and for each saved search the papers
of those days that match it (in the search's own mode).

Every mail carries a signed one-click unsubscribe link in its body and in the
``List-Unsubscribe`` header, with ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``
(RFC 8058), and a Message-ID made from the subscription and the last day it covers, so
the same digest always has the same id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from html import escape
from urllib.parse import quote, urlencode

from papersift.community import SavedSearch, Subscription
from papersift.mail import Message
from papersift.papers import Paper

__all__ = ["Alert", "Digest", "DigestLinks", "due", "message", "message_id", "render_html",
           "render_text"]

EXCERPT = 300


@dataclass(frozen=True, slots=True)
class Alert:
    """A saved search and the papers of the digest's days that match it."""

    search: SavedSearch
    papers: list[Paper]


@dataclass(frozen=True, slots=True)
class Digest:
    """One digest: who it is for, the listing days it covers, and what it holds."""

    subscription: Subscription
    since: date
    through: date
    trending: list[Paper]
    picks: list[Paper]
    alerts: list[Alert]

    @property
    def papers(self) -> int:
        return len(self.trending) + len(self.picks) + sum(len(a.papers) for a in self.alerts)


@dataclass(frozen=True, slots=True)
class DigestLinks:
    """Where a digest's links point: the site's public address and the signed token."""

    base: str
    subscription_id: int
    token: str
    site: str = "papersift"

    def paper(self, paper_id: str) -> str:
        return f"{self.base}/papers/{quote(paper_id, safe='')}"

    @property
    def unsubscribe(self) -> str:
        return f"{self.base}/unsubscribe?" + urlencode({"s": self.subscription_id,
                                                        "t": self.token})

    @property
    def manage(self) -> str:
        return f"{self.base}/digests"


def due(subscription: Subscription, latest: date | None) -> date | None:
    """The last listing day the subscription's next digest covers, if one is due now."""
    if latest is None or not subscription.active:
        return None
    cursor = subscription.cursor or latest - timedelta(days=1)
    step = 1 if subscription.frequency == "daily" else 7
    return latest if latest >= cursor + timedelta(days=step) else None


def message_id(subscription_id: int, through: date, domain: str | None) -> str:
    """The fixed Message-ID of a subscription's digest through a day."""
    return f"<digest-{subscription_id}-{through.isoformat()}@{domain or 'papersift.invalid'}>"


def _period(digest: Digest) -> str:
    if digest.since >= digest.through:
        return f"{digest.through:%A %d %B %Y}"
    return f"{digest.since:%d %B} to {digest.through:%d %B %Y}"


def _sections(digest: Digest) -> list[tuple[str, list[Paper]]]:
    parts: list[tuple[str, list[Paper]]] = []
    if digest.trending:
        parts.append(("Trending", digest.trending))
    if digest.picks:
        parts.append(("Picked for you", digest.picks))
    for alert in digest.alerts:
        parts.append((f"New for your search “{alert.search.query}”", alert.papers))
    return parts


def _authors(paper: Paper, shown: int = 4) -> str:
    names = list(paper.authors[:shown])
    more = len(paper.authors) - shown
    return ", ".join(names) + (f" and {more} more" if more > 0 else "")


def _excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT else text[:EXCERPT].rsplit(" ", 1)[0] + "…"


def render_text(digest: Digest, links: DigestLinks) -> str:
    """The plain-text part."""
    lines = [f"{links.site} {digest.subscription.frequency} digest: {_period(digest)}", ""]
    for title, papers in _sections(digest):
        lines += [title, "=" * len(title), ""]
        if not papers:
            lines += ["No new papers matched.", ""]
        for paper in papers:
            votes = f" · {paper.total_upvotes} upvotes" if paper.total_upvotes else ""
            lines += [paper.title, f"  {_authors(paper)}{votes}", f"  {links.paper(paper.id)}",
                      f"  {_excerpt(paper.abstract)}", ""]
    lines += ["--", f"Change this digest: {links.manage}",
              f"Unsubscribe with one click: {links.unsubscribe}", ""]
    return "\n".join(lines)


def render_html(digest: Digest, links: DigestLinks) -> str:
    """The HTML part (every value escaped; inline styles only, as mail clients want)."""
    out = ['<!doctype html><html><body style="font-family:system-ui,sans-serif;max-width:'
           '680px;margin:auto;color:#1a1a1a">',
           f'<h1 style="font-size:20px">{escape(links.site)} '
           f"{escape(digest.subscription.frequency)} digest</h1>",
           f'<p style="color:#555">{escape(_period(digest))}</p>']
    for title, papers in _sections(digest):
        out.append(f'<h2 style="font-size:17px;border-bottom:1px solid #ddd">{escape(title)}</h2>')
        if not papers:
            out.append("<p>No new papers matched.</p>")
        for paper in papers:
            votes = (f' · <b>{paper.total_upvotes}</b> upvotes' if paper.total_upvotes else "")
            out.append(
                f'<div style="margin:0 0 16px"><a href="{escape(links.paper(paper.id))}" '
                f'style="font-weight:600;color:#0b57d0">{escape(paper.title)}</a>'
                f'<div style="color:#555;font-size:13px">{escape(_authors(paper))}{votes}</div>'
                f'<div style="font-size:14px">{escape(_excerpt(paper.abstract))}</div></div>')
    out.append(f'<p style="color:#777;font-size:12px;border-top:1px solid #ddd;'
               f'padding-top:8px"><a href="{escape(links.manage)}">Change this digest</a> · '
               f'<a href="{escape(links.unsubscribe)}">Unsubscribe</a></p></body></html>')
    return "".join(out)


def message(digest: Digest, links: DigestLinks, domain: str | None) -> Message:
    """The digest as a mail, with its unsubscribe headers and fixed Message-ID."""
    count = digest.papers
    subject = (f"{links.site} {digest.subscription.frequency} digest, {_period(digest)}: "
               f"{count} paper{'s' if count != 1 else ''}")
    return Message(
        to=digest.subscription.email, subject=subject, text=render_text(digest, links),
        html=render_html(digest, links),
        headers={"Message-ID": message_id(digest.subscription.id, digest.through, domain),
                 "List-Unsubscribe": f"<{links.unsubscribe}>",
                 "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
                 "List-Id": f"{links.site} digest <digest.{domain or 'papersift.invalid'}>",
                 "Auto-Submitted": "auto-generated", "Precedence": "bulk"})
