"""``Library``: the public entry point, owning every behaviour over a backend's stores.

The CLI, the web pages, the JSON API and the feeds call only this class (and the value
types it returns); they never reach a store. Searching, fusing, listings, votes in every
result, similar papers, the arXiv-API paging and the background jobs all live here.

>>> import papersift
>>> lib = papersift.open("papersift-data")                       # doctest: +SKIP
>>> lib.ingest(["papers.jsonl.gz"])                              # doctest: +SKIP
>>> [r.paper.title for r in lib.search("matryoshka embeddings")]  # doctest: +SKIP
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from papersift import backends, feeds, identity, periods, searching, sources
from papersift.arxiv_query import ArxivRequest
from papersift.backends.base import DenseRanker, LexicalQuery, LockBusy, StoreStats, UpsertCounts
from papersift.curation import Curation
from papersift.embedding import Progress, embed_pending, finish, pending
from papersift.encoders import DEFAULT_SPEC, Encoder, load_encoder
from papersift.ingest_progress import RecordCounter
from papersift.jobs import JobContext, JobRunner, JobState
from papersift.mail import MailSettings
from papersift.migration import CopyReport, copy_library
from papersift.papers import Paper, Rejected, normalize_id
from papersift.query import Filters, Mode, SearchRequest
from papersift.ray_embedding import RayOptions, embed_with_ray
from papersift.search_results import SearchResults, Vote
from papersift.settings import Settings
from papersift.vector_files import VectorFileError, read_vectors, write_vectors
from papersift.vote_ledger import VoteLedger

__all__ = [
    "DEFAULT_PATH",
    "ImportReport",
    "IngestReport",
    "InputError",
    "Library",
    "LibraryStats",
    "LibraryStatus",
    "Progress",
    "RayOptions",
    "describe_vector_index",
    "open",
]

DEFAULT_PATH = "papersift-data"
#: Seconds between lexical index commits during a long ingest (so searches see new papers).
SYNC_EVERY = 5.0


def _no_progress(task: str, done: int, total: int | None) -> None:
    return None


@dataclass(frozen=True, slots=True)
class InputError:
    """An input that could not be read on, and how many of its records were stored first."""

    message: str
    stored_before: int = 0

    def __str__(self) -> str:
        if not self.stored_before:
            return self.message
        return f"{self.message} ({self.stored_before:,} papers read before this were stored)"


@dataclass
class IngestReport:
    """What an ingest did: store counts, every record it could not read, and every input
    that failed as a whole (after the records read before the failure were stored)."""

    counts: UpsertCounts = field(default_factory=UpsertCounts)
    rejected: list[Rejected] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    read: int = 0
    #: records that were a paper stored under another id (merged into it: one paper)
    merged: int = 0

    @property
    def ok(self) -> bool:
        return not self.rejected and not self.errors

    def summary(self) -> str:
        c = self.counts
        text = (f"{c.added} added, {c.updated} updated, {c.unchanged} unchanged, "
                f"{len(self.rejected)} rejected")
        if self.merged:
            text += (f", {self.merged} merged into the same paper from another source "
                     "(one record per paper)")
        if self.errors:
            text += f", {len(self.errors)} input(s) failed"
        return text


@dataclass
class ImportReport:
    """What a vector import did: vectors stored, and those for papers this library lacks."""

    total: int = 0
    stored: int = 0
    unknown: int = 0


@dataclass(frozen=True, slots=True)
class LibraryStatus:
    """Whether each part of the library is ready, and what its jobs are doing."""

    papers: int
    lexical_ready: bool
    encoder: str
    embedded: int
    semantic_ready: bool
    jobs: tuple[JobState, ...] = ()

    @property
    def coverage(self) -> float:
        """Share of the papers that have a vector (1.0 for an empty library)."""
        return min(self.embedded / self.papers, 1.0) if self.papers else 1.0

    @property
    def embedding(self) -> JobState | None:
        return next((j for j in self.jobs if j.name == "embed"), None)


@dataclass(frozen=True, slots=True)
class LibraryStats:
    """What the library holds."""

    location: str
    store: StoreStats
    lexical_documents: int
    encoder: str
    vectors: int
    jobs: tuple[JobState, ...] = ()


class Library(Curation, VoteLedger):
    """Papers in a backend (a directory today), searched, listed, voted on and embedded;
    people's accounts, ratings, collections and feeds (the :class:`Members` part); digests,
    submissions and comments (the :class:`Curation` part, which extends it)."""

    @staticmethod
    def exists(location: str | os.PathLike[str]) -> bool:
        """Whether a library is at ``location``: a directory, or a database URL (whose
        database holds a library); nothing is created."""
        return backends.exists(location)

    def __init__(
        self,
        path: str | os.PathLike[str] = DEFAULT_PATH,
        *,
        encoder: Encoder | str | None = None,
        settings: Settings | None = None,
        mail: MailSettings | None = None,
    ) -> None:
        self.settings = settings or Settings()
        self.mail_settings = mail or MailSettings.from_env()
        self.backend = backends.open(path, settings=self.settings)
        self.location = self.backend.location
        self.path = Path(self.location)
        self.store = self.backend.store
        self.lexical = self.backend.lexical
        self._encoder_arg = encoder
        self._encoder = encoder if isinstance(encoder, Encoder) else None
        self._encoder_lock = threading.Lock()
        self._queries: OrderedDict[str, np.ndarray] = OrderedDict()
        self._counted: tuple[float, int] = (-1e9, 0)
        self._word_terms: dict[str, frozenset[str]] = {}
        self.jobs = JobRunner(self.store)
        self._catch_up()
        self._upgrade_embedding_state()

    # -- the encoder and its vectors ------------------------------------------------------
    @property
    def encoder_spec(self) -> str:
        """The encoder this library embeds with (remembered in the store)."""
        if isinstance(self._encoder_arg, str):
            return self._encoder_arg
        if self._encoder_arg is not None:
            return self._encoder_arg.name
        return self.store.get_meta("encoder") or DEFAULT_SPEC

    @property
    def encoder(self) -> Encoder:
        """The encoder (loaded on first use: the first query or the first embedding)."""
        with self._encoder_lock:
            if self._encoder is None:
                self._encoder = load_encoder(self.encoder_spec)
            return self._encoder

    def _identity(self) -> tuple[str, int] | None:
        """The stored vectors' encoder name and dimension, known without loading a model."""
        if self._encoder is not None:
            return self._encoder.name, self._encoder.dim
        if isinstance(self._encoder_arg, str):
            return None  # a named encoder: its vectors are found once it is loaded
        name, dim = self.store.get_meta("encoder_name"), self.store.get_meta("encoder_dim")
        if name and dim:
            return name, int(dim)
        stored = self.backend.stored_encoders()
        return next(iter(stored.items())) if len(stored) == 1 else None

    @property
    def dense(self) -> DenseRanker:
        """The dense ranker of this library's encoder."""
        identity = self._identity()
        if identity is None:
            identity = (self.encoder.name, self.encoder.dim)
        return self.backend.dense(*identity)

    def has_vectors(self) -> bool:
        """Whether any vectors are stored for this library's encoder (without loading it)."""
        identity = self._identity()
        return identity is not None and self.backend.dense(*identity).count > 0

    def semantic_ready(self) -> bool:
        """Semantic search covers the library once every paper has its vector."""
        return self.has_vectors() and self.dense.applied_seq >= self.store.seq

    def _remember_encoder(self, encoder: Encoder) -> None:
        self.store.set_meta("encoder", self.encoder_spec)
        self.store.set_meta("encoder_name", encoder.name)
        self.store.set_meta("encoder_dim", str(encoder.dim))

    # -- jobs -----------------------------------------------------------------------------
    def _embed_work(self, ctx: JobContext, progress: Progress | None = None,
                    ray: RayOptions | None = None) -> int:
        encoder = self.encoder
        self._remember_encoder(encoder)
        if ray is not None:  # the same job, encoding on a Ray cluster (Ray imported only now)
            return embed_with_ray(self.store, self.dense, encoder, ctx, options=ray,
                                  batch_size=self.settings.embed_batch, progress=progress)
        return embed_pending(self.store, self.dense, encoder, ctx,
                             batch_size=self.settings.embed_batch, progress=progress)

    def embed(self, *, progress: Progress = _no_progress,
              stop: threading.Event | None = None, wait: bool = True,
              ray: RayOptions | None = None) -> int:
        """Embed every paper that has no current vector, here and now; resumable at any
        point. Another process embedding the same library is waited for (or, with
        ``wait=False``, :class:`~papersift.backends.base.LockBusy` is raised). With ``ray``,
        the encoding runs on a Ray cluster's workers (``papersift[ray]``), same vectors."""
        done = [0]

        def work(ctx: JobContext) -> None:
            done[0] = self._embed_work(ctx, progress, ray)

        self.jobs.run("embed", work, wait=wait, stop=stop)
        return done[0]

    def embedding_pending(self) -> bool:
        """Whether papers wait for vectors (or removed papers' vectors wait to be dropped)."""
        identity = self._identity()
        if identity is None:
            return len(self.store) > 0
        dense = self.backend.dense(*identity)
        return pending(self.store, dense) > 0 or dense.applied_seq < self.store.seq

    def start_jobs(self, *, embed: bool = True, every: float = 10.0) -> None:
        """Keep the background work going in this process while it serves: embedding
        whatever other processes add. Only one process runs a job at a time; the others
        see its state (:meth:`status`)."""
        if embed:
            self.jobs.keep("embed", self._embed_job, wanted=self.embedding_pending,
                           every=every)

    def _embed_job(self, ctx: JobContext) -> None:
        self._embed_work(ctx)

    def import_vectors(self, path: str | os.PathLike[str], *, encoder: str | None = None,
                       progress: Progress = _no_progress, wait: bool = True) -> ImportReport:
        """Store vectors from a file (``papersift vectors export``, or an ``.npy`` pair) for
        the papers this library has; refused when another encoder made them."""
        found = read_vectors(path, encoder=encoder)
        mine = self.encoder
        if found.encoder != mine.name or found.dim != mine.dim:
            raise VectorFileError(
                f"{path} holds vectors of {found.dim} dimensions made by {found.encoder!r}; "
                f"this library embeds with {mine.name!r} ({mine.dim} dimensions), so they "
                "are not comparable with its queries: run `papersift embed` instead")
        report = ImportReport(total=len(found.ids))

        def work(ctx: JobContext) -> None:
            self._remember_encoder(mine)
            dense, target = self.dense, self.store.seq
            for ids, vectors in found.chunks(4096):
                keys = self.store.keys_of([str(i) for i in ids])
                known = [i for i, paper_id in enumerate(ids) if str(paper_id) in keys]
                picked = np.asarray([keys[str(ids[i])] for i in known], dtype=np.int64)
                if len(picked):
                    dense.write(picked, np.asarray(vectors[known], dtype=np.float16))
                    seqs = self.store.seqs_of(picked.tolist())
                    self.store.mark_embedded(dense.name, [(k, seqs[k]) for k in
                                                          picked.tolist() if k in seqs])
                report.stored += len(picked)
                report.unknown += len(ids) - len(picked)
                done = report.stored + report.unknown
                ctx.progress(done, report.total, unit="vectors", message=f"import {path}")
                progress("import", done, report.total)
            if pending(self.store, dense) == 0:
                finish(self.store, dense, target)
            ctx.progress(report.total, report.total, message="building the vector index")
            dense.prepare()

        self.jobs.run("embed", work, wait=wait)
        return report

    def export_vectors(self, path: str | os.PathLike[str], *,
                       progress: Progress = _no_progress) -> int:
        """Write the current vectors of every paper, with their ids and encoder, to an
        ``.npz`` file; returns how many were written."""
        if not self.has_vectors():
            raise VectorFileError("this library has no vectors yet: run `papersift embed`")
        dense = self.dense
        keys = self.store.current_keys(dense.name)
        ids: list[str] = []
        parts: list[np.ndarray] = []
        for start in range(0, len(keys), 8192):
            chunk = keys[start : start + 8192]
            found, vectors = dense.vectors(chunk)
            names = self.store.ids_of(chunk[found].tolist())
            ids.extend(names[k] for k in chunk[found].tolist())
            parts.append(vectors.astype(np.float16))
            progress("export", min(start + 8192, len(keys)), len(keys))
        write_vectors(path, ids, np.concatenate(parts) if parts else
                      np.empty((0, dense.dim), np.float16), dense.name)
        return len(ids)

    def _upgrade_embedding_state(self) -> None:
        """Libraries embedded before schema 4 kept a cursor file beside their vectors:
        record the papers it covered as embedded, once, then drop it."""
        identity = self._identity()
        dense = self.backend.dense(*identity) if identity else None
        cursor = getattr(dense, "legacy_cursor", lambda: None)()
        if dense is None or cursor is None:
            return
        lock = self.store.lock("job-embed")
        try:
            lock.acquire(wait=False)
        except LockBusy:
            return
        try:
            vector_keys = dense.store.ids().tolist()  # type: ignore[attr-defined]
            seqs = self.store.seqs_of(vector_keys)
            done = [(k, s) for k, s in seqs.items() if (s, k) <= cursor]
            self.store.mark_embedded(dense.name, done)
            dense.drop_legacy_cursor()  # type: ignore[attr-defined]
        finally:
            lock.release()

    def build_index(self, *, recall: float | None = None, adaptor: bool = False,
                    memory: float | None = None) -> str:
        """Rebuild the vector index, tuned to ``recall``@10 (with ``adaptor``, on the codes of
        a Matryoshka adaptor trained on the vectors first; with ``memory``, within that many
        bytes of RAM per vector); returns what was built. A ``memory`` budget no code fits
        raises ``ValueError``, before anything is replaced."""
        dense = self.dense
        count = dense.count
        if count < self.settings.exact_below:
            return (f"exact search: {count:,} vectors, under the "
                    f"{self.settings.exact_below:,} from which the adaptive index is used")
        rebuild = getattr(dense, "rebuild_index", None)
        if rebuild is None:
            return "this backend tunes its own index"
        rebuild(recall, adaptor=adaptor, memory=memory)
        return describe_vector_index(self.vector_index())

    # -- state ----------------------------------------------------------------------------
    def status(self) -> LibraryStatus:
        """What a user needs to know about the library's readiness."""
        papers = len(self.store)
        embedded = self.dense.count if self.has_vectors() else 0
        return LibraryStatus(
            papers=papers, lexical_ready=self.lexical.applied_seq >= self.store.seq,
            encoder=self.encoder_spec, embedded=embedded,
            semantic_ready=papers > 0 and self.semantic_ready(),
            jobs=tuple(self.store.jobs()),
        )

    def stats(self) -> LibraryStats:
        return LibraryStats(
            location=self.location, store=self.store.stats(),
            lexical_documents=self.lexical.count, encoder=self.encoder_spec,
            vectors=self.dense.count if self.has_vectors() else 0,
            jobs=tuple(self.store.jobs()),
        )

    def vector_index(self) -> dict[str, Any]:
        """What searches the vectors, read from the saved index without opening it (see
        ``SemanticIndex.index_summary``; :func:`describe_vector_index` says it in words);
        empty where the backend tunes its own index or none is saved yet."""
        summary = getattr(self.dense, "index_summary", None)
        return summary() if summary is not None and self.has_vectors() else {}

    def check(self) -> list[str]:
        """Problems found when comparing the stores with the catalog (empty: all agree).

        Lag (an index behind the catalog) is reported with both repairs: rerunning the
        interrupted command, or rebuilding.
        """
        problems: list[str] = []
        papers, seq = len(self.store), self.store.seq
        if self.lexical.applied_seq < seq:
            problems.append(
                f"lexical index is behind the catalog (change {self.lexical.applied_seq} of "
                f"{seq}); rerun the interrupted `papersift ingest` (or `papersift reindex`)")
        elif self.lexical.count != papers:
            problems.append(f"lexical index holds {self.lexical.count} papers, the catalog "
                            f"{papers}; run `papersift reindex`")
        if self.has_vectors():
            dense = self.dense
            problems += [f"vectors: {p}" for p in dense.verify()]
            waiting = pending(self.store, dense)
            if waiting:
                problems.append(f"{waiting} papers have no current vector; run "
                                "`papersift embed`")
            elif dense.count != papers:
                problems.append(f"{dense.count} vectors for {papers} papers; run "
                                "`papersift embed`")
        drift = getattr(self.store, "vote_drift", None)
        if drift is not None and drift():
            problems.append(f"{drift()} papers' vote counts disagree with their votes")
        return problems

    def copy_to(self, target: Library, *, progress: Progress = _no_progress) -> CopyReport:
        """Copy this library's papers, votes, meta and vectors into ``target`` (any backend);
        resumable, and checked by counts at the end (:mod:`papersift.migration`)."""
        with target._writing(lambda holder: None):
            return copy_library(self.backend, target.backend, progress=progress)

    def site_secret(self) -> str:
        """A random key kept in the store (made on first use) for signing cookies when no
        secret is configured; the same for every worker process of this library."""
        return self.store.set_meta_once("site_secret", secrets.token_urlsafe(32))

    def close(self) -> None:
        """Stop this process's jobs (their work so far is kept) and close the stores."""
        self.jobs.close()
        self.backend.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing --------------------------------------------------------------------------
    def add(self, papers: Iterable[Paper | Rejected], *, progress: Progress = _no_progress,
            sync: bool = True, wait: Callable[[str], None] | None = None,
            state: Mapping[str, str] | None = None) -> IngestReport:
        """Upsert papers in batches (each its own transaction), then update the indexes.

        Rejected records are collected in the report; they never stop the good ones. One
        writer at a time: another ingest is waited for (``wait`` is told who holds it).
        Whatever stops the input (an error, Ctrl-C), the papers read so far are stored and
        searchable when this returns or raises.
        """
        report = IngestReport()
        with self._writing(wait):
            self._add_into(report, papers, progress, sync, state)
        return report

    def _writing(self, wait: Callable[[str], None] | None) -> _Held:
        lock = self.store.lock("ingest")
        try:
            lock.acquire(wait=False)
        except LockBusy as busy:
            if wait is None:
                raise
            wait(busy.holder or "another process")
            lock.acquire(wait=True)
        return _Held(lock)

    def _add_into(self, report: IngestReport, papers: Iterable[Paper | Rejected],
                  progress: Progress, sync: bool, state: Mapping[str, str] | None) -> None:
        batch: list[Paper] = []
        synced = time.monotonic()
        try:
            for record in papers:
                if isinstance(record, Rejected):
                    report.rejected.append(record)
                    continue
                batch.append(record)
                report.read += 1
                if report.read % 500 == 0:
                    progress("read", report.read, None)
                if len(batch) >= self.settings.ingest_batch:
                    self._upsert(report, batch)
                    batch.clear()
                    progress("store", report.counts.stored, None)
                    if sync and time.monotonic() - synced >= SYNC_EVERY:
                        self.lexical.sync(self.store)
                        synced = time.monotonic()
        finally:
            self._upsert(report, batch, state)
            progress("read", report.read, None)
            if sync:
                self.sync(progress=progress)

    def _upsert(self, report: IngestReport, batch: list[Paper],
                state: Mapping[str, str] | None = None) -> None:
        """Write a batch, one record per paper (:mod:`papersift.identity`)."""
        counts, merged = identity.upsert(self.store, batch, state=state)
        report.counts += counts
        report.merged += merged

    def ingest(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        fmt: str | None = None,
        fields: Mapping[str, str] | None = None,
        progress: Progress = _no_progress,
        wait: Callable[[str], None] | None = None,
    ) -> IngestReport:
        """Read files, folders or ``-`` (stdin) in any supported format and add them.

        An input that cannot be read on (:class:`papersift.sources.SourceError`) is named in
        ``report.errors``; the records read from it before that are stored, and the other
        inputs are read as usual.
        """
        report = IngestReport()
        counter = RecordCounter(paths, progress)  # "read" counts records, with a total
        with self._writing(wait):
            for path in paths:
                before = report.read
                try:
                    records = sources.read(str(path), fmt=fmt, fields=fields,
                                           on_bytes=counter.reading(path))
                    self._add_into(report, records, counter, True, None)
                except sources.SourceError as error:
                    report.errors.append(InputError(str(error), report.read - before))
                counter.read_all(path)
        return report

    def sync(self, *, progress: Progress = _no_progress) -> None:
        """Bring the lexical index up to the store's latest change (repairs a crash)."""
        waiting = self.store.count_since(self.lexical.applied_seq)
        progress("index", 0, waiting)
        self.lexical.sync(self.store)
        progress("index", waiting, waiting)

    def _catch_up(self) -> None:
        """At open: index what an interrupted run left behind, unless a writer is busy."""
        if self.lexical.applied_seq >= self.store.seq:
            return
        lock = self.store.lock("ingest")
        try:
            lock.acquire(wait=False)
        except LockBusy:
            return  # the running ingest indexes its own papers
        try:
            self.lexical.sync(self.store)
        finally:
            lock.release()

    def reindex(self) -> int:
        """Rebuild the lexical index from the store."""
        with self._writing(lambda holder: None):
            return self.lexical.rebuild(self.store)

    def remove(self, ids: Iterable[str], *, keep_votes: bool = False) -> int:
        """Remove papers by id; ``keep_votes`` (a source deleted them) keeps their votes for
        when they return."""
        with self._writing(lambda holder: None):
            removed = self.store.remove(ids, keep_votes=keep_votes)
            self.lexical.sync(self.store)
        return removed

    # -- reading --------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.store)

    def paper_count(self) -> int:
        """How many papers, counted at most every two seconds (every page shows it)."""
        now = time.monotonic()
        if now - self._counted[0] > 2.0:
            self._counted = (now, len(self.store))
        return self._counted[1]

    def get(self, paper_id: str) -> Paper | None:
        """A paper by id, in any spelling :func:`papersift.papers.normalize_id` accepts."""
        return self.store.get(paper_id) or self.store.get(normalize_id(paper_id)[0])

    def search(self, query: str, *, mode: Mode = "auto", filters: Filters | None = None,
               limit: int = 10, offset: int = 0) -> SearchResults:
        """The best papers for a query, with why each matched (see :meth:`search_request`)."""
        return self.search_request(SearchRequest(query, mode, filters or Filters(), limit,
                                                 offset))

    def search_request(self, request: SearchRequest) -> SearchResults:
        """Run one search. ``auto`` is hybrid once any paper has a vector (papers without
        one ranked by their words), lexical before;
        filters run inside each ranker, so a filtered search returns as many results as
        exist; the query text is analysed once. ``results.mode`` is the mode used."""
        return searching.run(self, request)

    def similar(self, paper_id: str, *, limit: int = 10,
                filters: Filters | None = None) -> SearchResults:
        """Papers nearest in meaning to a paper (by words until it is embedded, and the
        results say so)."""
        return searching.similar(self, paper_id, limit=limit, filters=filters)

    def query_vector(self, text: str) -> np.ndarray:
        """The encoder's vector of a query (the last few hundred are remembered)."""
        found = self._queries.get(text)
        if found is None:
            found = self.encoder.encode([text])[0]
            self._queries[text] = found
            while len(self._queries) > 512:
                self._queries.popitem(last=False)
        return found

    def analyze(self, text: str, *, syntax: bool = True) -> LexicalQuery:
        """The query as the lexical ranker reads it (its terms are what pages highlight)."""
        return self.lexical.analyze(text, syntax=syntax)

    def terms(self, text: str) -> list[str]:
        """The lexical index terms of any text (for highlighting)."""
        return self.lexical.terms(text)

    def word_terms(self, word: str) -> frozenset[str]:
        """The index terms of one word (remembered: explanations repeat words a lot)."""
        found = self._word_terms.get(word)
        if found is None:
            found = frozenset(self.lexical.terms(word))
            if len(self._word_terms) < 100_000:
                self._word_terms[word] = found
        return found

    # -- listings -------------------------------------------------------------------------
    def daily(self, day: date | None = None, *, limit: int = 50, offset: int = 0) -> feeds.Daily:
        """The papers listed on ``day`` (the newest day when None), most upvoted first."""
        return feeds.daily(self.store, day, limit=limit, offset=offset)

    def period(self, kind: periods.Kind, day: date | None = None, *, limit: int = 50,
               offset: int = 0) -> periods.PeriodListing:
        """The papers listed in the day, ISO week or month holding ``day`` (the newest
        listing day when None), most upvoted first."""
        return periods.listing(self.store, kind, day, limit=limit, offset=offset)

    def trending(self, *, days: int = 7, limit: int = 20,
                 today: date | None = None) -> feeds.Trending:
        """Upvoted papers of the last ``days`` days by votes decayed with age; a window with
        none is widened until it has some, and ``notice`` says so."""
        return periods.trending(self.store, days=days, limit=limit, today=today)

    def category(self, name: str, *, limit: int = 20, offset: int = 0) -> feeds.Listing:
        """Papers listed in a category, newest first."""
        return feeds.by_category(self.store, name, limit=limit, offset=offset)

    def author(self, name: str, *, limit: int = 20, offset: int = 0) -> feeds.Listing:
        """Papers by an author of this full name (any case, accents), newest first."""
        return feeds.by_author(self.store, name, limit=limit, offset=offset)

    def digest(self, since: date, *, limit: int = 10, until: date | None = None) -> list[Paper]:
        """The most upvoted papers published since ``since``."""
        return feeds.digest(self.store, since, limit=limit, until=until)

    def arxiv_query(self, request: ArxivRequest, *, window: int = 1000) -> tuple[int, list[Paper]]:
        """Answer an arXiv API call: ``(totalResults, the requested page of papers)``."""
        return searching.arxiv(self, request, window=window)

    # -- votes ----------------------------------------------------------------------------
    def upvote(self, paper_id: str, voter: str, network: str | None = None) -> Vote:
        """Cast ``voter``'s upvote, or withdraw it when it was cast (a toggle). Anonymous
        voters only (a cookie's id); members vote with :meth:`member_upvote`. ``network``:
        the client's address or network, kept in the ledger as a tag (:meth:`network_tag`)."""
        if ":" in voter:
            raise ValueError("a voter id has no ':' (those name members' votes)")
        paper = self.get(paper_id)
        if paper is None:
            raise KeyError(paper_id)
        tag = self.network_tag(network) if network else None
        voted = (self.store.add_vote(paper.id, voter, tag)
                 or not self.store.remove_vote(paper.id, voter))
        now = self.store.get(paper.id) or paper
        return Vote(paper.id, now.total_upvotes, voted)

    def voted(self, paper_ids: Sequence[str], voter: str | None) -> set[str]:
        """Which of these papers ``voter`` has upvoted."""
        return self.store.voted(paper_ids, voter) if voter else set()

    def take_token(self, key: str, burst: int, per_minute: float) -> float:
        """A rate limit shared by every process: 0.0 when allowed, else seconds to wait."""
        return self.store.take_token(key, burst, per_minute)


def describe_vector_index(summary: Mapping[str, Any]) -> str:
    """A :meth:`Library.vector_index` summary in words, as ``papersift stats`` and
    ``papersift index`` print it."""
    if summary.get("kind") == "exact":
        return f"exact search (the adaptive index from {summary.get('below', 0):,} vectors)"
    words = [f"{summary.get('kind')} over {summary.get('vectors') or 0:,} vectors",
             f"{summary.get('prefix_dims')}-dim {summary.get('code_bits')}-bit codes"
             + (" of a Matryoshka adaptor" if summary.get("adaptor") else ""),
             f"{summary.get('lists_probed')} lists probed"
             + (" by the median query (each query its own number)"
                if summary.get("probing") == "per query" else "")
             + f", {summary.get('reranked')} re-ranked"]
    if summary.get("ram_bytes_per_vector") is not None:
        words.append(f"{summary['ram_bytes_per_vector']:.0f} bytes per vector in RAM"
                     + (f" (budget {summary['memory_budget']:g})"
                        if summary.get("memory_budget") else ""))
    if summary.get("recall_target") is not None:
        words.append(f"tuned for recall@10 {summary['recall_target']}")
    return ", ".join(words)


class _Held:
    """A lock held for a ``with`` block."""

    def __init__(self, lock: backends.Lock) -> None:
        self.lock = lock

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def open(path: str | os.PathLike[str] = DEFAULT_PATH, **kwargs: object) -> Library:
    """Open (or create) the library at ``path``."""
    return Library(path, **kwargs)  # type: ignore[arg-type]
