"""The lexical index: BM25 over title and abstract in tantivy, with filters inside the engine.

The index is derived data: :meth:`LexicalIndex.sync` replays the catalog's changes since
the last change it includes (kept in ``applied_seq``), and ``papersift reindex`` rebuilds
it from scratch. Documents are keyed by the catalog's integer row id.

Scoring choices were made by evaluation on SciFact (nDCG@10): one field holding title and
abstract, English stop words removed and Porter-stemmed (0.686 measured here) beats
separate fields with equal weights (0.666) and a 2x title boost (0.620). Queries lose their
request phrasing (:mod:`papersift.phrasing`) and a fuller stop list
(:mod:`papersift.stopwords`) than the index's: on requests such as "What articles exist
which deal with ...?" that recovers most of what the phrasing cost, and removing the fuller
list from the indexed text as well measured no better (``benchmarks/verbose.py``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import tantivy

from papersift.catalog import Catalog, Change
from papersift.papers import Paper
from papersift.phrasing import strip_request
from papersift.ranking import Filters, Hits, ParsedQuery, parse_query
from papersift.stopwords import STOPWORDS

__all__ = ["LexicalIndex", "analyzer"]

_ANALYZER = "papersift_en"
_SCHEMA_VERSION = "1"


def analyzer(*, query: bool = False) -> tantivy.TextAnalyzer:
    """The text analysis of the index (and of quoted phrases): lower-cased, folded, Lucene's
    English stop words removed, stemmed. ``query=True``: the same with the fuller stop list
    of :mod:`papersift.stopwords`, for a query's free text."""
    stop = (tantivy.Filter.custom_stopword(sorted(STOPWORDS)) if query
            else tantivy.Filter.stopword("english"))
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(40))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .filter(stop)
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


def _names_analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("rowid", indexed=True, fast=True)
    builder.add_text_field("body", tokenizer_name=_ANALYZER, index_option="position")
    builder.add_text_field("authors", tokenizer_name="names", index_option="position")
    builder.add_text_field("category", tokenizer_name="raw", index_option="basic")
    builder.add_date_field("published", indexed=True, fast=True)
    return builder.build()


def _phrase(words: list[str]) -> list[str | tuple[int, str]]:
    return list(words)


def _as_datetime(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


class LexicalIndex:
    """BM25 search over a library's papers, kept under ``<library>/lexical``."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self._open()

    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        version_file = self.directory / "papersift-schema"
        if version_file.exists() and version_file.read_text().strip() != _SCHEMA_VERSION:
            shutil.rmtree(self.directory)  # derived data: rebuilt from the catalog below
            self.directory.mkdir(parents=True)
        self.schema = _schema()
        self.index = tantivy.Index(self.schema, path=str(self.directory), reuse=True)
        self.index.register_tokenizer(_ANALYZER, analyzer())
        self.index.register_tokenizer("names", _names_analyzer())
        version_file.write_text(_SCHEMA_VERSION)
        self._analyzer = analyzer()
        self._query_analyzer = analyzer(query=True)
        self._names = _names_analyzer()

    @property
    def applied_seq(self) -> int:
        """The last catalog change this index includes."""
        path = self.directory / "applied-seq"
        return int(path.read_text()) if path.exists() else 0

    def _set_applied_seq(self, seq: int) -> None:
        tmp = self.directory / "applied-seq.tmp"
        tmp.write_text(str(seq))
        tmp.replace(self.directory / "applied-seq")

    # -- writing --------------------------------------------------------------------------
    def sync(self, catalog: Catalog, *, on_progress: Iterable[int] | None = None) -> int:
        """Bring the index up to the catalog's latest change; returns documents written."""
        applied, target = self.applied_seq, catalog.seq
        if applied >= target:
            return 0
        writer = self.index.writer(heap_size=128_000_000, num_threads=1)
        written = 0
        for batch in catalog.changes_since(applied):
            written += self._apply(writer, batch)
        writer.commit()
        writer.wait_merging_threads()
        self._set_applied_seq(target)
        self.index.reload()
        return written

    def _apply(self, writer: tantivy.IndexWriter, changes: list[Change]) -> int:
        for change in changes:
            writer.delete_documents_by_term("rowid", change.rowid)
            if change.paper is not None:
                writer.add_document(self._document(change.rowid, change.paper))
        return len(changes)

    def _document(self, rowid: int, paper: Paper) -> tantivy.Document:
        doc = tantivy.Document()
        doc.add_unsigned("rowid", rowid)
        doc.add_text("body", f"{paper.title}\n{paper.abstract}")
        for name in paper.authors:
            doc.add_text("authors", name)
        for category in paper.categories:
            doc.add_text("category", category)
        if paper.published:
            doc.add_date("published", _as_datetime(paper.published))
        return doc

    def rebuild(self, catalog: Catalog) -> int:
        """Drop the index and build it again from the catalog."""
        shutil.rmtree(self.directory, ignore_errors=True)
        self._open()
        return self.sync(catalog)

    # -- searching ------------------------------------------------------------------------
    def terms(self, text: str) -> list[str]:
        """The index terms of a text, as the index sees them."""
        return list(self._analyzer.analyze(text))

    def query_terms(self, text: str) -> list[str]:
        """The terms a query's free text is searched with: request phrasing and the fuller
        stop list removed (see the module docstring)."""
        return list(self._query_analyzer.analyze(strip_request(text)))

    def _text_query(self, parsed: ParsedQuery) -> tantivy.Query | None:
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        terms = list(dict.fromkeys(self.query_terms(parsed.text)))
        if terms:
            should = [
                (tantivy.Occur.Should, tantivy.Query.term_query(self.schema, "body", t))
                for t in terms
            ]
            clauses.append((tantivy.Occur.Must, tantivy.Query.boolean_query(should)))
        for phrase in parsed.phrases:
            words = self.terms(phrase)
            if len(words) == 1:
                query = tantivy.Query.term_query(self.schema, "body", words[0])
            elif words:
                query = tantivy.Query.phrase_query(self.schema, "body", _phrase(words))
            else:
                continue
            clauses.append((tantivy.Occur.Must, query))
        if not clauses:
            return None
        for word in parsed.excluded:
            for term in self.terms(word):
                query = tantivy.Query.term_query(self.schema, "body", term)
                clauses.append((tantivy.Occur.MustNot, query))
        return tantivy.Query.boolean_query(clauses)

    def filter_query(self, filters: Filters) -> tantivy.Query | None:
        """The filters as one non-scoring tantivy query (None when there are none)."""
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        if filters.since or filters.until:
            clauses.append((tantivy.Occur.Must, tantivy.Query.range_query(
                self.schema, "published", tantivy.FieldType.Date,
                _as_datetime(filters.since) if filters.since else None,
                _as_datetime(filters.until) if filters.until else None,
            )))
        if filters.categories:
            clauses.append((tantivy.Occur.Must, tantivy.Query.term_set_query(
                self.schema, "category", list(filters.categories)
            )))
        for author in filters.authors:
            words = list(self._names.analyze(author))
            if len(words) > 1:
                query = tantivy.Query.phrase_query(self.schema, "authors", _phrase(words))
            elif words:
                query = tantivy.Query.term_query(self.schema, "authors", words[0])
            else:
                continue
            clauses.append((tantivy.Occur.Must, query))
        if not clauses:
            return None
        return tantivy.Query.const_score_query(tantivy.Query.boolean_query(clauses), 0.0)

    def search(self, query: str, *, filters: Filters | None = None, limit: int = 10,
               syntax: bool = True) -> Hits:
        """BM25 top ``limit`` for any query text; filters run inside the engine.

        With ``syntax=False`` quotes and minus signs are plain text (for searching with a
        paper's own title and abstract).
        """
        parsed = parse_query(query) if syntax else ParsedQuery(text=query)
        text = self._text_query(parsed)
        if text is None:
            return Hits.empty()
        filtered = self.filter_query(filters) if filters else None
        if filtered is not None:
            text = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, text), (tantivy.Occur.Must, filtered)]
            )
        return self._collect(text, limit)

    def score(self, query: str, rowids: np.ndarray) -> np.ndarray:
        """BM25 scores of the given papers for a query (0 where no term matches)."""
        scores = np.zeros(len(rowids), dtype=np.float32)
        text = self._text_query(parse_query(query))
        if text is None or len(rowids) == 0:
            return scores
        only = tantivy.Query.term_set_query(self.schema, "rowid", [int(r) for r in rowids])
        query_ = tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, text), (tantivy.Occur.Must, only)]
        )
        hits = self._collect(query_, len(rowids))
        position = {int(r): i for i, r in enumerate(rowids.tolist())}
        for rowid, value in zip(hits.ids.tolist(), hits.scores.tolist(), strict=True):
            scores[position[rowid]] = value
        return scores

    def matching(self, filters: Filters) -> np.ndarray:
        """Row ids of every paper that passes the filters (for the dense rankers)."""
        query = self.filter_query(filters)
        if query is None:
            return np.empty(0, dtype=np.int64)
        searcher = self.index.searcher()
        return self._collect(query, max(searcher.num_docs, 1)).ids

    def _collect(self, query: tantivy.Query, limit: int) -> Hits:
        searcher = self.index.searcher()
        hits = searcher.search(query, limit=max(limit, 1), count=False).hits
        if not hits:
            return Hits.empty()
        ids = searcher.fast_field_values("rowid", [address for _, address in hits])
        return Hits(
            np.asarray(ids, dtype=np.int64),
            np.asarray([score for score, _ in hits], dtype=np.float32),
        )

    @property
    def count(self) -> int:
        return int(self.index.searcher().num_docs)
