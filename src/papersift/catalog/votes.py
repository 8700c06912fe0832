"""Votes, rate-limit buckets and job states: the small rows every process shares.

A vote and the paper's count change in one transaction (an insert that a unique key makes
idempotent, then ``votes_here = votes_here + 1``), so concurrent voters in any number of
processes never lose or double a vote. Rate-limit buckets live here rather than in a
server's memory for the same reason: every worker draws from the same bucket.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any

from papersift.catalog.papers import now
from papersift.catalog.schema import Connections
from papersift.copy_records import VoteRecord
from papersift.jobs import JobState
from papersift.vote_audit import LedgerVote

__all__ = ["VoteRows", "voted_ids"]

_DATES = ("started_at", "updated_at", "finished_at")


def _stamp(moment: datetime | None) -> str:
    """A time as the votes table writes it (UTC, ISO, seconds), for comparing in SQL."""
    if moment is None:
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def _moment(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class VoteRows:
    """Votes, buckets and job rows (a part of :class:`~papersift.catalog.Catalog`)."""

    _conns: Connections

    @property
    def _db(self) -> sqlite3.Connection:
        return self._conns.get()

    # -- votes ----------------------------------------------------------------------------
    def add_vote(self, paper_id: str, voter: str, network: str | None = None) -> bool:
        """Record an anonymous voter's upvote (``network``: the digest of the voter's network,
        for the audit); False when the paper is unknown or already upvoted. (Members vote
        through ``add_member_vote``, counted apart.)"""
        with self._conns.writing(deadline=10) as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO votes (paper, voter, created, network) "
                "SELECT rowid, ?, ?, ? FROM papers WHERE id = ?",
                (voter, now(), network, paper_id),
            )
            if cursor.rowcount <= 0:
                return False
            db.execute("UPDATE papers SET votes_here = votes_here + 1 WHERE id = ?", (paper_id,))
            return True

    def remove_vote(self, paper_id: str, voter: str) -> bool:
        """Withdraw a voter's upvote; False when there was none."""
        with self._conns.writing(deadline=10) as db:
            cursor = db.execute(
                "DELETE FROM votes WHERE voter = ? AND user IS NULL AND paper = "
                "(SELECT rowid FROM papers WHERE id = ?)",
                (voter, paper_id),
            )
            if cursor.rowcount <= 0:
                return False
            db.execute("UPDATE papers SET votes_here = votes_here - 1 WHERE id = ?", (paper_id,))
            return True

    def voted(self, paper_ids: Sequence[str], voter: str) -> set[str]:
        """Which of the papers this voter has upvoted."""
        return voted_ids(self._db, "votes.voter = ? AND votes.user IS NULL", voter, paper_ids)

    def vote_records(self, paper_ids: Sequence[str]) -> list[VoteRecord]:
        """Every anonymous vote on these papers with its time and network digest."""
        found: list[VoteRecord] = []
        for start in range(0, len(paper_ids), 500):
            chunk = list(paper_ids[start : start + 500])
            marks = ",".join("?" * len(chunk))
            found += [VoteRecord(r[0], r[1], _moment(r[2]), r[3]) for r in self._db.execute(
                "SELECT papers.id, votes.voter, votes.created, votes.network FROM votes JOIN "
                f"papers ON papers.rowid = votes.paper WHERE papers.id IN ({marks}) "
                "AND votes.user IS NULL", chunk)]
        return sorted(found, key=lambda v: (v.paper_id, v.voter))

    def import_votes(self, votes: Sequence[VoteRecord]) -> int:
        """Anonymous votes copied from another library, counted on their papers; one
        already here takes the record's time and network (idempotent)."""
        added = 0
        with self._conns.writing(deadline=30) as db:
            for vote in votes:
                details = (_stamp(vote.cast), vote.network)
                cast = db.execute(
                    "INSERT OR IGNORE INTO votes (paper, voter, created, network) "
                    "SELECT rowid, ?, ?, ? FROM papers WHERE id = ?",
                    (vote.voter, *details, vote.paper_id))
                if cast.rowcount > 0:
                    added += 1
                    db.execute("UPDATE papers SET votes_here = votes_here + 1 WHERE id = ?",
                               (vote.paper_id,))
                else:
                    db.execute("UPDATE votes SET created = ?, network = ? WHERE voter = ? AND "
                               "user IS NULL AND paper = (SELECT rowid FROM papers WHERE id = ?)",
                               (*details, vote.voter, vote.paper_id))
        return added

    def kept_vote_records(self) -> list[VoteRecord]:
        """The anonymous votes kept for papers their source deleted."""
        rows = self._db.execute("SELECT paper_id, voter, created, network FROM kept_votes "
                                "WHERE user IS NULL")
        return sorted((VoteRecord(r[0], r[1], _moment(r[2]), r[3]) for r in rows),
                      key=lambda v: (v.paper_id, v.voter))

    def import_kept_votes(self, votes: Sequence[VoteRecord]) -> int:
        """Keep anonymous votes for removed papers (idempotent); how many were new."""
        with self._conns.writing(deadline=30) as db:
            before = db.total_changes
            db.executemany("INSERT OR IGNORE INTO kept_votes (paper_id, voter, created, network) "
                           "VALUES (?, ?, ?, ?)",
                           [(v.paper_id, v.voter, _stamp(v.cast), v.network) for v in votes])
            return db.total_changes - before

    def vote_count(self) -> int:
        """Votes cast here, in all (checked against each paper's count by ``check``)."""
        return int(self._db.execute("SELECT count(*) FROM votes").fetchone()[0])

    def vote_drift(self) -> int:
        """Papers whose counted votes differ from their vote rows (0 when all agree)."""
        row = self._db.execute(
            "SELECT count(*) FROM papers WHERE votes_here != "
            "(SELECT count(*) FROM votes WHERE votes.paper = papers.rowid) OR votes_members != "
            "(SELECT count(*) FROM votes WHERE votes.paper = papers.rowid "
            "AND votes.user IS NOT NULL)"
        ).fetchone()
        return int(row[0])

    # -- the ledger's audit ----------------------------------------------------------------
    def vote_ledger(self, since: datetime | None = None) -> list[LedgerVote]:
        """Every anonymous vote cast at or after ``since`` (all when None), oldest first."""
        rows = self._db.execute(
            "SELECT papers.id, votes.voter, votes.network, votes.created, papers.published "
            "FROM votes JOIN papers ON papers.rowid = votes.paper "
            "WHERE votes.user IS NULL AND votes.created >= ? ORDER BY votes.created",
            (_stamp(since),))
        return [LedgerVote(r[0], r[1], r[2], _moment(r[3]),
                           date.fromisoformat(r[4]) if r[4] else None) for r in rows]

    def remove_votes(self, *, networks: Sequence[str] = (), voters: Sequence[str] = (),
                     since: datetime | None = None) -> int:
        """Withdraw, in one transaction, every anonymous vote cast at or after ``since``
        from one of ``networks`` (digests) or by one of ``voters``, taking each off its
        paper's count; how many were removed."""
        nets, who = list(networks), list(voters)
        where = (f"user IS NULL AND created >= ? AND (network IN ({','.join('?' * len(nets))})"
                 f" OR voter IN ({','.join('?' * len(who))}))")
        args = [_stamp(since), *nets, *who]
        with self._conns.writing(deadline=30) as db:
            counts = db.execute(f"SELECT paper, count(*) FROM votes WHERE {where} "
                                "GROUP BY paper", args).fetchall()
            db.execute(f"DELETE FROM votes WHERE {where}", args)
            db.executemany("UPDATE papers SET votes_here = votes_here - ? WHERE rowid = ?",
                           [(n, paper) for paper, n in counts])
        return sum(n for _, n in counts)

    # -- rate limits ----------------------------------------------------------------------
    def take_token(self, key: str, burst: int, per_minute: float) -> float:
        """Take a token from ``key``'s bucket (``burst`` tokens, refilled at ``per_minute``):
        0.0 when taken, else the seconds until one is free."""
        burst = max(int(burst), 1)
        rate = max(per_minute, 1e-9) / 60.0
        clock = time.time()
        with self._conns.writing(deadline=10) as db:
            row = db.execute("SELECT tokens, updated FROM rate_limits WHERE key = ?",
                             (key,)).fetchone()
            level = float(burst) if row is None else min(
                float(burst), row[0] + max(clock - row[1], 0.0) * rate)
            if level < 1.0:
                return (1.0 - level) / rate
            db.execute(
                "INSERT INTO rate_limits (key, tokens, updated) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET tokens = excluded.tokens, "
                "updated = excluded.updated",
                (key, level - 1.0, clock),
            )
            if row is None and random.random() < 1 / 64:  # now and then, drop idle buckets
                db.execute("DELETE FROM rate_limits WHERE updated < ?",
                           (clock - 86_400,))
        return 0.0

    # -- jobs -----------------------------------------------------------------------------
    def save_job(self, job: JobState) -> None:
        data: dict[str, Any] = asdict(job)
        for name in _DATES:
            value = data[name]
            data[name] = value.isoformat() if isinstance(value, datetime) else None
        with self._conns.writing(deadline=10) as db:
            db.execute(
                "INSERT INTO jobs (name, state) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET state = excluded.state",
                (job.name, json.dumps(data)),
            )

    def jobs(self) -> list[JobState]:
        states = []
        for row in self._db.execute("SELECT state FROM jobs ORDER BY name"):
            data = json.loads(row[0])
            for name in _DATES:
                data[name] = datetime.fromisoformat(data[name]) if data.get(name) else None
            states.append(JobState(**data))
        return states


def voted_ids(db: sqlite3.Connection, condition: str, value: object,
              paper_ids: Sequence[str]) -> set[str]:
    """Which of the papers have a vote matching ``condition`` (one ``?`` for ``value``);
    the ids go in chunks of 500 (SQLite's limit on parameters)."""
    found: set[str] = set()
    for start in range(0, len(paper_ids), 500):
        chunk = list(paper_ids[start : start + 500])
        marks = ",".join("?" * len(chunk))
        rows = db.execute("SELECT papers.id FROM papers JOIN votes ON votes.paper = papers.rowid "
                          f"WHERE {condition} AND papers.id IN ({marks})", [value, *chunk])
        found.update(r[0] for r in rows)
    return found
