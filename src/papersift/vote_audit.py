"""Auditing the vote ledger: which anonymous votes look stuffed, and why.

Every anonymous vote is stored with its time and its voter's *network* (an IPv4 /24 or an
IPv6 /48, as the rate limits count it) as a keyed digest (:func:`network_digest`, HMAC-SHA256
under the library's site secret): the ledger holds no address in clear, yet every vote from
one network carries the same tag, and an operator who suspects a network can compute its
tag (``papersift votes --remove --network 203.0.113.0/24``).

:func:`audit` reads a list of :class:`LedgerVote` and reports :class:`Finding` s, each with
its reason in words and the voters and network involved:

- ``burst``: many votes on one paper from one network within a short window;
- ``spree``: one network voting on many papers within a short window;
- ``spike``: a paper's votes within a window far above its neighbours' (the papers listed
  on the same day) peak rate;
- ``new-voters``: many voter cookies voting for the first time from one network.

The functions here are plain: they take votes and return findings; the library's glue is
:class:`papersift.vote_ledger.VoteLedger`.

>>> network_of("203.0.113.77"), network_of("2001:db8:1:2::5")
('203.0.113.0/24', '2001:db8:1::/48')
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

__all__ = ["AuditRules", "Finding", "LedgerVote", "audit", "network_digest", "network_of"]


def network_of(address: str) -> str:
    """The network a client address belongs to (an IPv4 /24, an IPv6 /48; a network
    written as such is normalised; anything else is returned as given)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        try:
            return str(ipaddress.ip_network(address, strict=False))
        except ValueError:
            return address
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def network_digest(key: bytes, network: str) -> str:
    """The ledger's tag of a network: 16 hex digits of HMAC-SHA256 under ``key``."""
    return hmac.new(key, network.encode(), hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class LedgerVote:
    """One anonymous vote as the audit sees it."""

    paper_id: str
    voter: str
    network: str | None  # the network's digest; None for votes cast before it was recorded
    cast: datetime  # timezone-aware
    day: date | None = None  # the paper's listing day: papers of one day are neighbours


@dataclass(frozen=True)
class AuditRules:
    """Thresholds of the audit (each a rule's "looks stuffed" line)."""

    window: timedelta = timedelta(minutes=10)
    burst_votes: int = 5  # votes on one paper from one network within ``window``
    spree_papers: int = 30  # papers one network votes on within ``window``
    spike_votes: int = 10  # a paper's votes within ``window``, at least ...
    spike_factor: float = 5.0  # ... and this many times its neighbours' median peak
    new_voters: int = 10  # voters first seen from one network within ``new_window``
    new_window: timedelta = timedelta(hours=1)


@dataclass(frozen=True)
class Finding:
    """Something in the ledger that looks stuffed."""

    kind: str  # "burst", "spree", "spike" or "new-voters"
    reason: str
    start: datetime
    end: datetime
    votes: int
    network: str | None
    paper_id: str | None
    voters: tuple[str, ...]


def _peak(votes: Sequence[LedgerVote], window: timedelta,
          size: object = None) -> tuple[int, int, int]:
    """The densest run of ``votes`` (sorted by time) within ``window``: ``(count, first
    index, last index)``, counting votes, or distinct papers when ``size`` is "papers"."""
    best = (0, 0, 0)
    start = 0
    papers: Counter[str] = Counter()
    for end, vote in enumerate(votes):
        papers[vote.paper_id] += 1
        while vote.cast - votes[start].cast > window:
            papers[votes[start].paper_id] -= 1
            if not papers[votes[start].paper_id]:
                del papers[votes[start].paper_id]
            start += 1
        count = len(papers) if size == "papers" else end - start + 1
        if count > best[0]:
            best = (count, start, end)
    return best


def _minutes(window: timedelta) -> str:
    return f"{window.total_seconds() / 60:g} min"


def _finding(kind: str, reason: str, run: Sequence[LedgerVote], *, network: str | None,
             paper_id: str | None) -> Finding:
    return Finding(kind, reason, run[0].cast, run[-1].cast, len(run), network, paper_id,
                   tuple(sorted({v.voter for v in run})))


def _bursts(by_pair: dict[tuple[str, str], list[LedgerVote]],
            rules: AuditRules) -> list[Finding]:
    found = []
    for (paper_id, network), votes in by_pair.items():
        count, first, last = _peak(votes, rules.window)
        if count >= rules.burst_votes:
            run = votes[first : last + 1]
            reason = (f"{count} votes on {paper_id} from one network within "
                      f"{_minutes(rules.window)} (the line is {rules.burst_votes})")
            found.append(_finding("burst", reason, run, network=network, paper_id=paper_id))
    return found


def _sprees(by_network: dict[str, list[LedgerVote]], rules: AuditRules) -> list[Finding]:
    found = []
    for network, votes in by_network.items():
        count, first, last = _peak(votes, rules.window, "papers")
        if count >= rules.spree_papers:
            run = votes[first : last + 1]
            reason = (f"one network voted on {count} papers within {_minutes(rules.window)} "
                      f"(the line is {rules.spree_papers})")
            found.append(_finding("spree", reason, run, network=network, paper_id=None))
    return found


def _spikes(by_paper: dict[str, list[LedgerVote]], rules: AuditRules) -> list[Finding]:
    peaks = {paper_id: _peak(votes, rules.window) for paper_id, votes in by_paper.items()}
    days: dict[date | None, list[str]] = defaultdict(list)
    for paper_id, votes in by_paper.items():
        days[votes[0].day].append(paper_id)
    found = []
    for paper_id, (count, first, last) in peaks.items():
        if count < rules.spike_votes:
            continue
        neighbours = [peaks[p][0] for p in days[by_paper[paper_id][0].day] if p != paper_id]
        usual = max(statistics.median(neighbours), 1.0) if neighbours else 1.0
        if count < rules.spike_factor * usual:
            continue
        run = by_paper[paper_id][first : last + 1]
        networks = Counter(v.network for v in run)
        network, most = networks.most_common(1)[0]
        reason = (f"{count} votes on {paper_id} within {_minutes(rules.window)}, "
                  f"{count / usual:.0f}x the peak of its day's other voted papers (median "
                  f"{usual:g}, {len(neighbours)} papers); {most} of them from one network")
        found.append(_finding("spike", reason, run, network=network, paper_id=paper_id))
    return found


def _newcomers(votes: Sequence[LedgerVote], rules: AuditRules) -> list[Finding]:
    first_votes: dict[str, LedgerVote] = {}
    for vote in votes:  # sorted by time: a voter's first vote comes first
        first_votes.setdefault(vote.voter, vote)
    by_network: dict[str, list[LedgerVote]] = defaultdict(list)
    for vote in first_votes.values():
        if vote.network is not None:
            by_network[vote.network].append(vote)
    found = []
    for network, firsts in by_network.items():
        count, first, last = _peak(firsts, rules.new_window)
        if count >= rules.new_voters:
            run = firsts[first : last + 1]
            reason = (f"{count} voter cookies voted for the first time from one network "
                      f"within {_minutes(rules.new_window)} (the line is {rules.new_voters})")
            found.append(_finding("new-voters", reason, run, network=network, paper_id=None))
    return found


def audit(votes: Iterable[LedgerVote], rules: AuditRules = AuditRules(), *,
          since: datetime | None = None) -> list[Finding]:
    """What looks stuffed among ``votes``, oldest first; with ``since``, only findings that
    end at or after it (votes before it still tell which voters are new)."""
    ordered = sorted(votes, key=lambda v: (v.cast, v.paper_id, v.voter))
    by_pair: dict[tuple[str, str], list[LedgerVote]] = defaultdict(list)
    by_network: dict[str, list[LedgerVote]] = defaultdict(list)
    by_paper: dict[str, list[LedgerVote]] = defaultdict(list)
    for vote in ordered:
        by_paper[vote.paper_id].append(vote)
        if vote.network is not None:
            by_pair[(vote.paper_id, vote.network)].append(vote)
            by_network[vote.network].append(vote)
    found = (_bursts(by_pair, rules) + _sprees(by_network, rules) + _spikes(by_paper, rules)
             + _newcomers(ordered, rules))
    if since is not None:
        found = [f for f in found if f.end >= since]
    return sorted(found, key=lambda f: (f.start, f.kind, f.paper_id or ""))
