"""Copying a library between backends (``papersift migrate SRC DEST``): everything it
holds, so that a library moved to PostgreSQL (or back) loses nothing:

- papers, their anonymous votes with each vote's time and network digest (the vote
  ledger's audit, ``papersift votes --suspicious``, finds the same on the copy), the
  aliases papers are known by (their normalised titles are written with them);
- people (accounts, API tokens, member votes, ratings, collections, community
  preferences) and the votes, ratings and saves kept for papers their source deleted, so a
  paper that returns to the copy gets them back;
- the community's rows (digest subscriptions with their saved searches, the digest outbox,
  submissions, comments), each under its own id: unsubscribe links and Message-IDs sign
  and name subscription ids, replies name their parent comment;
- meta: settings, the site secret (cookies and the ledger's network digests are keyed by
  it), the digest key (unsubscribe links), harvest resumption points (a harvest on the copy
  continues where the source's stopped);
- vectors and which papers they are current for.

Not copied: sessions and sign-in links (short-lived secrets of one site; a person signs in
again at the copy), rate-limit buckets and lock holders (moment-to-moment state of the
source's processes), and job states: they describe runs of the source's processes (a
``running`` embed with a pid on some host would look stalled or alive on the copy), and
the copy's own work to do is computed from its data (``unembedded`` reads the copied
embedding state).

The copy goes through the protocols only, so any backend copies to any other (a directory
to PostgreSQL and back, or between two servers). Paper keys differ between backends; every
row travels by paper id, and a person's rows by their address. It is resumable: papers go
in change order with the source's cursor written in the same transaction as each batch
(``migrate:<source>`` in the target's meta), and every other import is idempotent (votes
and aliases by their keys, a person whole in one transaction by
:meth:`~papersift.backends.base.UserStore.import_person`, community rows by id), and
vectors already current in the target are skipped. At the end the counts of each kind are
compared, and a difference is an error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from papersift.backends.base import Backend
from papersift.copy_records import (
    COMMUNITY_KINDS,
    CommunityKind,
    CommunityRecord,
    SubscriptionRecord,
)
from papersift.errors import LibraryError

__all__ = ["CopyReport", "MigrationError", "copy_library"]

#: ``progress(task, done, total)``, as elsewhere.
Progress = Callable[[str, int, int | None], None]
#: Meta keys a copy leaves behind: each backend's own bookkeeping (``mean_length``: the
#: PostgreSQL ranker's document statistics, counted again by the target's own ranker).
_OWN_META = ("seq", "schema", "lexical_seq", "lexeme_seq", "mean_length")
#: Each kind of community row as the progress and the final counts name it.
_LABELS: dict[CommunityKind, str] = {"subscriptions": "digest subscriptions",
                                     "outbox": "digests in the outbox",
                                     "submissions": "submissions", "comments": "comments"}


class MigrationError(LibraryError):
    """The copy finished with counts that differ (the message says which)."""


@dataclass
class CopyReport:
    """What a copy wrote, and the counts compared at the end."""

    papers: int = 0
    votes: int = 0
    people: int = 0
    vectors: dict[str, int] = field(default_factory=dict)
    meta: int = 0
    aliases: int = 0
    kept_votes: int = 0
    community: dict[str, int] = field(default_factory=dict)
    counts: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def matches(self) -> bool:
        return all(a == b for a, b in self.counts.values())


def copy_library(source: Backend, target: Backend, *, progress: Progress,
                 batch: int = 2000) -> CopyReport:
    """Copy everything a library holds from ``source`` to ``target`` (see the module)."""
    report = CopyReport()
    _copy_papers(source, target, report, progress, batch)
    _copy_aliases(source, target, report, progress, batch)
    _copy_people(source, target, report, progress)
    report.kept_votes = target.store.import_kept_votes(source.store.kept_vote_records())
    _copy_community(source, target, report, progress, batch)
    _copy_meta(source, target, report)
    for name, dim in source.stored_encoders().items():
        _copy_vectors(source, target, name, dim, report, progress)
    target.lexical.sync(target.store)
    _compare(source, target, report)
    return report


def _cursor_key(source: Backend) -> str:
    return f"migrate:{source.location}"


def _copy_papers(source: Backend, target: Backend, report: CopyReport, progress: Progress,
                 batch: int) -> None:
    """Papers in change order, each batch with its votes; the cursor kept with the batch."""
    mark = target.store.get_meta(_cursor_key(source))
    seq, key = (int(x) for x in mark.split(",")) if mark else (0, 0)
    total = len(source.store)
    done = total - source.store.count_after(seq, key)
    while True:
        changes = source.store.written_after(seq, key, limit=batch)
        if not changes:
            break
        papers = [c.paper for c in changes if c.paper is not None]
        seq, key = changes[-1].seq, changes[-1].key
        target.store.upsert(papers, state={_cursor_key(source): f"{seq},{key}"})
        report.votes += target.store.import_votes(
            source.store.vote_records([p.id for p in papers]))
        report.papers += len(papers)
        done += len(papers)
        progress("papers", done, total)


def _alias_pages(backend: Backend, batch: int) -> Iterator[list[tuple[str, str]]]:
    """The aliases of a library, ``batch`` at a time, in the store's order."""
    after = ""
    while pairs := backend.store.alias_records(after, limit=batch):
        yield pairs
        after = pairs[-1][0]


def _community_pages(backend: Backend, kind: CommunityKind,
                     batch: int) -> Iterator[list[CommunityRecord]]:
    """A library's community rows of one kind, ``batch`` at a time, by id."""
    after = 0
    while records := backend.community.export_records(kind, after=after, limit=batch):
        yield records
        after = records[-1].id


def _alias_count(backend: Backend) -> int:
    return sum(len(pairs) for pairs in _alias_pages(backend, 5000))


def _copy_aliases(source: Backend, target: Backend, report: CopyReport, progress: Progress,
                  batch: int) -> None:
    """The other ids papers are known by (after the papers they name)."""
    done = 0
    for pairs in _alias_pages(source, batch):
        report.aliases += target.store.import_aliases(pairs)
        done += len(pairs)
        progress("aliases", done, None)


def _copy_community(source: Backend, target: Backend, report: CopyReport,
                    progress: Progress, batch: int) -> None:
    """Subscriptions, the outbox, submissions and comments by id (after the people they
    name), page by page in id order: a comment's parent is copied before it."""
    for kind in COMMUNITY_KINDS:
        done = 0
        for records in _community_pages(source, kind, batch):
            report.community[kind] = (report.community.get(kind, 0)
                                      + target.community.import_records(records))
            done += len(records)
            progress(_LABELS[kind], done, None)


def _community_counts(backend: Backend, batch: int = 500) -> dict[str, int]:
    counts: dict[str, int] = {"saved searches": 0}
    for kind in COMMUNITY_KINDS:
        counts[_LABELS[kind]] = 0
        for records in _community_pages(backend, kind, batch):
            counts[_LABELS[kind]] += len(records)
            counts["saved searches"] += sum(len(r.searches) for r in records
                                            if isinstance(r, SubscriptionRecord))
    return counts


def _copy_people(source: Backend, target: Backend, report: CopyReport,
                 progress: Progress) -> None:
    """Each person whole (after the papers their votes, ratings and saves refer to)."""
    people = source.users.list_users()
    for done, user in enumerate(people, start=1):
        record = source.users.export_person(user.id)
        if record is not None:  # None: removed while the copy ran
            target.users.import_person(record)
            report.people += 1
        progress("people", done, len(people))


def _people_counts(backend: Backend) -> dict[str, int]:
    """How many people a library has, and of each kind of thing of theirs."""
    counts = {"people": 0}
    for user in backend.users.list_users():
        record = backend.users.export_person(user.id)
        if record is None:
            continue
        counts["people"] += 1
        for what, n in record.counts.items():
            counts[what] = counts.get(what, 0) + n
    return counts


def _copy_meta(source: Backend, target: Backend, report: CopyReport) -> None:
    for key, value in source.store.meta_items("").items():
        if key in _OWN_META or key.startswith("migrate:"):
            continue
        if target.store.get_meta(key) != value:
            target.store.set_meta(key, value)
            report.meta += 1


def _copy_vectors(source: Backend, target: Backend, name: str, dim: int, report: CopyReport,
                  progress: Progress, chunk: int = 4096) -> None:
    """The current vectors of one encoder, recorded as current for the target's papers."""
    have = source.dense(name, dim)
    into = target.dense(name, dim)
    keys = source.store.current_keys(name)
    already = set(target.store.ids_of(target.store.current_keys(name).tolist()).values())
    written = 0
    for start in range(0, len(keys), chunk):
        part = keys[start : start + chunk]
        ids = source.store.ids_of(part.tolist())
        wanted = np.asarray([k for k in part.tolist() if ids.get(k) not in already],
                            dtype=np.int64)
        if len(wanted):
            found, vectors = have.vectors(wanted)
            target_keys = target.store.keys_of([ids[k] for k in wanted[found].tolist()])
            picked = [i for i, k in enumerate(wanted[found].tolist()) if ids[k] in target_keys]
            mapped = np.asarray([target_keys[ids[int(wanted[found][i])]] for i in picked],
                                dtype=np.int64)
            if len(mapped):
                into.write(mapped, vectors[picked])
                seqs = target.store.seqs_of(mapped.tolist())
                target.store.mark_embedded(name, [(k, seqs[k]) for k in mapped.tolist()])
                written += len(mapped)
        progress(f"vectors {name}", min(start + chunk, len(keys)), len(keys))
    report.vectors[name] = written
    if target.store.count_unembedded(name) == 0:
        into.mark_applied(target.store.seq)
    into.prepare()


def _networked(backend: Backend) -> int:
    """Anonymous votes whose network the ledger knows (what the audit groups by)."""
    return sum(1 for vote in backend.store.vote_ledger() if vote.network)


def _compare(source: Backend, target: Backend, report: CopyReport) -> None:
    """Counts on both sides: papers, votes, aliases, people and their things, community
    rows of each kind, current vectors per encoder."""
    report.counts["papers"] = (len(source.store), len(target.store))
    report.counts["votes"] = (source.store.stats().votes, target.store.stats().votes)
    report.counts["votes with a network"] = (_networked(source), _networked(target))
    report.counts["kept votes"] = (len(source.store.kept_vote_records()),
                                   len(target.store.kept_vote_records()))
    report.counts["aliases"] = (_alias_count(source), _alias_count(target))
    theirs = _people_counts(target)
    for what, n in _people_counts(source).items():
        report.counts[what] = (n, theirs.get(what, 0))
    theirs = _community_counts(target)
    for what, n in _community_counts(source).items():
        report.counts[what] = (n, theirs[what])
    for name in source.stored_encoders():
        report.counts[f"vectors {name}"] = (len(source.store.current_keys(name)),
                                            len(target.store.current_keys(name)))
    if not report.matches:
        wrong = ", ".join(f"{what}: {a:,} in the source, {b:,} in the target"
                          for what, (a, b) in report.counts.items() if a != b)
        raise MigrationError(f"the copy differs from its source ({wrong}); run the same "
                             "command again to resume, or copy into an empty library")
