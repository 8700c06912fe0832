"""The search walk: one request, one analysis of its text, the rankers, fusion, results.

::

    SearchRequest(text, mode, filters, limit, offset)
      -> mode chosen (auto: hybrid once any paper has a vector, else lexical)
      -> lexical.analyze(text)                   once: parsed syntax + index terms
      -> lexical.search(query, filters, depth)   BM25, filters inside tantivy
      -> dense.search(vector, depth, filters)    the query vector (cached), filters compiled
                                                 by the paper store, inside the vector index
      -> fusion: both rankers score the union of their lists; z-scores added
      -> store.papers(keys)                      papers with their votes counted in
      -> SearchResults(results, mode used, coverage, notice)

:class:`~papersift.library.Library` exposes these as ``search``, ``similar`` and
``arxiv_query``; this module holds the steps so the library class stays small.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from papersift.arxiv_query import ArxivRequest
from papersift.backends.base import LexicalQuery
from papersift.papers import Paper, normalize_id
from papersift.query import Filters, Mode, SearchRequest
from papersift.ranking import Hits, SearchResult, reciprocal_rank_fusion, standardized_fusion
from papersift.search_results import SearchResults
from papersift.semantic import one_blas_thread

if TYPE_CHECKING:
    from papersift.library import Library

__all__ = ["arxiv", "run", "similar"]


def _choose(library: Library, requested: Mode) -> tuple[Mode, float, str | None]:
    """The mode to run, the semantic coverage, and a notice when it is not what was asked.

    The partial-coverage rule (while the library is being embedded, newest listing day
    first): ``auto`` is hybrid as soon as any paper has a vector, lexical before. Hybrid
    ranks the papers that have a vector by words and meaning, and the others by their words
    alone (see :func:`_fuse`). Semantic searches only the papers that have a vector. Either
    says how much of the library the vectors cover.
    """
    papers = len(library.store)
    if not library.has_vectors():
        if requested in ("semantic", "hybrid"):
            return "lexical", 0.0, ("semantic search needs vectors and none are stored yet; "
                                    "showing lexical results (run `papersift embed`)")
        return "lexical", 0.0, None
    embedded = library.dense.count
    coverage = min(embedded / papers, 1.0) if papers else 1.0
    mode: Mode = "hybrid" if requested == "auto" else requested
    if mode == "lexical" or coverage >= 1.0:
        return mode, coverage, None
    share = (f"{embedded:,} of {papers:,} papers ({_percent(coverage)}, the newest listing "
             "days first)")
    if mode == "semantic":
        return mode, coverage, (f"embedding is under way: only the {share} that have a "
                                "vector are searched by meaning; hybrid also finds the "
                                "others by their words")
    return mode, coverage, (f"embedding is under way: {share} have a vector and are ranked "
                            "by words and meaning; the others by their words alone")


def _percent(share: float) -> str:
    """A share as people read it: never "0%" or "100%" while it is neither."""
    if 0 < share < 0.01:
        return "under 1%"
    if 0.99 < share < 1:
        return "over 99%"
    return f"{100 * share:.0f}%"


def run(library: Library, request: SearchRequest) -> SearchResults:
    """Run one search (see the module docstring for the walk)."""
    mode, coverage, notice = _choose(library, request.mode)
    query = library.analyze(request.text)
    terms = set(query.terms)
    filters = request.filters or None
    depth = request.offset + request.limit
    done = {"mode": mode, "requested": request.mode, "coverage": coverage, "notice": notice}
    if mode == "lexical" or not request.text.strip():
        hits = library.lexical.search(query, filters=filters, limit=depth)
        page = _results(library, terms, hits.slice(request.offset, request.limit))
        return SearchResults(page, **done)  # type: ignore[arg-type]
    vector = library.query_vector(request.text)
    dense = library.dense
    if mode == "semantic":
        hits = dense.search(vector, limit=depth, filters=filters)
        near = set(hits.ids.tolist())
        page = _results(library, terms, hits.slice(request.offset, request.limit), near)
        return SearchResults(page, **done)  # type: ignore[arg-type]
    pool = max(depth, library.settings.fusion_depth)
    lexical = library.lexical.search(query, filters=filters, limit=pool)
    nearest = dense.search(vector, limit=pool, filters=filters)
    fused, unembedded = _fuse(library, query, vector, lexical, nearest)
    page = _results(library, terms, fused.slice(request.offset, request.limit),
                    set(nearest.ids.tolist()), unembedded)
    return SearchResults(page, **done)  # type: ignore[arg-type]


def _fuse(library: Library, query: LexicalQuery, vector: np.ndarray, lexical: Hits,
          dense: Hits) -> tuple[Hits, set[int]]:
    """Score the union of both top lists by both rankers, then fuse the scores; also the
    candidates that have no vector yet.

    Each ranker's scores become z-scores (over the pool for BM25, over the papers with a
    vector for cosine), added with equal weights. A paper without a vector (the library is
    still being embedded) counts its BM25 z-score on the meaning side too: its words stand
    in for its meaning. With no vectors this is lexical ranking, with all of them plain
    hybrid; in between it ranked SciFact at least as well as BM25 alone at every coverage
    tried (BENCHMARKS.md, "Search while the library is being embedded").
    """
    if library.settings.fusion == "rrf":
        return reciprocal_rank_fusion([lexical, dense], k=library.settings.rrf_k), set()
    pool = np.union1d(lexical.ids, dense.ids)
    bm25 = library.lexical.score(query, pool)
    cosine = np.zeros(len(pool), dtype=np.float32)
    found, vectors = library.dense.vectors(pool)
    with one_blas_thread():
        cosine[found] = vectors @ vector
    if found.all():
        return standardized_fusion(pool, [bm25, cosine]), set()
    words = _standardized(np.asarray(bm25, dtype=np.float64))
    meaning = words.copy()
    if found.any():
        meaning[found] = _standardized(cosine[found].astype(np.float64))
    total = (words + meaning) / 2
    order = np.argsort(-total, kind="stable")
    return Hits(pool[order], total[order].astype(np.float32)), set(pool[~found].tolist())


def _standardized(scores: np.ndarray) -> np.ndarray:
    spread = scores.std()
    return (scores - scores.mean()) / spread if spread > 0 else np.zeros_like(scores)


def _results(library: Library, terms: set[str], hits: Hits,
             semantic: set[int] | None = None,
             unembedded: set[int] | None = None) -> list[SearchResult]:
    papers = library.store.papers(hits.ids.tolist())
    results = []
    for key, score in zip(hits.ids.tolist(), hits.scores.tolist(), strict=True):
        paper = papers.get(key)
        if paper is not None:
            near = semantic is not None and key in semantic
            why = _why(library, paper, terms, near)
            if unembedded and key in unembedded:
                why += ("no vector yet: ranked by its words",)
            results.append(SearchResult(paper, float(score), why))
    return results


def _why(library: Library, paper: Paper, terms: set[str], semantic: bool) -> tuple[str, ...]:
    why: list[str] = []
    in_title = _matched_words(library, paper.title, terms)
    in_abstract = _matched_words(library, paper.abstract, terms)
    if in_title:
        why.append("title: " + ", ".join(in_title))
    if in_abstract:
        why.append("abstract: " + ", ".join(in_abstract))
    if semantic:
        why.append("semantic: close in meaning")
    return tuple(why)


_WORD = re.compile(r"\w[\w-]*", re.UNICODE)


def _matched_words(library: Library, text: str, terms: set[str], most: int = 6) -> list[str]:
    """The words of ``text`` as written (not their stems) whose index terms the query has."""
    if not terms:
        return []
    found: dict[str, None] = {}
    for word in _WORD.findall(text):
        low = word.lower()
        if low not in found and not terms.isdisjoint(library.word_terms(low)):
            found[low] = None
            if len(found) >= most:
                break
    return list(found)


def similar(library: Library, paper_id: str, *, limit: int = 10,
            filters: Filters | None = None) -> SearchResults:
    """Papers nearest in meaning to a paper; by shared words until it has a vector."""
    paper = library.get(paper_id)
    key = library.store.key_of(paper.id) if paper else None
    if paper is None or key is None:
        return SearchResults(mode="semantic", requested="semantic")
    filters = filters or None
    vector = None
    if library.has_vectors():
        found, vectors = library.dense.vectors(np.asarray([key]))
        vector = vectors[0] if found[0] else None
    if vector is not None:
        hits = library.dense.search(vector, limit=limit + 1, filters=filters).without(key)
        page = _results(library, set(), hits.slice(0, limit), set(hits.ids.tolist()))
        return SearchResults(page, mode="semantic", requested="semantic")
    query = library.analyze(f"{paper.title} {paper.abstract}", syntax=False)
    hits = library.lexical.search(query, filters=filters, limit=limit + 1).without(key)
    page = _results(library, set(), hits.slice(0, limit))
    return SearchResults(page, mode="lexical", requested="semantic", coverage=0.0,
                         notice="this paper has no vector yet: similar by shared words")


def arxiv(library: Library, request: ArxivRequest, *, window: int) -> tuple[int, list[Paper]]:
    """``(totalResults, the requested page of papers)`` for an arXiv API call."""
    parsed, ids = request.parsed, request.ids
    filters = parsed.filters()
    end = request.start + request.max_results
    if ids and not (parsed.query or filters):
        papers = [p for p in (library.get(i) for i in ids) if p is not None]
        if request.sort_by != "relevance":
            papers.sort(key=lambda p: p.published or date.min,
                        reverse=request.sort_order == "descending")
        return len(papers), papers[request.start : end]
    if ids:  # both given: the search restricted to the listed papers
        filters = replace(filters, ids=tuple(normalize_id(i)[0] for i in ids))
    if parsed.query:
        query = library.analyze(parsed.query)
        keys = library.lexical.search(query, filters=filters or None, limit=window).ids.tolist()
    elif filters:  # no words: every paper passing the filters, newest added first
        keys = library.store.matching(filters)[::-1][:window].tolist()
    else:
        keys = []
    if request.sort_by != "relevance":
        days = library.store.dates_of(keys)  # only the dates: the window can be 1,000 long
        keys = sorted((k for k in keys if k in days), key=lambda k: days[k] or date.min,
                      reverse=request.sort_order == "descending")
    elif request.sort_order == "ascending":
        keys = keys[::-1]
    chosen = keys[request.start : end]
    page = library.store.papers(chosen)
    return len(keys), [page[k] for k in chosen if k in page]
