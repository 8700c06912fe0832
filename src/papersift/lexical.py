"""The lexical index: BM25 over title and abstract in tantivy, with filters inside the engine.

The index is derived data: :meth:`LexicalIndex.sync` replays the catalog's changes since
the last change it includes (kept in ``applied_seq``), and ``papersift reindex`` rebuilds
it from scratch. Documents are keyed by the catalog's integer row id.

Scoring choices were made by evaluation on SciFact (nDCG@10): one field holding title and
abstract, English stop words removed and Porter-stemmed (0.686 measured here) beats
separate fields with equal weights (0.666) and a 2x title boost (0.620). A query phrased as
a question or request (:func:`papersift.phrasing.is_request`) loses its request phrasing
(:mod:`papersift.phrasing`) and a fuller stop list (:mod:`papersift.stopwords`) than the
index's: on requests such as "What articles exist which deal with ...?" that recovers most
of what the phrasing cost, and removing the fuller list from the indexed text as well
measured no better. Keywords and statements keep the index's analysis: in a statement the
function words are the author's own choice, and the fuller list on every query measured no
better on plain queries (``benchmarks/verbose.py``, BENCHMARKS.md).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import tantivy

from papersift.backends.base import Change, LexicalQuery, PaperStore
from papersift.backends.filelock import FileLock
from papersift.papers import Paper
from papersift.phrasing import is_request, strip_request
from papersift.query import Filters, ParsedQuery, name_key, parse_query
from papersift.ranking import Hits
from papersift.stopwords import STOPWORDS

__all__ = ["LexicalIndex", "analyzer"]

_ANALYZER = "papersift_en"
#: 2: author names indexed as :func:`papersift.query.name_key` writes them; paper ids.
_SCHEMA_VERSION = "2"
#: Seconds between checks for commits made by other processes.
_RELOAD_EVERY = 0.5


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
    # Names arrive already normalised by ``name_key`` (the same function the catalog uses),
    # so the author filter means the same thing in both engines.
    return tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_unsigned_field("rowid", indexed=True, fast=True)
    builder.add_text_field("id", tokenizer_name="raw", index_option="basic")
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
            with self._writer_lock():
                if version_file.read_text().strip() != _SCHEMA_VERSION:
                    # derived data: rebuilt from the catalog by the next sync
                    for child in self.directory.iterdir():
                        if child.name != ".writer-lock.lock":
                            shutil.rmtree(child) if child.is_dir() else child.unlink()
        self.schema = _schema()
        self.index = tantivy.Index(self.schema, path=str(self.directory), reuse=True)
        self.index.register_tokenizer(_ANALYZER, analyzer())
        self.index.register_tokenizer("names", _names_analyzer())
        version_file.write_text(_SCHEMA_VERSION)
        self._analyzer = analyzer()
        self._query_analyzer = analyzer(query=True)
        self._reloaded = time.monotonic()

    def _writer_lock(self) -> FileLock:
        return FileLock(self.directory, ".writer-lock")

    def refresh(self) -> None:
        """See commits other processes made (checked at most every half second)."""
        now = time.monotonic()
        if now - self._reloaded >= _RELOAD_EVERY:
            self._reloaded = now
            self.index.reload()

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
    def sync(self, store: PaperStore) -> int:
        """Bring the index up to the store's latest change; returns documents written.

        One process writes at a time (tantivy allows one writer): another one waits for it,
        then writes whatever is still missing.
        """
        if self.applied_seq >= store.seq:
            return 0
        with self._writer_lock():
            applied, target = self.applied_seq, store.seq
            if applied >= target:
                self.index.reload()
                return 0
            writer = self.index.writer(heap_size=128_000_000, num_threads=1)
            # a process killed while committing leaves files no commit lists; the next
            # commit may need one of their names (FileAlreadyExists on a .del file)
            writer.garbage_collect_files()
            written = 0
            for batch in store.changes_since(applied):
                written += self._apply(writer, batch)
            writer.commit()
            writer.wait_merging_threads()
            self._set_applied_seq(target)
        self.index.reload()
        return written

    def _apply(self, writer: tantivy.IndexWriter, changes: list[Change]) -> int:
        # Delete by query: tantivy-py's delete_documents_by_term builds a signed term for a
        # Python int, which never matches the unsigned key field, so replayed or updated
        # papers were indexed twice (found while testing crash repair).
        keys = [change.key for change in changes]
        writer.delete_documents_by_query(tantivy.Query.term_set_query(self.schema, "rowid", keys))
        written = 0
        for change in changes:
            if change.paper is not None:
                writer.add_document(self._document(change.key, change.paper))
                written += 1
        return written

    def _document(self, rowid: int, paper: Paper) -> tantivy.Document:
        doc = tantivy.Document()
        doc.add_unsigned("rowid", rowid)
        doc.add_text("id", paper.id)
        doc.add_text("body", f"{paper.title}\n{paper.abstract}")
        for name in paper.authors:
            doc.add_text("authors", name_key(name))
        for category in paper.categories:
            doc.add_text("category", category)
        if paper.published:
            doc.add_date("published", _as_datetime(paper.published))
        return doc

    def rebuild(self, store: PaperStore) -> int:
        """Drop the index and build it again from the store."""
        with self._writer_lock():
            for child in self.directory.iterdir():
                if child.name != ".writer-lock.lock":
                    shutil.rmtree(child) if child.is_dir() else child.unlink()
        self._open()
        return self.sync(store)

    # -- searching ------------------------------------------------------------------------
    def terms(self, text: str) -> list[str]:
        """The index terms of a text, as the index sees them."""
        return list(self._analyzer.analyze(text))

    def query_terms(self, text: str) -> list[str]:
        """The terms a query's free text is searched with: for a question or request, its
        request phrasing and the fuller stop list removed; otherwise the index's analysis
        (see the module docstring)."""
        if not is_request(text):
            return self.terms(text)
        return list(self._query_analyzer.analyze(strip_request(text)))

    def analyze(self, text: str, *, syntax: bool = True) -> LexicalQuery:
        """Parse and analyse a query once; ``syntax=False`` reads quotes and minus signs as
        plain text (for searching with a paper's own title and abstract)."""
        parsed = parse_query(text) if syntax else ParsedQuery(text=text)
        terms = [*self.query_terms(parsed.text),
                 *(t for p in parsed.phrases for t in self.terms(p))]
        return LexicalQuery(text=text, parsed=parsed, terms=tuple(dict.fromkeys(terms)))

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
        must = tantivy.Occur.Must
        clauses: list[tuple[tantivy.Occur, tantivy.Query]] = []
        if filters.since or filters.until:
            clauses.append((must, tantivy.Query.range_query(
                self.schema, "published", tantivy.FieldType.Date,
                _as_datetime(filters.since) if filters.since else None,
                _as_datetime(filters.until) if filters.until else None,
            )))
        if filters.categories:
            clauses.append((must, tantivy.Query.term_set_query(
                self.schema, "category", list(filters.categories))))
        if filters.ids:
            clauses.append((must, tantivy.Query.term_set_query(
                self.schema, "id", list(filters.ids))))
        for key in filters.author_keys:
            words = key.split()
            if not words:  # names nobody (query.name_matches)
                clauses.append((must, tantivy.Query.term_set_query(self.schema, "id", [])))
            elif len(words) == 1:
                clauses.append((must, tantivy.Query.term_query(self.schema, "authors", words[0])))
            else:
                clauses.append((must, tantivy.Query.phrase_query(
                    self.schema, "authors", _phrase(words))))
        if not clauses:
            return None
        return tantivy.Query.const_score_query(tantivy.Query.boolean_query(clauses), 0.0)

    def search(self, query: LexicalQuery, *, filters: Filters | None = None,
               limit: int = 10) -> Hits:
        """BM25 top ``limit`` for an analysed query; filters run inside the engine."""
        self.refresh()
        text = self._text_query(query.parsed)
        if text is None:
            return Hits.empty()
        filtered = self.filter_query(filters) if filters else None
        if filtered is not None:
            text = tantivy.Query.boolean_query(
                [(tantivy.Occur.Must, text), (tantivy.Occur.Must, filtered)]
            )
        return self._collect(text, limit)

    def score(self, query: LexicalQuery, keys: np.ndarray) -> np.ndarray:
        """BM25 scores of the given papers for a query (0 where no term matches)."""
        scores = np.zeros(len(keys), dtype=np.float32)
        text = self._text_query(query.parsed)
        if text is None or len(keys) == 0:
            return scores
        only = tantivy.Query.const_score_query(  # restricts without adding to the score
            tantivy.Query.term_set_query(self.schema, "rowid", [int(r) for r in keys]), 0.0)
        combined = tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, text), (tantivy.Occur.Must, only)]
        )
        hits = self._collect(combined, len(keys))
        position = {int(r): i for i, r in enumerate(keys.tolist())}
        for key, value in zip(hits.ids.tolist(), hits.scores.tolist(), strict=True):
            scores[position[key]] = value
        return scores

    def document_frequencies(self, terms: Sequence[str]) -> tuple[list[int], int]:
        """How many papers hold each index term, and how many papers there are."""
        self.refresh()
        searcher = self.index.searcher()
        return [int(searcher.doc_freq("body", t)) for t in terms], int(searcher.num_docs)

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
        self.refresh()
        return int(self.index.searcher().num_docs)
