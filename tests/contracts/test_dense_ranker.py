"""The dense-ranker contract: stored vectors, cursor, nearest neighbours with filters."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pytest

from papersift.backends import Backend
from papersift.query import Filters
from tests.contracts.conftest import sample_papers
from tests.contracts.test_paper_store import FILTERS

DIM = 16


def _unit(rows: int, seed: int = 0) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((rows, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _embedded(backend: Backend, n: int = 120) -> tuple[dict[str, int], np.ndarray]:
    papers = sample_papers(n)
    backend.store.upsert(papers)
    keys = backend.store.keys_of([p.id for p in papers])
    dense = backend.dense("test-encoder", DIM)
    changes = backend.store.unembedded("test-encoder", limit=n)
    assert len(changes) == n == backend.store.count_unembedded("test-encoder")
    dated = [c.paper.published for c in changes if c.paper and c.paper.published]
    assert dated == sorted(dated, reverse=True)  # the newest listing day first
    order = np.asarray([c.key for c in changes], dtype=np.int64)
    vectors = _unit(n)
    dense.write(order[:50], vectors[:50])
    backend.store.mark_embedded("test-encoder", [(c.key, c.seq) for c in changes[:50]])
    assert backend.store.count_unembedded("test-encoder") == n - 50
    dense.write(order[50:], vectors[50:])
    backend.store.mark_embedded("test-encoder", [(c.key, c.seq) for c in changes[50:]])
    assert backend.store.count_unembedded("test-encoder") == 0
    assert backend.store.current_keys("test-encoder").tolist() == sorted(order.tolist())
    dense.mark_applied(backend.store.seq)
    stored = vectors.astype(np.float16).astype(np.float32)  # what a store keeps
    return keys, dict(zip(order.tolist(), stored, strict=True))  # type: ignore[return-value]


def _exact(vectors: dict[int, np.ndarray], query: np.ndarray, allowed: set[int],
           k: int) -> list[int]:
    scored = sorted(((float(v @ query), key) for key, v in vectors.items() if key in allowed),
                    reverse=True)
    return [key for _, key in scored[:k]]


def test_write_cursor_vectors_and_forget(backend: Backend) -> None:
    _keys, vectors = _embedded(backend)
    dense = backend.dense("test-encoder", DIM)
    assert dense.count == 120 and dense.applied_seq == backend.store.seq
    changed = backend.store.papers([int(next(iter(vectors)))])
    backend.store.upsert([p.__class__(id=p.id, title="changed", abstract="changed")
                          for p in changed.values()])
    assert backend.store.count_unembedded("test-encoder") == 1  # its vector is stale now
    assert backend.store.count_unembedded("other-encoder") == 120
    probe = np.asarray([*list(vectors)[:3], 10 ** 9], dtype=np.int64)
    found, got = dense.vectors(probe)
    assert found.tolist() == [True, True, True, False]
    assert np.allclose(got, np.stack([vectors[k] for k in probe[:3].tolist()]), atol=2e-3)
    replaced = _unit(1, seed=9)
    dense.write(probe[:1], replaced)  # a changed paper: its new vector
    assert dense.count == 120
    assert np.allclose(dense.vectors(probe[:1])[1][0], replaced[0], atol=2e-3)
    dense.forget(probe[1:3])
    assert dense.count == 118 and dense.vectors(probe[1:3])[0].tolist() == [False, False]
    assert dense.verify() == []
    assert backend.stored_encoders() == {"test-encoder": DIM}


@pytest.mark.parametrize("filters", [Filters(), *FILTERS], ids=str)
def test_search_is_exact_nearest_among_accepted_papers(backend: Backend,
                                                       filters: Filters) -> None:
    keys, vectors = _embedded(backend)
    papers = backend.store.papers(list(keys.values()))
    allowed = {k for k, p in papers.items() if filters.accepts(p)}
    dense = backend.dense("test-encoder", DIM)
    for seed in range(3):
        query = _unit(1, seed=100 + seed)[0]
        hits = dense.search(query, limit=10, filters=filters or None)
        assert hits.ids.tolist() == _exact(vectors, query, allowed, 10)
        assert list(hits.scores) == sorted(hits.scores, reverse=True)


def test_a_larger_library_is_searched_by_the_adaptive_index(
        backend_factory: Callable[..., Backend]) -> None:
    backend = backend_factory(exact_below=100)  # the approximate path, tuned at build time
    keys, vectors = _embedded(backend, 3000)
    dense = backend.dense("test-encoder", DIM)
    dense.prepare()
    recall = []
    for seed in range(20):
        query = _unit(1, seed=500 + seed)[0]
        hits = dense.search(query, limit=10)
        recall.append(len(set(hits.ids.tolist()) & set(_exact(vectors, query,
                                                               set(vectors), 10))) / 10)
    assert np.mean(recall) >= 0.9
    only = Filters(categories=("q-bio.NC",))
    papers = backend.store.papers(list(keys.values()))
    hits = dense.search(_unit(1, seed=3)[0], limit=10, filters=only)
    assert len(hits) == 10 and all("q-bio.NC" in papers[k].categories for k in hits.ids.tolist())


def test_another_process_sees_stored_vectors(backend_factory: Callable[..., Backend]) -> None:
    writer, reader = backend_factory(), backend_factory()
    _embedded(writer, 60)
    dense = reader.dense("test-encoder", DIM)
    deadline = time.monotonic() + 5
    while dense.count != 60 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert dense.count == 60
    query = _unit(1, seed=1)[0]
    assert dense.search(query, limit=5).ids.tolist() == \
        writer.dense("test-encoder", DIM).search(query, limit=5).ids.tolist()
