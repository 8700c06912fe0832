"""The vote audit's rules over made-up ledgers: each rule fires on what it names, and
ordinary voting (many networks, a few votes each, spread over hours) fires none."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from papersift.vote_audit import AuditRules, LedgerVote, audit, network_digest, network_of

T0 = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)
DAY = date(2025, 6, 2)


def ordinary(seed: int = 1, networks: int = 120, papers: int = 40) -> list[LedgerVote]:
    """A day of ordinary votes: each network's one or two voters upvote a few papers
    (popular ones more often) at random times over eight hours."""
    rng = random.Random(seed)
    weights = [1 / (i + 1) for i in range(papers)]
    votes = []
    for n in range(networks):
        for v in range(rng.randint(1, 2)):
            voter = f"v{n}-{v}"
            chosen = set(rng.choices(range(papers), weights, k=rng.randint(1, 6)))
            for p in chosen:
                votes.append(LedgerVote(f"2506.{p:05d}", voter, f"net{n:03d}",
                                        T0 + timedelta(seconds=rng.uniform(0, 8 * 3600)), DAY))
    return votes


def stuffed(paper: int = 7, network: str = "bad", n: int = 25,
            start: datetime = T0 + timedelta(hours=3)) -> list[LedgerVote]:
    """``n`` new cookies from one network upvoting one paper within about two minutes."""
    return [LedgerVote(f"2506.{paper:05d}", f"bot{i}", network,
                       start + timedelta(seconds=5 * i), DAY) for i in range(n)]


def test_ordinary_voting_is_not_flagged() -> None:
    for seed in range(5):
        assert audit(ordinary(seed)) == [], seed


def test_a_burst_from_one_network_is_flagged_with_its_voters() -> None:
    findings = audit(ordinary() + stuffed())
    kinds = {f.kind for f in findings}
    assert kinds == {"burst", "spike", "new-voters"}
    burst = next(f for f in findings if f.kind == "burst")
    assert burst.network == "bad" and burst.paper_id == "2506.00007"
    assert burst.votes == 25 and burst.voters == tuple(sorted(f"bot{i}" for i in range(25)))
    assert "25 votes on 2506.00007 from one network within 10 min" in burst.reason
    spike = next(f for f in findings if f.kind == "spike")
    assert spike.network == "bad" and "25 of them from one network" in spike.reason
    assert all(f.network == "bad" for f in findings)


def test_a_spree_over_many_papers_is_flagged() -> None:
    spree = [LedgerVote(f"2506.{p:05d}", "one-cookie", "busy", T0 + timedelta(seconds=10 * p),
                        DAY) for p in range(35)]
    findings = audit(ordinary() + spree)
    assert [(f.kind, f.network, f.votes) for f in findings] == [("spree", "busy", 35)]
    assert "voted on 35 papers within 10 min" in findings[0].reason


def test_slow_stuffing_still_shows_as_new_voters() -> None:
    """Under the rate limits: one vote every 5 minutes from one network, each by a new
    cookie, on different papers; no burst, but many newcomers within the hour."""
    slow = [LedgerVote(f"2506.{i % 40:05d}", f"slow{i}", "patient",
                       T0 + timedelta(minutes=5 * i), DAY) for i in range(12)]
    findings = audit(ordinary() + slow)
    assert [(f.kind, f.network) for f in findings] == [("new-voters", "patient")]
    assert findings[0].votes == 12


def test_a_spike_spread_over_networks_is_compared_with_its_neighbours() -> None:
    """Forty networks each voting once on one paper in five minutes: no network bursts,
    but the paper's rate is far above its day's other papers."""
    spread = [LedgerVote("2506.00030", f"s{i}", f"spread{i}", T0 + timedelta(seconds=7 * i),
                         DAY) for i in range(40)]
    findings = audit(ordinary() + spread)
    assert [(f.kind, f.paper_id) for f in findings] == [("spike", "2506.00030")]
    # the same votes on a day whose papers are all that popular are not a spike
    busy_day = [LedgerVote(f"2506.9{p:04d}", f"b{p}-{i}", f"n{p}-{i}",
                           T0 + timedelta(seconds=7 * i), date(2025, 6, 3))
                for p in range(5) for i in range(40)]
    assert audit(busy_day) == []


def test_since_keeps_later_findings_and_knows_earlier_voters() -> None:
    votes = ordinary() + stuffed(start=T0 + timedelta(hours=1))
    assert audit(votes, since=T0 + timedelta(hours=2)) == []
    assert audit(votes, since=T0) != []
    # voters who first voted before ``since`` are not new when they vote again after it
    again = [LedgerVote("2506.00001", f"bot{i}", "bad", T0 + timedelta(hours=5, minutes=i), DAY)
             for i in range(25)]
    later = audit(votes + again, since=T0 + timedelta(hours=4))
    assert "new-voters" not in {f.kind for f in later}


def test_rules_can_be_tightened() -> None:
    small = stuffed(n=3)
    assert audit(small) == []
    assert {f.kind for f in audit(small, AuditRules(burst_votes=3))} == {"burst"}


def test_network_tags_are_keyed_and_prefix_wide() -> None:
    assert network_of("203.0.113.77") == network_of("203.0.113.0/24") == "203.0.113.0/24"
    assert network_of("2001:db8:1:2::5") == "2001:db8:1::/48"
    assert network_of("testclient") == "testclient"
    tag = network_digest(b"k" * 32, network_of("203.0.113.77"))
    assert len(tag) == 16 and tag == network_digest(b"k" * 32, "203.0.113.0/24")
    assert tag != network_digest(b"j" * 32, "203.0.113.0/24")  # nothing to look up without
