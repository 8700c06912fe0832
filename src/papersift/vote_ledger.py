"""The library's vote ledger: tagging each anonymous vote with its network, the audit of
what looks stuffed, and withdrawing a network's or a voter's votes.

A part of :class:`papersift.library.Library` (a mixin, as :mod:`papersift.members` is); the
rules themselves are plain functions in :mod:`papersift.vote_audit`. The network tag is an
HMAC under the library's site secret (kept in the store, the same for every process), so
the web server that records a vote and the ``papersift votes`` command that audits it agree
on it without any address being stored.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from papersift.backends import PaperStore
from papersift.vote_audit import AuditRules, Finding, audit, network_digest, network_of

__all__ = ["VoteLedger"]

#: How far before ``since`` the audit reads, so that a voter seen before is not "new".
LOOKBACK = timedelta(days=7)
_TAG = re.compile(r"[0-9a-f]{16}")


class VoteLedger:
    """The vote ledger's audit (a part of :class:`~papersift.library.Library`)."""

    store: PaperStore
    _ledger_key: bytes | None = None

    def site_secret(self) -> str:  # pragma: no cover - Library's
        raise NotImplementedError

    def network_tag(self, where: str) -> str:
        """The ledger's tag of a client address or network (``203.0.113.7``,
        ``203.0.113.0/24``, ``2001:db8:1::/48``): the digest every vote from that network
        carries; a tag as the audit prints it is returned as given."""
        if _TAG.fullmatch(where):
            return where
        if self._ledger_key is None:  # the stored secret never changes once made
            self._ledger_key = self.site_secret().encode()
        return network_digest(self._ledger_key, network_of(where))

    def suspicious_votes(self, since: datetime | None = None,
                         rules: AuditRules | None = None) -> list[Finding]:
        """What looks stuffed among the anonymous votes cast since ``since`` (all when
        None): bursts, sprees, spikes and new voters (:func:`papersift.vote_audit.audit`)."""
        since = _aware(since)
        votes = self.store.vote_ledger(since - LOOKBACK if since else None)
        return audit(votes, rules or AuditRules(), since=since)

    def remove_votes(self, *, networks: Sequence[str] = (), voters: Sequence[str] = (),
                     since: datetime | None = None) -> int:
        """Withdraw in one transaction the anonymous votes cast since ``since`` (all when
        None) from the given networks (tags, addresses or prefixes) or by the given voter
        ids; each paper's count drops by exactly its votes removed. How many were."""
        if not networks and not voters:
            raise ValueError("name at least one network or voter whose votes to remove")
        tags = [self.network_tag(n) for n in networks]
        return self.store.remove_votes(networks=tags, voters=list(voters),
                                       since=_aware(since))


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
