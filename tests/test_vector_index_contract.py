"""One contract, every ``VectorIndex``: exact and adaptive must behave the same way."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from papersift.vectors import AdaptiveIndex, ExactIndex, VectorIndex
from papersift.vectors.adaptive_faiss import COARSE_MIN_LISTS, FaissAdaptiveIndex
from papersift.vectors.adaptor import Adaptor
from papersift.vectors.nested import Rotation

DIM = 32


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def clustered(n: int, seed: int = 0) -> np.ndarray:
    """Clustered unit vectors: 40 centres, noise comparable to the centre spread."""
    rng = np.random.default_rng(seed)
    centres = unit(rng.standard_normal((40, DIM)))
    return unit(centres[rng.integers(0, 40, n)] + 0.35 * rng.standard_normal((n, DIM)))


def make_exact(ids: np.ndarray, vecs: np.ndarray) -> VectorIndex:
    index = ExactIndex(DIM)
    index.add(ids, vecs)
    return index


def make_adaptive(ids: np.ndarray, vecs: np.ndarray) -> VectorIndex:
    return AdaptiveIndex.build(ids, vecs, tune_queries=100)


def make_empty_exact() -> VectorIndex:
    return ExactIndex(DIM)


def make_empty_adaptive() -> VectorIndex:
    return AdaptiveIndex(DIM)


def make_adaptive_faiss(ids: np.ndarray, vecs: np.ndarray) -> VectorIndex:
    assert FaissAdaptiveIndex is not None
    return FaissAdaptiveIndex.build(ids, vecs, tune_queries=100)


def make_empty_adaptive_faiss() -> VectorIndex:
    assert FaissAdaptiveIndex is not None
    return FaissAdaptiveIndex(DIM)


def make_adaptive_faiss_two_level(ids: np.ndarray, vecs: np.ndarray) -> VectorIndex:
    """Enough lists that the centroids are ranked by the two-level (IVF) quantizer."""
    index = FaissAdaptiveIndex.build(ids, vecs, tune_queries=100, nlist=COARSE_MIN_LISTS)
    assert "coarse" in index.tuning
    return index


def make_adaptive_faiss_adaptor(ids: np.ndarray, vecs: np.ndarray) -> VectorIndex:
    """Candidates scored on adaptor codes (the untrained one: training is tested apart)."""
    index = FaissAdaptiveIndex.build(ids, vecs, tune_queries=100,
                                     adaptor=Adaptor.fit(vecs, train=False))
    assert index.adaptor is not None
    return index


def make_empty_adaptive_faiss_adaptor() -> VectorIndex:
    return FaissAdaptiveIndex(DIM, adaptor=Adaptor.from_rotation(Rotation.identity(DIM)))


Factory = Callable[[np.ndarray, np.ndarray], VectorIndex]
KINDS = {"exact": (make_exact, make_empty_exact, ExactIndex),
         "adaptive": (make_adaptive, make_empty_adaptive, AdaptiveIndex),
         "adaptive-faiss": (make_adaptive_faiss, make_empty_adaptive_faiss,
                            FaissAdaptiveIndex),
         "adaptive-faiss-two-level": (make_adaptive_faiss_two_level,
                                      make_empty_adaptive_faiss, FaissAdaptiveIndex),
         "adaptive-faiss-adaptor": (make_adaptive_faiss_adaptor,
                                    make_empty_adaptive_faiss_adaptor, FaissAdaptiveIndex)}


@pytest.fixture(params=sorted(KINDS))
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray]:
    vecs = clustered(3000)
    ids = np.arange(1000, 1000 + len(vecs), dtype=np.int64) * 3  # sparse, not positions
    return ids, vecs


@pytest.fixture
def index(kind: str, data: tuple[np.ndarray, np.ndarray]) -> VectorIndex:
    return KINDS[kind][0](*data)


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(np.intersect1d(f, t)) / len(t)
                          for f, t in zip(found, truth, strict=True)]))


def truth_of(ids: np.ndarray, vecs: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    return ids[np.argsort(-(queries @ vecs.T), axis=1)[:, :k]]


def test_is_a_vector_index(index: VectorIndex) -> None:
    assert isinstance(index, VectorIndex)
    assert index.count == 3000


def test_search_finds_the_nearest(index: VectorIndex, data: tuple[np.ndarray, np.ndarray]) -> None:
    ids, vecs = data
    queries = clustered(50, seed=7)
    hits = index.search(queries, 10)
    assert hits.ids.shape == (50, 10) and hits.ids.dtype == np.int64
    assert hits.scores.shape == (50, 10) and hits.scores.dtype == np.float32
    assert np.all(np.diff(hits.scores, axis=1) <= 1e-6), "best first"
    assert recall(hits.ids, truth_of(ids, vecs, queries, 10)) >= 0.9
    # a stored vector finds itself, with its cosine score
    own = index.search(vecs[:5], 1)
    assert own.ids[:, 0].tolist() == ids[:5].tolist()
    np.testing.assert_allclose(own.scores[:, 0], 1.0, atol=2e-3)


def test_single_vector_query(index: VectorIndex, data: tuple[np.ndarray, np.ndarray]) -> None:
    ids, vecs = data
    assert index.search(vecs[3], 1).ids[0, 0] == ids[3]


def test_a_query_alone_gets_what_it_gets_in_a_batch(index: VectorIndex) -> None:
    # 2,000 of the 3,000: more than the tuned probes reach (about 1,300 rows for the FAISS
    # index), so a lone query must probe on as a batch does
    queries = clustered(6, seed=11)
    batch = index.search(queries, 2000)
    assert (batch.ids >= 0).all()
    for row, query in enumerate(queries):
        alone = index.search(query, 2000)
        # the same scores; ids alike but for near-ties (a batch's matrix product and a lone
        # query's can differ in the last bits)
        np.testing.assert_allclose(alone.scores[0], batch.scores[row], atol=1e-5)
        assert len(np.intersect1d(alone.ids[0], batch.ids[row])) >= 1990


def test_remove_and_add(index: VectorIndex, data: tuple[np.ndarray, np.ndarray]) -> None:
    ids, vecs = data
    assert index.remove(ids[:10]) == 10
    assert index.remove(ids[:10]) == 0
    assert index.count == 2990
    hits = index.search(vecs[:10], 5)
    assert not np.isin(hits.ids, ids[:10]).any()
    new = clustered(20, seed=3)
    new_ids = np.arange(20, dtype=np.int64) + 10**9
    index.add(new_ids, new)
    assert index.count == 3010
    assert index.search(new, 1).ids[:, 0].tolist() == new_ids.tolist()
    with pytest.raises(ValueError):
        index.add(new_ids[:1], new[:1])
    index.add(ids[:1], vecs[:1])  # re-adding a removed id is a replacement
    assert index.search(vecs[:1], 1).ids[0, 0] == ids[0]


def test_filter_by_mask_and_by_ids(index: VectorIndex, data: tuple[np.ndarray, np.ndarray]) -> None:
    ids, vecs = data
    rng = np.random.default_rng(1)
    chosen = rng.choice(ids, 600, replace=False)
    mask = np.zeros(ids.max() + 1, bool)
    mask[chosen] = True
    queries = clustered(20, seed=9)
    sub = np.isin(ids, chosen)
    truth = truth_of(ids[sub], vecs[sub], queries, 10)
    for allowed in (mask, chosen):
        hits = index.search(queries, 10, allowed=allowed)
        assert np.isin(hits.ids, chosen).all()
        assert recall(hits.ids, truth) >= 0.9


def test_filter_far_away_still_gives_k(index: VectorIndex,
                                       data: tuple[np.ndarray, np.ndarray]) -> None:
    ids, vecs = data
    query = vecs[:1]
    far = ids[np.argsort(query @ vecs.T)[0][:15]]  # the 15 least similar vectors
    hits = index.search(query, 10, allowed=far)
    assert np.isin(hits.ids, far).all() and (hits.ids >= 0).all()
    # a large filter whose members are all far from the query: 1500 allowed
    scores = (query @ vecs.T)[0]
    half = ids[scores < np.median(scores)]
    hits = index.search(query, 10, allowed=half)
    assert np.isin(hits.ids, half).all() and (hits.ids >= 0).all()
    best = half[np.argsort(-scores[scores < np.median(scores)])[:10]]
    assert recall(hits.ids, best[None, :]) >= 0.9


def test_filter_with_fewer_than_k_pads(index: VectorIndex,
                                       data: tuple[np.ndarray, np.ndarray]) -> None:
    ids, vecs = data
    hits = index.search(vecs[:2], 10, allowed=ids[5:8])
    assert sorted(hits.ids[0, :3].tolist()) == ids[5:8].tolist()
    assert (hits.ids[:, 3:] == -1).all() and np.isneginf(hits.scores[:, 3:]).all()
    none = index.search(vecs[:2], 5, allowed=np.zeros(0, np.int64))
    assert (none.ids == -1).all()


def test_k_larger_than_n(kind: str) -> None:
    vecs = clustered(7, seed=2)
    index = KINDS[kind][1]()
    index.add(np.arange(7), vecs)
    hits = index.search(vecs[:3], 10)
    assert (hits.ids[:, :7] >= 0).all() and (hits.ids[:, 7:] == -1).all()
    assert np.isneginf(hits.scores[:, 7:]).all()


def test_empty_index(kind: str, tmp_path: Path) -> None:
    index = KINDS[kind][1]()
    assert index.count == 0
    hits = index.search(clustered(2), 3)
    assert (hits.ids == -1).all() and np.isneginf(hits.scores).all()
    index.save(tmp_path / "empty")
    assert KINDS[kind][2].load(tmp_path / "empty").count == 0


def test_save_load_roundtrip(kind: str, index: VectorIndex, tmp_path: Path,
                             data: tuple[np.ndarray, np.ndarray]) -> None:
    ids, vecs = data
    index.remove(ids[:3])
    queries = clustered(20, seed=5)
    before = index.search(queries, 10)
    index.save(tmp_path / "ix")
    loaded = KINDS[kind][2].load(tmp_path / "ix")
    assert loaded.count == index.count == 2997
    after = loaded.search(queries, 10)
    np.testing.assert_array_equal(before.ids, after.ids)
    np.testing.assert_allclose(before.scores, after.scores, atol=1e-6)
    loaded.add(ids[:3], vecs[:3])  # a loaded (memory-mapped) index still takes writes
    loaded.remove(ids[3:4])
    assert loaded.count == 2999
    assert loaded.search(vecs[:3], 1).ids[:, 0].tolist() == ids[:3].tolist()
    # the scores are the stored vectors' inner products, read from the memory-mapped rows
    # (before the add) and from those and the rows added since (after it)
    by_id = dict(zip(ids.tolist(), vecs, strict=True))
    both = np.vstack([vecs[:3], queries])
    for hits, q in ((after, queries), (loaded.search(both, 10), both)):
        expected = [[float(by_id[i] @ v) for i in row]
                    for row, v in zip(hits.ids.tolist(), q, strict=True)]
        np.testing.assert_allclose(hits.scores, expected, atol=1e-5)
