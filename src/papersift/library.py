"""``Library``: the public entry point tying the catalog, the lexical index and the vectors.

>>> import papersift
>>> lib = papersift.open("papersift-data")                       # doctest: +SKIP
>>> lib.ingest(["papers.jsonl.gz"])                              # doctest: +SKIP
>>> [r.paper.title for r in lib.search("matryoshka embeddings")]  # doctest: +SKIP
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from papersift import sources
from papersift.catalog import Catalog, UpsertCounts
from papersift.encoders import DEFAULT_SPEC, Encoder, load_encoder
from papersift.lexical import LexicalIndex
from papersift.papers import Paper, Rejected, normalize_id
from papersift.ranking import (
    Filters,
    Hits,
    SearchResult,
    reciprocal_rank_fusion,
    standardized_fusion,
)
from papersift.semantic import SemanticIndex, one_blas_thread
from papersift.settings import Settings
from papersift.vectors import VectorIndex

__all__ = ["DEFAULT_PATH", "IngestReport", "Library", "Progress", "open"]

DEFAULT_PATH = "papersift-data"
Mode = Literal["auto", "lexical", "semantic", "hybrid"]
#: ``progress(task, done, total)``: called as long work advances; total may be unknown.
Progress = Callable[[str, int, int | None], None]


def _no_progress(task: str, done: int, total: int | None) -> None:
    return None


@dataclass
class IngestReport:
    """What an ingest did: catalog counts, and every record it could not read."""

    counts: UpsertCounts = field(default_factory=UpsertCounts)
    rejected: list[Rejected] = field(default_factory=list)
    read: int = 0

    @property
    def ok(self) -> bool:
        return not self.rejected

    def summary(self) -> str:
        c = self.counts
        return (
            f"{c.added} added, {c.updated} updated, {c.unchanged} unchanged, "
            f"{len(self.rejected)} rejected"
        )


class Library:
    """A directory holding ``catalog.sqlite``, ``lexical/`` and ``vectors/``."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        encoder: Encoder | str | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.settings = settings or Settings()
        self.catalog = Catalog(self.path / "catalog.sqlite")
        self.lexical = LexicalIndex(self.path / "lexical")
        self._encoder = encoder
        self._semantic: SemanticIndex | None = None
        self._embedder: threading.Thread | None = None
        self._stop = threading.Event()

    # -- the semantic side ----------------------------------------------------------------
    @property
    def encoder_spec(self) -> str:
        """The encoder this library embeds with (remembered in the catalog)."""
        if isinstance(self._encoder, str):
            return self._encoder
        if self._encoder is not None:
            return self._encoder.name
        return self.catalog.get_meta("encoder") or DEFAULT_SPEC

    @property
    def semantic(self) -> SemanticIndex:
        """The vectors of this library's encoder (loads the encoder on first use)."""
        if self._semantic is None:
            encoder = self._encoder
            if not isinstance(encoder, Encoder):
                encoder = load_encoder(self.encoder_spec)
            self._semantic = SemanticIndex(
                self.path / "vectors" / encoder.name, encoder,
                exact_below=self.settings.exact_below, recall=self.settings.recall_target,
            )
        return self._semantic

    def has_vectors(self) -> bool:
        """Whether any vectors are stored for this library's encoder (without loading it)."""
        if self._semantic is not None:
            return self._semantic.count > 0
        folder = self.path / "vectors"
        return folder.is_dir() and any(folder.iterdir())

    def semantic_ready(self) -> bool:
        """Semantic search is on once every paper has its vector."""
        return self.has_vectors() and self.semantic.current(self.catalog)

    def embed(self, *, progress: Progress = _no_progress,
              stop: threading.Event | None = None) -> int:
        """Embed every paper that has no current vector; resumable at any point."""
        self.catalog.set_meta("encoder", self.encoder_spec)
        return self.semantic.sync(
            self.catalog, batch_size=self.settings.embed_batch, progress=progress, stop=stop
        )

    def build_index(self, *, recall: float | None = None,
                    adaptor: bool = False) -> VectorIndex | None:
        """Rebuild the adaptive vector index, tuned to ``recall``@10 (with ``adaptor``, on
        the codes of a Matryoshka adaptor trained first); None while the library is small
        enough for exact search (fewer than ``settings.exact_below`` vectors)."""
        if self.semantic.count < self.settings.exact_below:
            return None
        return self.semantic.rebuild_index(recall, adaptor=adaptor)

    def embed_in_background(self) -> threading.Thread:
        """Embed what is missing in a daemon thread while this library keeps answering.

        Lexical search works throughout; ``auto`` search turns hybrid when it finishes.
        The thread writes through its own catalog connection. ``stop_embedding()`` ends it
        at the next batch; the work done so far is kept.
        """
        if self._embedder is not None and self._embedder.is_alive():
            return self._embedder
        self.catalog.set_meta("encoder", self.encoder_spec)
        semantic = self.semantic
        self._stop = threading.Event()

        def work() -> None:
            catalog = Catalog(self.catalog.path)
            try:
                semantic.sync(catalog, batch_size=self.settings.embed_batch, stop=self._stop)
            finally:
                catalog.close()

        self._embedder = threading.Thread(target=work, name="papersift-embed", daemon=True)
        self._embedder.start()
        return self._embedder

    def stop_embedding(self) -> None:
        if self._embedder is not None:
            self._stop.set()
            self._embedder.join()

    def status(self) -> dict[str, object]:
        """What a user needs to know about the library's readiness."""
        papers = len(self.catalog)
        embedded = self.semantic.count if self.has_vectors() else 0
        return {
            "papers": papers,
            "lexical_ready": self.lexical.applied_seq >= self.catalog.seq,
            "encoder": self.encoder_spec,
            "embedded": embedded,
            "semantic_ready": papers > 0 and self.semantic_ready(),
            "embedding": self._embedder is not None and self._embedder.is_alive(),
        }

    def close(self) -> None:
        self.catalog.close()

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing --------------------------------------------------------------------------
    def add(self, papers: Iterable[Paper | Rejected], *, progress: Progress = _no_progress,
            sync: bool = True) -> IngestReport:
        """Upsert papers in batches (each its own transaction), then update the indexes.

        Rejected records are collected in the report; they never stop the good ones.
        """
        report = IngestReport()
        batch: list[Paper] = []
        for record in papers:
            if isinstance(record, Rejected):
                report.rejected.append(record)
                continue
            batch.append(record)
            report.read += 1
            if len(batch) >= self.settings.ingest_batch:
                report.counts += self.catalog.upsert(batch)
                batch.clear()
        report.counts += self.catalog.upsert(batch)
        if sync:
            self.sync(progress=progress)
        return report

    def ingest(
        self,
        paths: Sequence[str | os.PathLike[str]],
        *,
        fmt: str | None = None,
        fields: Mapping[str, str] | None = None,
        progress: Progress = _no_progress,
    ) -> IngestReport:
        """Read files, folders or ``-`` (stdin) in any supported format and add them.

        Raises :class:`papersift.sources.SourceError` for an input that cannot be read at
        all; papers read before it stay stored.
        """
        total = sources.total_bytes([str(p) for p in paths])
        done = 0

        def records() -> Iterable[Paper | Rejected]:
            nonlocal done
            for path in paths:
                start = done

                def on_bytes(n: int, start: int = start) -> None:
                    nonlocal done
                    done = start + n
                    progress("read", done, total)

                yield from sources.read(str(path), fmt=fmt, fields=fields, on_bytes=on_bytes)

        return self.add(records(), progress=progress)

    def sync(self, *, progress: Progress = _no_progress) -> None:
        """Bring every index up to the catalog's latest change (repairs an interrupted run)."""
        pending = self.catalog.count_since(self.lexical.applied_seq)
        progress("index", 0, pending)
        self.lexical.sync(self.catalog)
        progress("index", pending, pending)

    def reindex(self) -> int:
        """Rebuild the lexical index from the catalog."""
        return self.lexical.rebuild(self.catalog)

    def remove(self, ids: Iterable[str]) -> int:
        removed = self.catalog.remove(ids)
        self.sync()
        return removed

    # -- reading --------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.catalog)

    def get(self, paper_id: str) -> Paper | None:
        """A paper by id, in any spelling :func:`papersift.papers.normalize_id` accepts."""
        return self.catalog.get(paper_id) or self.catalog.get(normalize_id(paper_id)[0])

    def search(
        self,
        query: str,
        *,
        mode: Mode = "auto",
        filters: Filters | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[SearchResult]:
        """The best papers for a query, with why each matched.

        ``auto`` is hybrid once every paper is embedded, lexical before. Filters are applied
        inside each ranker, so a filtered search returns as many results as exist.
        """
        filters = filters or Filters()
        if mode == "auto":
            mode = "hybrid" if self.semantic_ready() else "lexical"
        depth = offset + limit
        if mode == "lexical":
            hits = self.lexical.search(query, filters=filters, limit=depth)
            return self._results(query, _slice(hits, offset, limit))
        allowed = self.lexical.matching(filters) if filters else None
        query_vector = self.semantic.encode_query(query)
        if mode == "semantic":
            dense = self.semantic.search_vector(query_vector, limit=depth, allowed=allowed)
            return self._results(query, _slice(dense, offset, limit), set(dense.ids.tolist()))
        pool = max(depth, self.settings.fusion_depth)
        lexical = self.lexical.search(query, filters=filters, limit=pool)
        dense = self.semantic.search_vector(query_vector, limit=pool, allowed=allowed)
        fused = self._fuse(query, query_vector, lexical, dense)
        return self._results(query, _slice(fused, offset, limit), set(dense.ids.tolist()))

    def _fuse(self, query: str, query_vector: np.ndarray, lexical: Hits, dense: Hits) -> Hits:
        """Score the union of both top lists by both rankers, then fuse the scores."""
        if self.settings.fusion == "rrf":
            return reciprocal_rank_fusion([lexical, dense], k=self.settings.rrf_k)
        pool = np.union1d(lexical.ids, dense.ids)
        bm25 = self.lexical.score(query, pool)
        cosine = np.zeros(len(pool), dtype=np.float32)
        found, vectors = self.semantic.vectors_of(pool)
        with one_blas_thread():
            cosine[found] = vectors @ query_vector
        if not found.all():  # a paper not embedded yet: as far as the farthest candidate
            cosine[~found] = cosine[found].min() if found.any() else 0.0
        return standardized_fusion(pool, [bm25, cosine])

    def _results(self, query: str, hits: Hits,
                 semantic: set[int] | None = None) -> list[SearchResult]:
        papers = self.catalog.by_rowids(hits.ids.tolist())
        terms = set(self.lexical.query_terms(query))
        results = []
        for rowid, score in zip(hits.ids.tolist(), hits.scores.tolist(), strict=True):
            paper = papers.get(rowid)
            if paper is not None:
                near = semantic is not None and rowid in semantic
                results.append(SearchResult(paper, float(score), self._why(paper, terms, near)))
        return results

    def _why(self, paper: Paper, terms: set[str], semantic: bool) -> tuple[str, ...]:
        why: list[str] = []
        in_title = [t for t in self.lexical.terms(paper.title) if t in terms]
        in_abstract = [t for t in self.lexical.terms(paper.abstract) if t in terms]
        if in_title:
            why.append("title terms: " + ", ".join(dict.fromkeys(in_title)))
        if in_abstract:
            why.append("abstract terms: " + ", ".join(dict.fromkeys(in_abstract)))
        if semantic:
            why.append("semantic: close in meaning")
        return tuple(why)

    def similar(self, paper_id: str, *, limit: int = 10,
                filters: Filters | None = None) -> list[SearchResult]:
        """Papers nearest in meaning to a paper (lexically nearest until it is embedded)."""
        paper = self.get(paper_id)
        rowid = self.catalog.rowid(paper.id) if paper else None
        if paper is None or rowid is None:
            return []
        vector = self.semantic.vector_of(rowid) if self.has_vectors() else None
        allowed = self.lexical.matching(filters) if filters else None
        if vector is not None:
            hits = self.semantic.search_vector(vector, limit=limit + 1, allowed=allowed)
        else:
            hits = self.lexical.search(f"{paper.title} {paper.abstract}", filters=filters,
                                       limit=limit + 1, syntax=False)
        keep = hits.ids != rowid
        hits = Hits(hits.ids[keep][:limit], hits.scores[keep][:limit])
        dense = set(hits.ids.tolist()) if vector is not None else None
        return self._results(paper.title, hits, dense)

    def check(self) -> list[str]:
        """Problems found when comparing the stores with the catalog (empty: all agree).

        Lag (an index behind the catalog) is reported too; ``papersift ingest`` or
        ``papersift embed`` repairs it by replaying the difference.
        """
        problems: list[str] = []
        papers, seq = len(self.catalog), self.catalog.seq
        if self.lexical.applied_seq < seq:
            applied = self.lexical.applied_seq
            problems.append(f"lexical index is behind the catalog (change {applied} of {seq}); "
                            "run `papersift reindex`")
        elif self.lexical.count != papers:
            problems.append(f"lexical index holds {self.lexical.count} papers, the catalog "
                            f"{papers}; run `papersift reindex`")
        if self.has_vectors():
            semantic = self.semantic
            problems += [f"vectors: {p}" for p in semantic.store.verify()]
            pending = semantic.pending(self.catalog)
            if pending:
                problems.append(f"{pending} papers have no current vector; run `papersift embed`")
            elif semantic.count != papers:
                problems.append(f"{semantic.count} vectors for {papers} papers; "
                                "run `papersift embed`")
        return problems

    def stats(self) -> dict[str, object]:
        info = self.catalog.stats()
        info["lexical_documents"] = self.lexical.count
        info["path"] = str(self.path)
        return info


def _slice(hits: Hits, offset: int, limit: int) -> Hits:
    return Hits(hits.ids[offset : offset + limit], hits.scores[offset : offset + limit])


def open(path: str | os.PathLike[str] = DEFAULT_PATH, **kwargs: object) -> Library:
    """Open (or create) the library at ``path``."""
    return Library(path, **kwargs)  # type: ignore[arg-type]
