"""The lexical-ranker contract: analysis, ranking, filters inside the engine, scores."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from papersift.backends import Backend
from papersift.papers import Paper
from papersift.query import Filters
from tests.contracts.conftest import sample_papers
from tests.contracts.test_paper_store import FILTERS


def _loaded(backend: Backend, n: int = 120) -> list[Paper]:
    papers = sample_papers(n)
    backend.store.upsert(papers)
    assert backend.lexical.sync(backend.store) == n
    return papers


def test_sync_catches_up_and_is_idempotent(backend: Backend) -> None:
    papers = _loaded(backend, 40)
    assert backend.lexical.count == 40 and backend.lexical.applied_seq == backend.store.seq
    assert backend.lexical.sync(backend.store) == 0
    changed = Paper(id=papers[0].id, title="Completely different zebra title", abstract="zz")
    backend.store.upsert([changed])
    backend.store.remove([papers[1].id])
    assert backend.lexical.sync(backend.store) == 1  # one written, one removed
    assert backend.lexical.count == 39  # updated once, not twice; removed gone
    hits = backend.lexical.search(backend.lexical.analyze("zebra"), limit=5)
    assert hits.ids.tolist() == [backend.store.key_of(papers[0].id)]
    assert backend.lexical.rebuild(backend.store) == 39 and backend.lexical.count == 39


def test_search_ranks_matching_papers_and_honours_syntax(backend: Backend) -> None:
    papers = _loaded(backend)
    lexical = backend.lexical
    query = lexical.analyze('matryoshka "nested embedding" -galaxy')
    assert query.terms and not query.empty
    hits = lexical.search(query, limit=50)
    found = backend.store.papers(hits.ids.tolist())
    assert len(hits) > 0 and list(hits.scores) == sorted(hits.scores, reverse=True)
    for key in hits.ids.tolist():
        text = f"{found[key].title} {found[key].abstract}".lower()
        assert "galaxy" not in text and "nested" in text
    unique = lexical.search(lexical.analyze("unique42"), limit=3)
    assert unique.ids.tolist() == [backend.store.key_of(papers[42].id)]
    assert len(lexical.search(lexical.analyze("the of and"), limit=3)) == 0
    assert len(lexical.search(lexical.analyze('"" - ( ) :'), limit=3)) == 0


@pytest.mark.parametrize("filters", FILTERS, ids=str)
def test_filters_run_inside_the_engine(backend: Backend, filters: Filters) -> None:
    papers = _loaded(backend)
    keys = backend.store.keys_of([p.id for p in papers])
    accepted = {keys[p.id] for p in papers if filters.accepts(p)}
    query = backend.lexical.analyze(" ".join(sorted(set(" ".join(p.title for p in papers)
                                                     .lower().split()))))
    hits = backend.lexical.search(query, filters=filters, limit=1000)
    assert set(hits.ids.tolist()) == accepted  # every accepted paper, nothing else


def test_a_request_is_searched_by_its_topic(backend: Backend) -> None:
    """Request phrasing and function words do not outrank the topic, on every backend."""
    backend.store.upsert([
        Paper(id="topic", title="Time sharing in interactive computer systems",
              abstract="Scheduling terminals on a shared processor with short time slices."),
        Paper(id="noise", title="Which articles exist? A deal on what we deal with",
              abstract="Articles that exist deal with which things exist and what deals are."),
    ])
    backend.lexical.sync(backend.store)
    query = backend.lexical.analyze("What articles exist which deal with time sharing?")
    assert query.terms == ("time", "share")
    hits = backend.lexical.search(query, limit=5)
    assert hits.ids.tolist() == [backend.store.key_of("topic")]
    # a statement keeps its words: the noise paper is what it is about
    statement = backend.lexical.search(backend.lexical.analyze("articles exist"), limit=5)
    assert statement.ids.tolist() == [backend.store.key_of("noise")]


def test_score_gives_the_search_scores_of_given_papers(backend: Backend) -> None:
    _loaded(backend)
    query = backend.lexical.analyze("diffusion transformer")
    hits = backend.lexical.search(query, limit=10)
    keys = np.concatenate([hits.ids[::-1], np.asarray([10**9])])
    scores = backend.lexical.score(query, keys)
    assert np.allclose(scores[:-1], hits.scores[::-1], rtol=1e-5) and scores[-1] == 0.0
    assert backend.lexical.terms("Transformers ranking") == ["transform", "rank"]


def test_another_process_sees_committed_papers(backend_factory: Callable[..., Backend]) -> None:
    reader, writer = backend_factory(), backend_factory()
    assert reader.lexical.count == 0
    writer.store.upsert(sample_papers(10))
    writer.lexical.sync(writer.store)
    import time

    deadline = time.monotonic() + 5
    while reader.lexical.count != 10 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert reader.lexical.count == 10
    found = reader.lexical.search(reader.lexical.analyze("unique3"), limit=1)
    assert found.ids.tolist() == [reader.store.key_of("2501.00003")]


def test_document_frequencies(backend: Backend) -> None:
    papers = _loaded(backend)
    lexical = backend.lexical
    nested, graph = lexical.terms("nested")[0], lexical.terms("graph")[0]
    frequencies, total = lexical.document_frequencies([nested, graph, "zzzunknown"])
    assert total == len(papers) and frequencies[2] == 0
    for term, counted in zip((nested, graph), frequencies[:2], strict=True):
        assert counted == sum(term in lexical.terms(f"{p.title}\n{p.abstract}") for p in papers)
    backend.store.remove([papers[0].id])
    backend.lexical.sync(backend.store)
    backend.lexical.refresh()
    assert lexical.document_frequencies([nested])[1] == len(papers) - 1
