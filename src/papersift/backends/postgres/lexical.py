"""The PostgreSQL lexical ranker: full-text search over each paper's weighted ``tsvector``.

Every paper row carries ``document``: its title (weight A) and abstract (weight B) through
the ``english`` configuration (Snowball stemming, English stop words), written with the row,
searched through a GIN index. A query is read as the embedded ranker reads it
(:func:`papersift.query.parse_query`): free words are alternatives (any may match, more
rank higher), "quoted phrases" must appear as phrases (``phraseto_tsquery``), -words must
not appear. Filters are part of the same SQL. Ranking has two stages:

1. ``ts_rank`` (term frequency weighted by field, title above abstract, divided by 1 + log
   of the document's length) orders the matching documents: PostgreSQL's own ranking, which
   has no inverse document frequency;
2. the first :data:`RERANKED` are ordered by BM25 computed in SQL from the same
   ``tsvector`` (term frequencies from its positions, the inverse document frequencies from
   ``lexemes``), the score the embedded ranker gives; any further results follow in
   ``ts_rank`` order, so a page never depends on how many results were asked for.

Measured on SciFact (nDCG@10, lexical mode; tantivy's BM25 0.686): ``ts_rank`` alone 0.575
with PostgreSQL's default weights, 0.616 with the abstract at 0.7 of the title (0.524 at
0.25), against 0.405 for cover density (``ts_rank_cd``, three times slower on long queries)
and 0.354 for normalisation by length; with the BM25 stage over the first 100, 0.677 (over
200, 0.685, for 50 ms more per search at 75k papers), and hybrid 0.7395 against the
embedded 0.7394.

PostgreSQL ranks every document a query matches, and free words are alternatives, so a
query of common words would rank most of the library (560 ms at 75k papers, measured).
The ranked set is bounded by document frequencies (``lexemes``, refreshed by :meth:`sync`
when the library has grown or changed by a fifth): the query's rarest words, as many as
keep their documents under :data:`CANDIDATES` together, choose the candidates, and the full
query ranks them. Documents holding only the query's common words are left out, as BM25
would rank them last; a query of common words only takes the documents holding all of
them, and of those only the first :data:`CANDIDATES` the index gives are ranked (the
scan stops there: "An Efficient and" holds one lexeme, ``effici``, in 18,115 of 75k
papers, and ranking all of them took 80 ms; 33 ms with the scan stopped). A library
whose words are all rarer than that is searched exactly.

A query phrased as a question or request is read as the embedded ranker reads it
(:func:`papersift.phrasing.is_request`): its request phrasing and the fuller stop list of
:mod:`papersift.stopwords` are removed before PostgreSQL analyses it, so "What articles
exist which deal with time sharing?" is searched for ``time`` and ``share`` on both backends.

``terms`` (highlighting, "why it matched") analyses text word by word, each word once per
process, so a page of results costs at most one round trip.
"""

from __future__ import annotations

import math
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from psycopg import sql

from papersift.backends.base import LexicalQuery, PaperStore
from papersift.backends.postgres.connections import Database
from papersift.backends.postgres.filters import filter_sql
from papersift.phrasing import is_request, strip_request
from papersift.query import Filters, ParsedQuery, parse_query
from papersift.ranking import Hits
from papersift.stopwords import STOPWORDS

__all__ = ["FullTextRanker", "Plan", "tsquery_literal"]

#: ``ts_rank`` weights of the D, C, B (abstract) and A (title) labels.
WEIGHTS = "{0.1, 0.2, 0.7, 1.0}"
#: ``ts_rank`` normalisation: 1 divides by 1 + log(document length).
NORMALIZATION = 1
#: Most free-text lexemes a query ranks by (a paper's whole text, when similar papers are
#: found by words, would otherwise rank each candidate against hundreds of terms); every
#: lexeme still chooses candidates.
MAX_TERMS = 48
#: Most documents the rarest words of a query may bring to be ranked (see the module). The
#: cost of a search is reading these documents: 2,000 against 5,000 halved it (SciFact
#: lexical 57 -> 28 ms a query, 400 arXiv titles at 75k papers 33 -> 18 ms p50) and left
#: quality where it was (SciFact lexical nDCG@10 0.6769 both, Recall@100 0.8689 -> 0.8672,
#: hybrid 0.7364 -> 0.7365; the titles' own paper at MRR@10 0.9936 both).
CANDIDATES = 2000
#: Documents ``ts_rank`` puts first that BM25 then orders (the final score).
RERANKED = 100
#: BM25's term-frequency saturation and length normalisation (tantivy's defaults).
BM25_K1, BM25_B = 1.2, 0.75
#: Share of the library changed since the document frequencies were counted that makes
#: :meth:`FullTextRanker.sync` count them again.
STATS_STALE = 0.2
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_ANALYZE = ("SELECT part.n, ARRAY(SELECT t.lexeme FROM unnest(to_tsvector('english', part.text)) "
            "AS t ORDER BY t.positions[1], t.lexeme) FROM unnest(%s::text[]) "
            "WITH ORDINALITY AS part(text, n)")


def tsquery_literal(lexemes: list[str], operator: str = "|") -> str:
    """Lexemes as a tsquery of alternatives (or, with ``&``, all of them), quoted so none
    is read as syntax."""
    quoted = ["'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'" for lexeme in lexemes]
    return f" {operator} ".join(quoted)


@dataclass(frozen=True, slots=True)
class Plan:
    """How one parsed query runs: its free words' lexemes (ranked), the tsquery choosing the
    candidates from them, and the phrases that have lexemes."""

    free: tuple[str, ...]
    candidates: str
    phrases: tuple[str, ...]
    #: every lexeme the final score counts (free words and phrase words), with its BM25
    #: inverse document frequency
    scored: tuple[str, ...] = ()
    idf: tuple[float, ...] = ()
    #: the documents' mean length (distinct lexemes) when the frequencies were counted
    mean_length: float = 1.0
    #: even the rarest free lexeme is too common: rank only the first CANDIDATES matches
    capped: bool = False


def free_text(text: str) -> str:
    """A query's free text as it is analysed: for a question or request, without its request
    phrasing and the fuller stop list's words; otherwise as written (see the module)."""
    if not is_request(text):
        return text
    return " ".join(w for w in _WORD.findall(strip_request(text)) if w.lower() not in STOPWORDS)


def candidate_query(free: list[str], frequency: dict[str, int], budget: int) -> str:
    """The rarest lexemes whose documents stay within ``budget`` together (at least one),
    as alternatives; all lexemes required when even the rarest is too common."""
    if not free:
        return ""
    ordered = sorted(free, key=lambda lexeme: frequency.get(lexeme, 0))
    if frequency.get(ordered[0], 0) > budget:
        return tsquery_literal(ordered, "&")
    chosen, total = [], 0
    for lexeme in ordered:
        total += frequency.get(lexeme, 0)
        if total > budget:
            break
        chosen.append(lexeme)
    return tsquery_literal(chosen)


class FullTextRanker:
    """``ts_rank`` ranking over the papers' documents, with filters in the same query."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._words: dict[str, tuple[str, ...]] = {}
        self._queries: OrderedDict[tuple[str, bool], LexicalQuery] = OrderedDict()
        self._plans: OrderedDict[ParsedQuery, Plan] = OrderedDict()
        self._guard = threading.Lock()

    # -- analysis -------------------------------------------------------------------------
    def _lexemes(self, texts: list[str]) -> list[list[str]]:
        """Each text's lexemes as PostgreSQL's ``english`` configuration makes them."""
        if not texts:
            return []
        rows = self._db.rows(_ANALYZE, (texts,))
        found = {int(n): list(lexemes) for n, lexemes in rows}
        return [found.get(i + 1, []) for i in range(len(texts))]

    def terms(self, text: str) -> list[str]:
        """The index terms of a text, word by word, in order (each word asked once)."""
        words = [w.lower() for w in _WORD.findall(text)]
        missing = [w for w in dict.fromkeys(words) if w not in self._words]
        if missing:
            analysed = self._lexemes(missing)
            with self._guard:
                if len(self._words) > 200_000:
                    self._words.clear()
                self._words.update(zip(missing, (tuple(x) for x in analysed), strict=True))
        words_terms = [self._words.get(w) for w in words]
        return [t for found in words_terms if found for t in found]

    def document_frequencies(self, terms: Sequence[str]) -> tuple[list[int], int]:
        """How many papers hold each lexeme (as counted at the last :meth:`sync`), and how
        many papers there are."""
        wanted = list(dict.fromkeys(terms))
        frequency = {str(w): int(n) for w, n in self._db.rows(
            "SELECT word, ndoc FROM lexemes WHERE word = ANY(%s)", (wanted,))}
        row = self._db.one("SELECT value FROM counters WHERE name = 'papers'")
        return [frequency.get(t, 0) for t in terms], int(row[0]) if row else 0

    def analyze(self, text: str, *, syntax: bool = True) -> LexicalQuery:
        """Parse and analyse a query once (remembered for the last few hundred queries)."""
        key = (text, syntax)
        found = self._queries.get(key)
        if found is not None:
            return found
        parsed = parse_query(text) if syntax else ParsedQuery(text=text)
        plan = self._plan(parsed)
        terms = [*plan.free, *(t for p in self._lexemes(list(plan.phrases)) for t in p)]
        query = LexicalQuery(text=text, parsed=parsed, terms=tuple(dict.fromkeys(terms)))
        with self._guard:
            self._queries[key] = query
            while len(self._queries) > 512:
                self._queries.popitem(last=False)
        return query

    def _plan(self, parsed: ParsedQuery) -> Plan:
        """How a parsed query runs (worked out once per query: two round trips)."""
        found = self._plans.get(parsed)
        if found is None:
            free, *phrases = self._lexemes([free_text(parsed.text), *parsed.phrases])
            unique = list(dict.fromkeys(free))
            scored = list(dict.fromkeys([*unique, *(t for p in phrases for t in p)]))
            frequency = {str(w): int(n) for w, n in self._db.rows(
                "SELECT word, ndoc FROM lexemes WHERE word = ANY(%s)", (scored,))}
            row = self._db.one("SELECT (SELECT value FROM counters WHERE name = 'papers'), "
                               "(SELECT value FROM meta WHERE key = 'mean_length')")
            papers = float(row[0]) if row else 0.0
            mean = float(row[1]) if row and row[1] else 1.0
            idf = tuple(math.log(1 + (papers - frequency.get(t, 0) + 0.5)
                                 / (frequency.get(t, 0) + 0.5)) for t in scored)
            rarest = min((frequency.get(t, 0) for t in unique), default=0)
            found = Plan(tuple(unique), candidate_query(unique, frequency, CANDIDATES),
                         tuple(p for p, lex in zip(parsed.phrases, phrases, strict=True) if lex),
                         tuple(scored), idf, max(mean, 1.0), capped=rarest > CANDIDATES)
            with self._guard:
                self._plans[parsed] = found
                while len(self._plans) > 512:
                    self._plans.popitem(last=False)
        return found

    def _tsquery(self, query: LexicalQuery, *,
                 candidates: bool = False) -> tuple[sql.Composable, list[Any]] | None:
        """The query as a tsquery expression (ranking every word, or choosing the
        candidates); None when it has nothing to match."""
        parsed = query.parsed
        plan = self._plan(parsed)
        parts: list[sql.Composable] = []
        params: list[Any] = []
        if plan.free:
            parts.append(sql.SQL("%s::tsquery"))
            params.append(plan.candidates if candidates
                          else tsquery_literal(list(plan.free[:MAX_TERMS])))
        for phrase in plan.phrases:
            parts.append(sql.SQL("phraseto_tsquery('english', %s)"))
            params.append(phrase)
        if not parts:
            return None
        for word in parsed.excluded:
            parts.append(sql.SQL("!!plainto_tsquery('english', %s)"))
            params.append(word)
        return sql.SQL(" && ").join(parts), params

    # -- ranking --------------------------------------------------------------------------
    def search(self, query: LexicalQuery, *, filters: Filters | None = None,
               limit: int = 10) -> Hits:
        """The top ``limit`` papers for an analysed query; filters in the same SQL."""
        compiled = self._tsquery(query)
        chosen = self._tsquery(query, candidates=True)
        if compiled is None or chosen is None:
            return Hits.empty()
        expression, params = compiled
        candidates, candidate_params = chosen
        condition, filter_params = filter_sql(filters)
        plan = self._plan(query.parsed)
        if plan.capped:  # the scan stops at the first CANDIDATES matches (see the module)
            ranked = sql.SQL(
                "SELECT p.key, p.document, ts_rank({weights}::float4[], p.document, q.q, {norm})"
                " AS rank FROM (SELECT p.key, p.document FROM papers p WHERE p.document @@ "
                "{candidates} AND {cond} LIMIT {budget}) AS p, (SELECT {expr} AS q) AS q")
            first = [*candidate_params, *filter_params, *params]
        else:
            ranked = sql.SQL(
                "SELECT p.key, p.document, ts_rank({weights}::float4[], p.document, q.q, {norm})"
                " AS rank FROM papers p, (SELECT {expr} AS q, {candidates} AS c) AS q "
                "WHERE p.document @@ q.c AND {cond}")
            first = [*params, *candidate_params, *filter_params]
        statement = sql.SQL(
            "WITH top AS ({ranked} ORDER BY rank DESC, p.key LIMIT %s), "
            "numbered AS (SELECT *, row_number() OVER (ORDER BY rank DESC, key) AS n FROM top) "
            "SELECT t.key, CASE WHEN t.n <= %s THEN {bm25} END, t.rank FROM numbered t "
            "ORDER BY t.n"
        ).format(ranked=ranked.format(
            norm=sql.Literal(NORMALIZATION), weights=sql.Literal(WEIGHTS), expr=expression,
            candidates=candidates, cond=condition, budget=sql.Literal(CANDIDATES)),
            bm25=_BM25)
        rows = self._db.rows(statement, [*first, max(limit, RERANKED), RERANKED,
                                         *_bm25_params(plan)])
        return _two_stage(rows).slice(0, max(limit, 1))

    def score(self, query: LexicalQuery, keys: np.ndarray) -> np.ndarray:
        """Scores of the given papers (0 where nothing matches), as :meth:`search` gives."""
        scores = np.zeros(len(keys), dtype=np.float32)
        compiled = self._tsquery(query)
        if compiled is None or len(keys) == 0:
            return scores
        expression, params = compiled
        statement = sql.SQL(
            "SELECT t.key, {bm25} FROM papers t, (SELECT {expr} AS q) AS q "
            "WHERE t.key = ANY(%s) AND t.document @@ q.q"
        ).format(expr=expression, bm25=_BM25)
        rows = self._db.rows(statement, [*_bm25_params(self._plan(query.parsed)), *params,
                                         [int(k) for k in keys]])
        position = {int(k): i for i, k in enumerate(keys.tolist())}
        for key, value in rows:
            scores[position[int(key)]] = value
        return scores

    # -- keeping up -----------------------------------------------------------------------
    @property
    def applied_seq(self) -> int:
        """The last store change this ranker includes (documents are written with their
        papers; this records how far :meth:`sync` has confirmed it)."""
        row = self._db.one("SELECT value FROM meta WHERE key = 'lexical_seq'")
        return int(row[0]) if row else 0

    @property
    def count(self) -> int:
        row = self._db.one("SELECT value FROM counters WHERE name = 'papers'")
        return int(row[0]) if row else 0

    def sync(self, store: PaperStore) -> int:
        """Record that the ranker includes every change so far (each document was indexed
        with its row), counting the lexemes again when the library changed enough; returns
        the documents written since the last sync."""
        applied, target = self.applied_seq, store.seq
        written = store.count_since(applied) if applied < target else 0
        if applied < target:
            with self._db.transaction() as conn:
                conn.execute("INSERT INTO meta (key, value) VALUES ('lexical_seq', %s) "
                             "ON CONFLICT (key) DO UPDATE SET value = greatest("
                             "excluded.value::bigint, meta.value::bigint)::text", (str(target),))
        counted = int(store.get_meta("lexeme_seq", "-1") or -1)
        if counted < 0 or store.count_since(counted) > STATS_STALE * max(len(store), 1):
            self.count_lexemes(target)
        return written

    def count_lexemes(self, seq: int) -> None:
        """Count every lexeme's documents again (one pass over the documents)."""
        with self._db.transaction() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('papersift-lexemes'))")
            conn.execute("TRUNCATE lexemes")
            conn.execute("INSERT INTO lexemes (word, ndoc) SELECT word, ndoc "
                         "FROM ts_stat('SELECT document FROM papers')")
            conn.execute("INSERT INTO meta (key, value) SELECT 'mean_length', "
                         "coalesce(avg(length(document)), 1)::text FROM papers "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value")
            conn.execute("INSERT INTO meta (key, value) VALUES ('lexeme_seq', %s) "
                         "ON CONFLICT (key) DO UPDATE SET value = excluded.value", (str(seq),))
        with self._guard:
            self._plans.clear()
            self._queries.clear()

    def rebuild(self, store: PaperStore) -> int:
        """Count the lexemes again (the documents themselves are computed from each row by
        PostgreSQL) and record the store's change number; returns the documents held."""
        self.count_lexemes(store.seq)
        self.sync(store)
        return self.count

    def refresh(self) -> None:
        """Nothing to do: every process reads the same tables."""


#: BM25 of a document ``t`` over the plan's lexemes: term frequency from the positions the
#: tsvector keeps, length as its count of distinct lexemes.
_BM25 = sql.SQL(
    "(SELECT coalesce(sum(w.idf * m.tf * %s / (m.tf + %s * (1 - %s + %s * length(t.document)"
    " / %s))), 0)::real FROM (SELECT u.lexeme, array_length(u.positions, 1) AS tf "
    "FROM unnest(t.document) AS u) AS m JOIN unnest(%s::text[], %s::float8[]) AS w(lexeme, idf)"
    " ON w.lexeme = m.lexeme)")


def _bm25_params(plan: Plan) -> list[Any]:
    return [BM25_K1 + 1, BM25_K1, BM25_B, BM25_B, plan.mean_length, list(plan.scored),
            list(plan.idf)]


def _two_stage(rows: list[tuple[Any, ...]]) -> Hits:
    """``(key, BM25 or None, ts_rank)`` in ``ts_rank`` order: the first :data:`RERANKED`
    ordered by BM25, the rest after them in ``ts_rank`` order (scores below the last
    BM25 score), so a page's results never depend on how many were asked for."""
    head = sorted(((float(bm), int(key)) for key, bm, _ in rows if bm is not None),
                  key=lambda item: (-item[0], item[1]))
    tail = [(int(key), float(rank)) for key, bm, rank in rows if bm is None]
    floor = head[-1][0] if head else 1.0
    top = max((rank for _, rank in tail), default=1.0) or 1.0
    keys = [key for _, key in head] + [key for key, _ in tail]
    scores = [score for score, _ in head] + [0.5 * floor * rank / top for _, rank in tail]
    if not keys:
        return Hits.empty()
    return Hits(np.asarray(keys, dtype=np.int64), np.asarray(scores, dtype=np.float32))


def _hits(rows: list[tuple[Any, ...]]) -> Hits:
    if not rows:
        return Hits.empty()
    return Hits(np.asarray([int(r[0]) for r in rows], dtype=np.int64),
                np.asarray([float(r[1]) for r in rows], dtype=np.float32))
