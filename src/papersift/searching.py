"""The search walk: one request, one analysis of its text, the rankers, fusion, results.

::

    SearchRequest(text, mode, filters, limit, offset)
      -> mode chosen (auto: hybrid once every paper has a vector, else lexical)
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
    """The mode to run, the semantic coverage, and a notice when it is not what was asked."""
    papers = len(library.store)
    if not library.has_vectors():
        if requested in ("semantic", "hybrid"):
            return "lexical", 0.0, ("semantic search needs vectors and none are stored yet; "
                                    "showing lexical results (run `papersift embed`)")
        return "lexical", 0.0, None
    embedded = library.dense.count
    coverage = min(embedded / papers, 1.0) if papers else 1.0
    if requested == "auto":
        if library.semantic_ready():
            return "hybrid", coverage, None
        return "lexical", coverage, (f"lexical results: semantic search starts when "
                                     f"embedding finishes ({embedded:,} of {papers:,} papers)")
    if requested == "lexical" or coverage >= 1.0:
        return requested, coverage, None
    share = f"{embedded:,} of {papers:,} papers ({100 * coverage:.0f}%)"
    if requested == "semantic":
        return "semantic", coverage, f"semantic search covers only the {share} embedded so far"
    return "hybrid", coverage, (f"the semantic side covers {share}; the rest are found by "
                                "their words only")


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
    fused = _fuse(library, query, vector, lexical, nearest)
    page = _results(library, terms, fused.slice(request.offset, request.limit),
                    set(nearest.ids.tolist()))
    return SearchResults(page, **done)  # type: ignore[arg-type]


def _fuse(library: Library, query: LexicalQuery, vector: np.ndarray, lexical: Hits,
          dense: Hits) -> Hits:
    """Score the union of both top lists by both rankers, then fuse the scores."""
    if library.settings.fusion == "rrf":
        return reciprocal_rank_fusion([lexical, dense], k=library.settings.rrf_k)
    pool = np.union1d(lexical.ids, dense.ids)
    bm25 = library.lexical.score(query, pool)
    cosine = np.zeros(len(pool), dtype=np.float32)
    found, vectors = library.dense.vectors(pool)
    with one_blas_thread():
        cosine[found] = vectors @ vector
    if not found.all():  # a paper not embedded yet: as far as the farthest candidate
        cosine[~found] = cosine[found].min() if found.any() else 0.0
    return standardized_fusion(pool, [bm25, cosine])


def _results(library: Library, terms: set[str], hits: Hits,
             semantic: set[int] | None = None) -> list[SearchResult]:
    papers = library.store.papers(hits.ids.tolist())
    results = []
    for key, score in zip(hits.ids.tolist(), hits.scores.tolist(), strict=True):
        paper = papers.get(key)
        if paper is not None:
            near = semantic is not None and key in semantic
            results.append(SearchResult(paper, float(score), _why(library, paper, terms, near)))
    return results


def _why(library: Library, paper: Paper, terms: set[str], semantic: bool) -> tuple[str, ...]:
    why: list[str] = []
    in_title = [t for t in library.terms(paper.title) if t in terms]
    in_abstract = [t for t in library.terms(paper.abstract) if t in terms]
    if in_title:
        why.append("title terms: " + ", ".join(dict.fromkeys(in_title)))
    if in_abstract:
        why.append("abstract terms: " + ", ".join(dict.fromkeys(in_abstract)))
    if semantic:
        why.append("semantic: close in meaning")
    return tuple(why)


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
