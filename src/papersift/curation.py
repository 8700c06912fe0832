"""The library's methods for the community: digest subscriptions and sending, submissions
to a day's feed, and comments.

:class:`Curation` extends :class:`~papersift.members.Members` (both are parts of
:class:`~papersift.library.Library`) and is the one place where :mod:`papersift.digests`,
:mod:`papersift.outbox` and :mod:`papersift.comment_text` meet the community store
(``backend.community``, :class:`~papersift.backends.base.CommunityStore`).

>>> lib = papersift.open("papersift-data")                           # doctest: +SKIP
>>> lib.subscribe("ada@example.org", link_for=lambda s: f"https://x/confirm?t={s}")
>>> lib.send_digests("https://papers.example.org")                   # doctest: +SKIP
"""

from __future__ import annotations

import email.policy
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from html import escape
from typing import TYPE_CHECKING, Any

from papersift import comment_text, digests, mail, outbox
from papersift.community import (
    MODES,
    Comment,
    CommunityError,
    OutboxMail,
    OutboxState,
    Prefs,
    Submission,
    SubmissionState,
    Subscription,
    sign,
    signature_ok,
)
from papersift.errors import LockBusy
from papersift.members import Members
from papersift.papers import Paper, content_id, normalize_id, normalize_text
from papersift.people import User, digest, new_secret, normalize_email, utcnow
from papersift.query import Filters

if TYPE_CHECKING:
    from papersift.backends.base import CommunityStore

__all__ = ["Curation", "DigestRun", "NotAllowed", "Subscribed"]

CONFIRM_DAYS = 2
TRENDING, PICKS, ALERT_PAPERS, MAX_SEARCHES = 10, 5, 10, 20


class NotAllowed(CommunityError):
    """The person may not do this (not the author, not an admin)."""


@dataclass(frozen=True, slots=True)
class Subscribed:
    """A subscription waiting for confirmation, and the confirmation mail."""

    subscription: Subscription
    message: mail.Message
    link: str


@dataclass
class DigestRun:
    """What ``papersift digest send`` did (or, dry, would do)."""

    planned: list[digests.Digest] = field(default_factory=list)
    sent: int = 0
    failed: list[str] = field(default_factory=list)
    retry: list[str] = field(default_factory=list)
    waiting: int = 0  # recorded earlier, sent now (a rerun after a crash)


class Curation(Members):
    """The community's side of :class:`~papersift.library.Library`."""

    @property
    def community_store(self) -> CommunityStore:
        return self.backend.community

    def digest_key(self) -> str:
        """The key signing unsubscribe links (made once, kept in the store)."""
        return self.store.set_meta_once("digest_key", secrets.token_urlsafe(32))

    # -- subscriptions --------------------------------------------------------------------
    def subscribe(self, email: str, *, link_for: Callable[[str], str],
                  frequency: str = "daily", site: str = "papersift") -> Subscribed:
        """Ask an address to confirm a digest subscription (double opt-in); the mail goes
        out in the background when mail is set up."""
        address = normalize_email(email)
        if frequency not in ("daily", "weekly"):
            raise CommunityError(f"frequency {frequency!r}: use daily or weekly")
        account = self.users_store.user_by_email(address)
        secret = new_secret()
        found = self.community_store.request_subscription(
            address, account.id if account else None, frequency,  # type: ignore[arg-type]
            digest(secret), utcnow() + timedelta(days=CONFIRM_DAYS))
        link = link_for(secret)
        note = _confirmation(address, link, site, frequency)
        if self.mail_settings.configured:
            threading.Thread(target=self._send_quietly, args=([note],), daemon=True,
                             name="papersift-mail").start()
        return Subscribed(found, note, link)

    def confirm_subscription(self, secret: str) -> Subscription | None:
        """Spend a confirmation link: the subscription, active (None: unknown or expired).
        Its first digest covers the listing days after the newest one now."""
        if not secret or len(secret) > 200:
            return None
        return self.community_store.confirm_subscription(
            digest(secret), now=utcnow(), cursor=self.store.latest_day())

    def unsubscribe_token(self, subscription: Subscription) -> str:
        return sign(self.digest_key(), "unsubscribe", subscription.id, subscription.email)

    def unsubscribe(self, subscription_id: int, token: str) -> Subscription | None:
        """Stop a subscription by its signed link (None: the signature is wrong)."""
        found = self.community_store.subscription(subscription_id)
        if found is None or not signature_ok(self.digest_key(), token, "unsubscribe",
                                             found.id, found.email):
            return None
        self.community_store.unsubscribe(found.id)
        return self.community_store.subscription(found.id)

    def subscription_of(self, user: User) -> Subscription | None:
        """The digest subscription of a member's address (any status), or None."""
        return self.community_store.subscription_by_email(user.email)

    def _own_subscription(self, user: User) -> Subscription:
        found = self.subscription_of(user)
        if found is None or found.status == "unsubscribed":
            raise CommunityError("subscribe to the digest first (and confirm from the mail)")
        return found

    def update_digest(self, user: User, *, frequency: str | None = None,
                      trending: bool | None = None, picks: bool | None = None) -> Subscription:
        """Change what a member's digest holds, or how often it comes."""
        found = self._own_subscription(user)
        if frequency is not None and frequency not in ("daily", "weekly"):
            raise CommunityError(f"frequency {frequency!r}: use daily or weekly")
        self.community_store.update_subscription(
            found.id, frequency=frequency, trending=trending, picks=picks)  # type: ignore[arg-type]
        return self.community_store.subscription(found.id) or found

    def add_saved_search(self, user: User, query: str, mode: str = "auto") -> Subscription:
        """Add a saved search to a member's digest: its new matches come with each one."""
        found = self._own_subscription(user)
        text = " ".join((query or "").split())
        if not 1 <= len(text) <= 300:
            raise CommunityError("a saved search needs a query of 1 to 300 characters")
        if mode not in MODES:
            raise CommunityError(f"mode {mode!r}: use one of {', '.join(MODES)}")
        if len(found.searches) >= MAX_SEARCHES:
            raise CommunityError(f"a digest holds at most {MAX_SEARCHES} saved searches")
        self.community_store.add_saved_search(found.id, text, mode)
        return self.community_store.subscription(found.id) or found

    def remove_saved_search(self, user: User, search_id: int) -> bool:
        found = self.subscription_of(user)
        return found is not None and self.community_store.remove_saved_search(found.id,
                                                                              search_id)

    # -- digests --------------------------------------------------------------------------
    def build_digest(self, subscription: Subscription, since: date, through: date) -> (
            digests.Digest):
        """What a subscription's digest over the listing days ``[since, through]`` holds."""
        trending = (self.digest(since, until=through, limit=TRENDING)  # type: ignore[attr-defined]
                    if subscription.trending else [])
        picks: list[Paper] = []
        member = (self.users_store.get_user(subscription.user_id)
                  if subscription.picks and subscription.user_id else None)
        if member is not None and self.users_store.feedback(member.id):
            feed = self.personal_feed(member, since=since, until=through, limit=PICKS)
            picks = [item.paper for item in feed.items]
        alerts = []
        for search in subscription.searches:
            found = self.search(search.query, mode=search.mode,  # type: ignore[attr-defined]
                                filters=Filters(since=since, until=through), limit=ALERT_PAPERS)
            alerts.append(digests.Alert(search, [r.paper for r in found]))
        return digests.Digest(subscription, since, through, trending, picks, alerts)

    def digest_links(self, subscription: Subscription, base_url: str,
                     site: str = "papersift") -> digests.DigestLinks:
        return digests.DigestLinks(base_url.rstrip("/"), subscription.id,
                                   self.unsubscribe_token(subscription), site)

    def digest_message(self, found: digests.Digest, base_url: str,
                       site: str = "papersift") -> mail.Message:
        """A digest as a mail (plain text, HTML, unsubscribe headers)."""
        links = self.digest_links(found.subscription, base_url, site)
        return digests.message(found, links, mail.sender_domain(self.mail_settings.mail_from))

    def plan_digests(self, base_url: str, *, dry_run: bool = False,
                     site: str = "papersift") -> list[digests.Digest]:
        """Every digest due now; unless dry, each recorded in the outbox in the transaction
        that moves its subscription's cursor (a digest is planned once)."""
        latest = self.store.latest_day()
        planned = []
        for subscription in self.community_store.active_subscriptions():
            through = digests.due(subscription, latest)
            if through is None:
                continue
            cursor = subscription.cursor
            since = (cursor or through - timedelta(days=1)) + timedelta(days=1)
            found = self.build_digest(subscription, since, through)
            if not dry_run:
                note = self.digest_message(found, base_url, site)
                raw = mail.build(note, self.mail_settings.mail_from).as_bytes(
                    policy=email.policy.SMTP)
                if not self.community_store.record_digest(
                        subscription.id, cursor, through, message_id=note.headers["Message-ID"],
                        recipient=subscription.email, raw=raw):
                    continue
            planned.append(found)
        return planned

    def send_digests(self, base_url: str, *, dry_run: bool = False,
                     site: str = "papersift") -> DigestRun:
        """Plan what is due and send everything recorded and not yet handed to the SMTP
        server (see :mod:`papersift.outbox`); one sender at a time per library."""
        if not dry_run and not self.mail_settings.configured:
            raise mail.MailError("mail is not set up: set PAPERSIFT_SMTP_HOST (and the other "
                                 "PAPERSIFT_SMTP_* settings, see README)")
        lock = self.store.lock("digest-send")
        try:
            lock.acquire(wait=False)
        except LockBusy as busy:
            raise CommunityError(f"another `papersift digest send` is running "
                                 f"({busy.holder or 'another process'})") from None
        try:
            store = self.community_store
            waiting = len(store.outbox(("pending",)))
            run = DigestRun(planned=self.plan_digests(base_url, dry_run=dry_run, site=site),
                            waiting=waiting)
            if dry_run:
                return run

            def mark(item: OutboxMail, state: OutboxState, error: str | None) -> None:
                store.mark_outbox(item.id, state, error=error)

            def hand_over(item: OutboxMail, write: Callable[[], object]) -> None:
                store.hand_over(item.id, write)

            done = outbox.deliver(self.mail_settings, store.outbox(("pending",)), mark,
                                  hand_over)
            run.sent, run.failed, run.retry = done.sent, done.failed, done.retry
            return run
        finally:
            lock.release()

    def outbox_counts(self) -> dict[str, int]:
        """Digests in the outbox by state (pending, handed, sent, failed)."""
        return self.community_store.outbox_counts()

    # -- submissions ----------------------------------------------------------------------
    def submit_paper(self, user: User, day: date, *, paper_id: str | None = None,
                     title: str = "", abstract: str = "", authors: str = "",
                     link: str = "") -> Submission:
        """Submit a paper to a day's feed: one in this library by its id, or a new one from
        pasted metadata (title, abstract, authors one per line or comma-separated)."""
        if paper_id and paper_id.strip():
            paper = self.get(paper_id.strip())  # type: ignore[attr-defined]
            if paper is None:
                raise CommunityError(f"{paper_id.strip()!r} is not in this library; paste its "
                                     "title, authors and abstract instead")
        else:
            paper = self._pasted(day, title, abstract, authors, link, user)
        store = self.community_store
        created = store.add_submission(paper.id, day, user.id)
        if created is None:
            raise CommunityError(f"{paper.id} is already in the feed of {day.isoformat()}")
        return next(s for s in store.submissions(day=day, hidden=True) if s.id == created)

    def _pasted(self, day: date, title: str, abstract: str, authors: str, link: str,
                user: User) -> Paper:
        title, abstract = normalize_text(title or ""), normalize_text(abstract or "")
        if not 5 <= len(title) <= 500 or not 20 <= len(abstract) <= 10_000:
            raise CommunityError("paste a title (5 to 500 characters) and an abstract (20 to "
                                 "10,000 characters), or give an arXiv id")
        names = [normalize_text(n) for n in authors.replace("\n", ",").split(",") if n.strip()]
        ident = normalize_id(link)[0] if link.strip() else content_id(title, abstract)
        if self.get(ident) is not None:  # type: ignore[attr-defined]
            return self.get(ident)  # type: ignore[attr-defined]
        paper = Paper(id=ident, title=title, abstract=abstract, authors=tuple(names[:200]),
                      published=day, submitter=self.community_prefs(user).name).with_defaults()
        try:
            self.add([paper], wait=None)  # type: ignore[attr-defined]
        except LockBusy:
            raise CommunityError("an ingest is running; try again in a few minutes") from None
        return self.get(paper.id) or paper  # type: ignore[attr-defined]

    def submissions(self, day: date, *, hidden: bool = False) -> list[Submission]:
        """The papers submitted to a day's feed, featured first (hidden ones for admins)."""
        return self.community_store.submissions(day=day, hidden=hidden)

    def moderate_submission(self, user: User, submission_id: int,
                            state: SubmissionState) -> bool:
        """An admin shows, hides or features a submission."""
        _need_admin(user)
        if state not in ("shown", "hidden", "featured"):
            raise CommunityError(f"state {state!r}: use shown, hidden or featured")
        return self.community_store.set_submission_state(submission_id, state)

    # -- comments -------------------------------------------------------------------------
    def comments(self, paper_id: str, *, viewer: User | None = None) -> list[Comment]:
        """A paper's comments, oldest first (hidden ones only for admins)."""
        return self.community_store.comments(paper_id=paper_id,
                                             hidden=bool(viewer and viewer.admin))

    def comment(self, user: User, paper_id: str, body: str, *, parent: int | None = None,
                paper_url: Callable[[str], str] | None = None,
                site: str = "papersift") -> Comment:
        """Comment on a paper (or reply to a comment on it); the parent's author is mailed
        when they asked for that and mail is set up."""
        paper = self._paper(paper_id)
        try:
            text = comment_text.clean(body)
        except ValueError as error:
            raise CommunityError(str(error)) from None
        store = self.community_store
        created = store.add_comment(paper.id, user.id, text, parent)
        if created is None:
            raise CommunityError(f"comment {parent} is not on this paper")
        new = store.comments(comment_id=created)[0]
        if parent is not None and paper_url is not None:
            self._notify_reply(parent, new, paper, paper_url(paper.id), site)
        return new

    def _notify_reply(self, parent_id: int, reply: Comment, paper: Paper, url: str,
                      site: str) -> None:
        parent = self.community_store.comments(comment_id=parent_id)
        if not parent or parent[0].user_id == reply.user_id:
            return
        author = self.users_store.get_user(parent[0].user_id)
        if author is None or not self.community_store.prefs(author.id).notify_replies:
            return
        if not self.mail_settings.configured or self.take_token(  # type: ignore[attr-defined]
                f"reply-mail:{author.id}", 20, 20 / 60) > 0:
            return
        note = _reply_mail(author.email, reply, paper, url, site)
        threading.Thread(target=self._send_quietly, args=([note],), daemon=True,
                         name="papersift-mail").start()

    def comment_by_id(self, comment_id: int) -> Comment | None:
        found = self.community_store.comments(comment_id=comment_id)
        return found[0] if found else None

    def _own_comment(self, user: User, comment_id: int) -> Comment:
        found = self.community_store.comments(comment_id=comment_id)
        if not found:
            raise KeyError(f"comment {comment_id}")
        if found[0].user_id != user.id:
            raise NotAllowed("only its author may change a comment")
        return found[0]

    def edit_comment(self, user: User, comment_id: int, body: str) -> Comment:
        self._own_comment(user, comment_id)
        try:
            text = comment_text.clean(body)
        except ValueError as error:
            raise CommunityError(str(error)) from None
        self.community_store.edit_comment(comment_id, user.id, text)
        return self.community_store.comments(comment_id=comment_id)[0]

    def delete_comment(self, user: User, comment_id: int) -> Comment:
        found = self._own_comment(user, comment_id)
        self.community_store.remove_comment(comment_id, user.id)
        return found

    def hide_comment(self, user: User, comment_id: int, hidden: bool = True) -> bool:
        """An admin hides a comment (or shows it again)."""
        _need_admin(user)
        return self.community_store.hide_comment(comment_id, hidden)

    def comment_counts(self, paper_ids: list[str]) -> dict[str, int]:
        """Visible comments per paper (for listings)."""
        return self.community_store.comment_counts(paper_ids) if paper_ids else {}

    @staticmethod
    def render_comment(body: str) -> str:
        """A comment's safe HTML (see :mod:`papersift.comment_text`)."""
        return comment_text.render(body)

    def community_prefs(self, user: User) -> Prefs:
        return self.community_store.prefs(user.id)

    def set_community_prefs(self, user: User, *, name: str | None,
                            notify_replies: bool) -> Prefs:
        """The name shown beside a member's submissions and comments, and reply mails."""
        clean = " ".join((name or "").split()) or None
        if clean is not None and len(clean) > 60:
            raise CommunityError("a name has at most 60 characters")
        prefs = Prefs(clean, notify_replies)
        self.community_store.set_prefs(user.id, prefs)
        return prefs

    # -- their data -----------------------------------------------------------------------
    def export_user_data(self, user: User) -> dict[str, Any]:
        """Everything kept about a member, the community's part included."""
        data = super().export_user_data(user)
        store = self.community_store
        found = store.subscription_by_email(user.email)
        prefs = store.prefs(user.id)
        data["community"] = {
            "name": prefs.name, "notify_replies": prefs.notify_replies,
            "subscription": None if found is None else {
                "email": found.email, "frequency": found.frequency, "status": found.status,
                "trending": found.trending, "picks": found.picks,
                "last_day_covered": found.cursor.isoformat() if found.cursor else None,
                "saved_searches": [{"query": s.query, "mode": s.mode} for s in found.searches],
                "digests": [{"through": d.isoformat(), "message_id": m, "state": s}
                            for d, m, s in store.sent_digests(found.id)]},
            "submissions": [{"paper": s.paper.id, "day": s.day.isoformat(), "state": s.state,
                             "at": s.created.isoformat()}
                            for s in store.submissions(user_id=user.id, hidden=True)],
            "comments": [{"paper": c.paper_id, "body": c.body, "at": c.created.isoformat(),
                          "hidden": c.hidden, "reply_to": c.parent}
                         for c in store.comments(user_id=user.id)],
        }
        return data

    def remove_user(self, email: str) -> bool:
        """Remove an account and all its data, its digest subscription included."""
        found = self.user(email)
        removed = super().remove_user(email)
        if found is not None:
            self.community_store.remove_subscriptions(found.email)
        return removed


def _need_admin(user: User) -> None:
    if not user.admin:
        raise NotAllowed("only an administrator may do that")


def _confirmation(address: str, link: str, site: str, frequency: str) -> mail.Message:
    text = (f"Someone (we hope you) asked for the {frequency} {site} digest at this "
            f"address. Confirm with this link:\n\n{link}\n\nIt works for {CONFIRM_DAYS} days. "
            "Without it nothing is sent; if you did not ask, ignore this mail.\n")
    html = (f"<p>Someone (we hope you) asked for the {escape(frequency)} {escape(site)} "
            f'digest at this address.</p><p><a href="{escape(link)}">Confirm the '
            f"subscription</a></p><p>It works for {CONFIRM_DAYS} days. Without it nothing is "
            "sent; if you did not ask, ignore this mail.</p>")
    return mail.Message(to=address, subject=f"Confirm your {site} digest", text=text,
                        html=html, headers={"Auto-Submitted": "auto-generated"})


def _reply_mail(address: str, reply: Comment, paper: Paper, url: str,
                site: str) -> mail.Message:
    text = (f"{reply.author} replied to your comment on “{paper.title}”:\n\n{reply.body}\n\n"
            f"{url}#comment-{reply.id}\n\nYou get these because you asked for reply mails; "
            f"turn them off on your account page.\n")
    html = (f"<p>{escape(reply.author)} replied to your comment on "
            f"<a href=\"{escape(url)}#comment-{reply.id}\">{escape(paper.title)}</a>:</p>"
            f"<blockquote>{comment_text.render(reply.body)}</blockquote>"
            "<p>You get these because you asked for reply mails; turn them off on your "
            "account page.</p>")
    return mail.Message(to=address, subject=f"New reply on {site}: {paper.title[:80]}",
                        text=text, html=html, headers={"Auto-Submitted": "auto-generated"})
