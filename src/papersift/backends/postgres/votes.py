"""Votes, rate-limit buckets and job states in PostgreSQL (a part of
:class:`~papersift.backends.postgres.store.PostgresStore`).

A vote is an insert that the ``(paper, voter)`` primary key makes idempotent and
``votes_here = votes_here + 1`` in the same transaction: concurrent voters in any number of
processes on any number of machines never lose or double a vote (a second insert of the
same pair waits for the first to commit, then does nothing). A rate-limit bucket is one
row, refilled and drawn in one statement.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from papersift.backends.postgres.connections import Database
from papersift.copy_records import VoteRecord
from papersift.jobs import JobState
from papersift.vote_audit import LedgerVote

__all__ = ["VoteRows"]

_DATES = ("started_at", "updated_at", "finished_at")
#: Anonymous votes: members' voter ids name their user with a ':' (Library.upvote refuses
#: a ':' in a cookie's id), so this holds before and after votes carry a user column.
_ANONYMOUS = "strpos(v.voter, ':') = 0"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _since(moment: datetime | None) -> datetime:
    if moment is None:
        return _EPOCH
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
_DRAW = """
INSERT INTO rate_limits AS r (key, tokens, updated) VALUES (%(key)s, %(burst)s - 1, %(now)s)
ON CONFLICT (key) DO UPDATE
SET tokens = least(%(burst)s, r.tokens + greatest(%(now)s - r.updated, 0) * %(rate)s) - 1,
    updated = %(now)s
WHERE least(%(burst)s, r.tokens + greatest(%(now)s - r.updated, 0) * %(rate)s) >= 1
RETURNING tokens
"""


class VoteRows:
    """Votes, buckets and job rows."""

    _db: Database

    # -- votes ----------------------------------------------------------------------------
    def add_vote(self, paper_id: str, voter: str, network: str | None = None) -> bool:
        """Record an anonymous voter's upvote (``network``: the digest of the voter's
        network, for the audit); False when the paper is unknown or already upvoted.
        (Members vote through the user store, counted apart.)"""
        with self._db.transaction() as conn:
            row = conn.execute(
                "INSERT INTO votes (paper, voter, network) SELECT key, %s, %s FROM papers "
                "WHERE id = %s ON CONFLICT DO NOTHING RETURNING paper",
                (voter, network, paper_id)).fetchone()
            if row is None:
                return False
            conn.execute("UPDATE papers SET votes_here = votes_here + 1 WHERE key = %s",
                         (row[0],))
            return True

    def remove_vote(self, paper_id: str, voter: str) -> bool:
        """Withdraw a voter's upvote; False when there was none."""
        with self._db.transaction() as conn:
            row = conn.execute(
                "DELETE FROM votes WHERE voter = %s AND user_id IS NULL AND paper = "
                "(SELECT key FROM papers WHERE id = %s) RETURNING paper",
                (voter, paper_id)).fetchone()
            if row is None:
                return False
            conn.execute("UPDATE papers SET votes_here = votes_here - 1 WHERE key = %s",
                         (row[0],))
            return True

    def voted(self, paper_ids: Sequence[str], voter: str) -> set[str]:
        rows = self._db.rows(
            "SELECT p.id FROM papers p JOIN votes v ON v.paper = p.key "
            "WHERE v.voter = %s AND v.user_id IS NULL AND p.id = ANY(%s)",
            (voter, list(paper_ids)))
        return {str(r[0]) for r in rows}

    def vote_count(self) -> int:
        row = self._db.one("SELECT count(*) FROM votes")
        return int(row[0]) if row else 0

    def vote_drift(self) -> int:
        """Papers whose counted votes differ from their vote rows (0 when all agree)."""
        row = self._db.one(
            "SELECT count(*) FROM papers p LEFT JOIN (SELECT paper, count(*) AS n, "
            "count(user_id) AS members FROM votes GROUP BY paper) v ON v.paper = p.key "
            "WHERE p.votes_here <> coalesce(v.n, 0) "
            "OR p.votes_members <> coalesce(v.members, 0)")
        return int(row[0]) if row else 0

    def vote_records(self, paper_ids: Sequence[str]) -> list[VoteRecord]:
        """Every anonymous vote on these papers with its time and network digest."""
        rows = self._db.rows(
            "SELECT p.id, v.voter, v.created, v.network FROM votes v JOIN papers p "
            "ON p.key = v.paper WHERE p.id = ANY(%s) AND v.user_id IS NULL",
            (list(paper_ids),))
        return sorted((VoteRecord(str(r[0]), str(r[1]), r[2], r[3]) for r in rows),
                      key=lambda v: (v.paper_id, v.voter))

    def import_votes(self, votes: Sequence[VoteRecord]) -> int:
        """Anonymous votes copied from another library, counted on their papers in the
        same statement; one already here takes the record's time and network."""
        if not votes:
            return 0
        counted = self._db.rows(
            "WITH cast_ AS (INSERT INTO votes AS v (paper, voter, created, network) "
            "SELECT p.key, x.voter, x.created, x.network FROM unnest(%s::text[], %s::text[], "
            "%s::timestamptz[], %s::text[]) AS x(paper_id, voter, created, network) "
            "JOIN papers p ON p.id = x.paper_id ON CONFLICT (paper, voter) DO UPDATE "
            "SET created = excluded.created, network = excluded.network "
            "WHERE v.user_id IS NULL RETURNING v.paper, (v.xmax = 0) AS new), "
            "added AS (SELECT paper, count(*) AS n FROM cast_ WHERE new GROUP BY paper) "
            "UPDATE papers p SET votes_here = p.votes_here + a.n FROM added a "
            "WHERE p.key = a.paper RETURNING a.n",
            ([v.paper_id for v in votes], [v.voter for v in votes], [v.cast for v in votes],
             [v.network for v in votes]))
        return sum(int(r[0]) for r in counted)

    def kept_vote_records(self) -> list[VoteRecord]:
        """The anonymous votes kept for papers their source deleted."""
        rows = self._db.rows("SELECT paper_id, voter, created, network FROM kept_votes "
                             "WHERE user_id IS NULL")
        return sorted((VoteRecord(str(r[0]), str(r[1]), r[2], r[3]) for r in rows),
                      key=lambda v: (v.paper_id, v.voter))

    def import_kept_votes(self, votes: Sequence[VoteRecord]) -> int:
        """Keep anonymous votes for removed papers (idempotent); how many were new."""
        if not votes:
            return 0
        return len(self._db.rows(
            "INSERT INTO kept_votes (paper_id, voter, created, network) SELECT * FROM "
            "unnest(%s::text[], %s::text[], %s::timestamptz[], %s::text[]) "
            "ON CONFLICT DO NOTHING RETURNING 1",
            ([v.paper_id for v in votes], [v.voter for v in votes], [v.cast for v in votes],
             [v.network for v in votes])))

    # -- the ledger's audit ----------------------------------------------------------------
    def vote_ledger(self, since: datetime | None = None) -> list[LedgerVote]:
        """Every anonymous vote cast at or after ``since`` (all when None), oldest first."""
        rows = self._db.rows(
            "SELECT p.id, v.voter, v.network, v.created, p.published FROM votes v "
            f"JOIN papers p ON p.key = v.paper WHERE {_ANONYMOUS} AND v.created >= %s "
            "ORDER BY v.created", (_since(since),))
        return [LedgerVote(str(r[0]), str(r[1]), r[2], r[3], r[4]) for r in rows]

    def remove_votes(self, *, networks: Sequence[str] = (), voters: Sequence[str] = (),
                     since: datetime | None = None) -> int:
        """Withdraw, in one transaction, every anonymous vote cast at or after ``since``
        from one of ``networks`` (digests) or by one of ``voters``, taking each off its
        paper's count; how many were removed."""
        with self._db.transaction() as conn:
            counts = conn.execute(
                f"WITH gone AS (DELETE FROM votes v WHERE {_ANONYMOUS} AND v.created >= %s "
                "AND (v.network = ANY(%s) OR v.voter = ANY(%s)) RETURNING v.paper) "
                "SELECT paper, count(*) FROM gone GROUP BY paper",
                (_since(since), list(networks), list(voters))).fetchall()
            conn.execute(
                "UPDATE papers p SET votes_here = p.votes_here - g.n FROM unnest("
                "%s::bigint[], %s::int[]) AS g(paper, n) WHERE p.key = g.paper",
                ([int(r[0]) for r in counts], [int(r[1]) for r in counts]))
        return sum(int(r[1]) for r in counts)

    # -- rate limits ----------------------------------------------------------------------
    def take_token(self, key: str, burst: int, per_minute: float) -> float:
        """Take a token from ``key``'s bucket: 0.0 when taken, else the seconds until one
        is free."""
        burst = max(int(burst), 1)
        rate = max(per_minute, 1e-9) / 60.0
        clock = time.time()
        args = {"key": key, "burst": float(burst), "now": clock, "rate": rate}
        with self._db.transaction() as conn:
            taken = conn.execute(_DRAW, args).fetchone()
            if taken is not None:
                if random.random() < 1 / 256:  # now and then, drop idle buckets
                    conn.execute("DELETE FROM rate_limits WHERE updated < %s",
                                 (clock - 86_400,))
                return 0.0
            row = conn.execute("SELECT tokens, updated FROM rate_limits WHERE key = %s",
                               (key,)).fetchone()
        level = min(float(burst), row[0] + max(clock - row[1], 0.0) * rate) if row else 0.0
        return max((1.0 - level) / rate, 0.0)

    # -- jobs -----------------------------------------------------------------------------
    def save_job(self, job: JobState) -> None:
        data: dict[str, Any] = asdict(job)
        for name in _DATES:
            value = data[name]
            data[name] = value.isoformat() if isinstance(value, datetime) else None
        with self._db.transaction() as conn:
            conn.execute("INSERT INTO jobs (name, state) VALUES (%s, %s::jsonb) "
                         "ON CONFLICT (name) DO UPDATE SET state = excluded.state",
                         (job.name, json.dumps(data)))

    def jobs(self) -> list[JobState]:
        states = []
        for (data,) in self._db.rows("SELECT state FROM jobs ORDER BY name"):
            for name in _DATES:
                data[name] = datetime.fromisoformat(data[name]) if data.get(name) else None
            states.append(JobState(**data))
        return states
