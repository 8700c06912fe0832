"""Vector store durability, the nested rotation, and the adaptive index's recall."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from papersift.vectors import (
    AdaptiveIndex,
    ExactIndex,
    VectorStore,
    build_index,
    choose_index,
    fit_rotation,
    prefix_recall,
)
from papersift.vectors.adaptive_faiss import COARSE_MIN_LISTS, PROBE_RANGE, FaissAdaptiveIndex
from papersift.vectors.nested import Rotation


def real_like(n: int, dim: int = 128, seed: int = 0) -> np.ndarray:
    """Unit vectors shaped like sentence embeddings: a shared mean direction, many topics,
    a decaying spectrum, and coordinates that are *not* aligned with that spectrum (a random
    basis), so unrotated prefixes are poor summaries and recall is not trivially easy."""
    rng = np.random.default_rng(seed)
    spectrum = 1.0 / np.sqrt(1 + np.arange(dim))
    topics = rng.standard_normal((300, dim)) * spectrum
    x = topics[rng.integers(0, 300, n)] + 0.9 * rng.standard_normal((n, dim)) * spectrum
    x += 1.5 * np.eye(dim)[0]
    basis, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    x = x @ basis
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


# ------------------------------------------------------------------------- store
def test_store_add_remove_replace_compact(tmp_path: Path) -> None:
    store = VectorStore.open(tmp_path / "v", encoder="mini", dim=8)
    vecs = real_like(30, dim=8)
    store.add(np.arange(20), vecs[:20])
    store.add(np.arange(20, 30), vecs[20:])
    assert store.count == 30 and store.ids().tolist() == list(range(30))
    with pytest.raises(ValueError):
        store.add(np.array([3]), vecs[:1])
    assert store.remove(np.array([3, 25, 99])) == 2
    store.add(np.array([3]), vecs[29:30])  # replace = remove + add
    reopened = VectorStore.open(tmp_path / "v")
    assert reopened.count == 29 and 25 not in reopened.ids()
    np.testing.assert_allclose(reopened.vectors()[reopened.ids() == 3][0], vecs[29], atol=1e-3)
    reopened.compact()
    again = VectorStore.open(tmp_path / "v")
    assert sorted(again.ids().tolist()) == sorted(set(range(30)) - {25})
    assert len(list((tmp_path / "v").glob("seg-*.ids.npy"))) == 1
    assert again.verify() == []
    assert isinstance(again.vectors(), np.memmap)


def test_store_crash_leaves_previous_state_and_resumes(tmp_path: Path) -> None:
    directory = tmp_path / "v"
    store = VectorStore.open(directory, encoder="mini", dim=8)
    vecs = real_like(40, dim=8)
    store.add(np.arange(10), vecs[:10])
    store.applied_seq = 7
    # a crash mid-add: one half-written temp file and one complete but unlisted segment
    (directory / ".seg-000002.npy.tmp").write_bytes(b"\x93NUMPY garbage")
    np.save(directory / "seg-000003.npy", vecs[10:20].astype(np.float16))
    np.save(directory / "seg-000003.ids.npy", np.arange(10, 20))
    reopened = VectorStore.open(directory, encoder="mini", dim=8)
    assert reopened.ids().tolist() == list(range(10)) and reopened.applied_seq == 7
    assert reopened.verify() == []
    # the embedding run resumes: whatever is not stored yet is added, nothing twice
    todo = np.setdiff1d(np.arange(40), reopened.ids())
    reopened.add(todo, vecs[todo])
    final = VectorStore.open(directory)
    assert sorted(final.ids().tolist()) == list(range(40))
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["count"] == 40 and manifest["applied_seq"] == 7
    assert "seg-000003" not in [s["name"] for s in manifest["segments"]]


def test_store_refuses_other_encoder(tmp_path: Path) -> None:
    VectorStore.open(tmp_path / "v", encoder="mini", dim=8)
    with pytest.raises(ValueError, match="mini"):
        VectorStore.open(tmp_path / "v", encoder="other", dim=8)
    with pytest.raises(FileNotFoundError):
        VectorStore.open(tmp_path / "nothing")


# ------------------------------------------------------------------------- rotation
def test_rotation_preserves_inner_products(tmp_path: Path) -> None:
    x = real_like(2000)
    rot = fit_rotation(x)
    np.testing.assert_allclose(rot.matrix.T @ rot.matrix, np.eye(128), atol=1e-5)
    np.testing.assert_allclose(rot.apply(x[:50]) @ rot.apply(x[50:100]).T,
                               x[:50] @ x[50:100].T, atol=1e-5)
    assert np.all(np.diff(rot.energy) <= 1e-7) and abs(rot.energy.sum() - 1) < 1e-5
    rot.save(tmp_path / "rot.npy")
    np.testing.assert_array_equal(Rotation.load(tmp_path / "rot.npy").matrix, rot.matrix)


def test_rotation_makes_prefixes_nested() -> None:
    x = real_like(6000)
    rot = fit_rotation(x[:5000])
    rows = np.arange(5000, 5200)
    rotated = prefix_recall(x[:5000], x[rows], rotation=rot, prefixes=(16, 32, 128))
    plain = prefix_recall(x[:5000], x[rows], prefixes=(16, 32, 128))
    assert rotated[128] == (1.0, 1.0)
    for m in (16, 32):
        assert rotated[m][1] > plain[m][1] + 0.1, (m, rotated[m], plain[m])
    assert rotated[32][1] > 0.8


# ------------------------------------------------------------------------- adaptive
@pytest.fixture(scope="module")
def corpus() -> tuple[np.ndarray, np.ndarray]:
    x = real_like(40_300, seed=3)
    return x[:40_000], x[40_000:]


def exact_top10(base: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Row positions of the exact top 10 of each query."""
    truth = ExactIndex(base.shape[1])
    truth.add(np.arange(len(base), dtype=np.int64), base)
    return truth.search(queries, 10).ids


def recall_at_10(found: np.ndarray, expected: np.ndarray) -> float:
    return float(np.mean([len(np.intersect1d(a, b)) / 10
                          for a, b in zip(found, expected, strict=True)]))


@pytest.mark.parametrize("target", [0.9, 0.98])
def test_adaptive_reaches_recall_target_on_held_out_queries(
        corpus: tuple[np.ndarray, np.ndarray], target: float) -> None:
    base, queries = corpus
    ids = np.arange(len(base), dtype=np.int64)
    index = AdaptiveIndex.build(ids, base, recall=target, tune_queries=300)
    assert index.tuning["reached"]
    expected = exact_top10(base, queries)
    measured = recall_at_10(index.search(queries, 10).ids, expected)
    assert measured >= target - 0.02, (measured, index.params, index.tuning)
    # far less work than a full pass
    assert index.params.nprobe < 0.25 * index.nlist
    assert recall_at_10(index.search(queries, 10, budget=0.25).ids, expected) < measured


def test_faiss_index_ranks_many_lists_with_a_tuned_two_level_quantizer(
        corpus: tuple[np.ndarray, np.ndarray], tmp_path: Path) -> None:
    base, queries = corpus
    ids = np.arange(len(base), dtype=np.int64)
    index = FaissAdaptiveIndex.build(ids, base, tune_queries=300, nlist=COARSE_MIN_LISTS)
    coarse = index.tuning["coarse"]
    assert 1 <= coarse["probe"] < coarse["lists"]  # it probes only some of the super-lists
    # ... and still ranks the centroids well enough for the end-to-end recall target
    got = index.search(queries, 10).ids
    measured = recall_at_10(got, exact_top10(base, queries))
    assert measured >= 0.93, (measured, index.params, index.tuning)
    # a bigger budget probes more lists, and more super-lists with them
    wide = index._search_params(4 * max(index.params.nprobe, 32))
    assert wide[1].nprobe > coarse["probe"]
    index.save(tmp_path / "ix")
    loaded = FaissAdaptiveIndex.load(tmp_path / "ix")
    np.testing.assert_array_equal(loaded.search(queries, 10).ids, got)


def test_faiss_index_probes_each_query_its_own_number_of_lists(
        corpus: tuple[np.ndarray, np.ndarray], tmp_path: Path) -> None:
    """Per-query probing: a query probes the lists within the median gap at rank ``nprobe``
    (within :data:`PROBE_RANGE`); batches and single queries probe alike; the gaps are saved,
    and an index saved without them probes ``nprobe`` lists for every query."""
    base, queries = corpus[0][:20_000], corpus[1]
    index = FaissAdaptiveIndex.build(np.arange(len(base), dtype=np.int64), base,
                                     tune_queries=200, d_s=96)
    assert index.tuning["probing"] in {"per query", "fixed"}  # recorded; pick_config chose
    index.fit_probing(queries)
    nprobe = max(index.params.nprobe, 8)
    x = index._query_codes(index.rotation.apply(queries).astype(np.float32))
    counts = np.array([index._probe_lists(x[i:i + 1], nprobe)[0].shape[1]
                       for i in range(len(x))])
    assert round(nprobe * PROBE_RANGE[0]) <= counts.min() < nprobe < counts.max()
    assert counts.max() <= round(nprobe * PROBE_RANGE[1])
    assert abs(np.median(counts) - nprobe) <= 1  # fitted on these queries
    batch = index._probe_lists(x, nprobe)[0]  # -1 past each query's own lists
    np.testing.assert_array_equal((batch >= 0).sum(axis=1), counts)
    together = index.search(queries, 10)
    alone = np.vstack([index.search(q[None, :], 10).ids for q in queries])
    np.testing.assert_array_equal(together.ids, alone)
    assert recall_at_10(together.ids, exact_top10(base, queries)) >= 0.9
    allowed = np.zeros(len(base), bool)
    allowed[::3] = True  # a filter probes a fixed number of lists, scaled by its share
    assert allowed[index.search(queries[:20], 10, allowed=allowed).ids].all()

    index.save(tmp_path / "ix")
    loaded = FaissAdaptiveIndex.load(tmp_path / "ix")
    assert loaded.gaps is not None and index.gaps is not None
    np.testing.assert_array_equal(loaded.gaps, index.gaps)
    np.testing.assert_array_equal(loaded.search(queries, 10).ids, together.ids)
    meta = json.loads((tmp_path / "ix" / "index.json").read_text())
    del meta["gaps"]  # as saved before per-query probing
    (tmp_path / "ix" / "index.json").write_text(json.dumps(meta))
    older = FaissAdaptiveIndex.load(tmp_path / "ix")
    assert older.gaps is None
    index.fit_probing(None)
    np.testing.assert_array_equal(older.search(queries, 10).ids, index.search(queries, 10).ids)


def test_adaptive_large_filter_probes_more_lists(corpus: tuple[np.ndarray, np.ndarray]) -> None:
    base, queries = corpus
    ids = np.arange(len(base), dtype=np.int64)
    index = AdaptiveIndex.build(ids, base, tune_queries=100)
    index.small_filter = 0  # force the probing path even for modest filters
    allowed = np.zeros(len(base), bool)
    allowed[::50] = True  # 2% of the collection
    hits = index.search(queries[:20], 10, allowed=allowed)
    assert allowed[hits.ids].all() and (hits.ids >= 0).all()
    sub = np.flatnonzero(allowed)
    truth = sub[np.argsort(-(queries[:20] @ base[sub].T), axis=1)[:, :10]]
    assert recall_at_10(hits.ids, truth) >= 0.9


def test_adaptive_adds_merge_into_lists(corpus: tuple[np.ndarray, np.ndarray],
                                        tmp_path: Path) -> None:
    base, _ = corpus
    index = AdaptiveIndex.build(np.arange(20_000), base[:20_000], tune_queries=100)
    for start in range(20_000, 24_000, 500):  # 20% more, in batches: merges on the way
        index.add(np.arange(start, start + 500), base[start:start + 500])
    assert index.count == 24_000 and len(index.overflow.ids) < 0.05 * len(index.lists.ids) + 500
    hits = index.search(base[20_000:20_050], 1)
    assert (hits.ids[:, 0] == np.arange(20_000, 20_050)).mean() >= 0.96
    index.save(tmp_path / "ix")
    loaded = AdaptiveIndex.load(tmp_path / "ix")
    assert isinstance(loaded.lists.full, np.memmap)
    assert loaded.memory_bytes() / loaded.count < 100 + loaded.params.d_s


def test_choose_index() -> None:
    assert choose_index(1000) is ExactIndex and choose_index(10**6) is AdaptiveIndex
    x = real_like(500, dim=16)
    assert isinstance(build_index(np.arange(500), x), ExactIndex)


def test_adaptive_tunes_on_held_out_vectors_and_keeps_them(
        corpus: tuple[np.ndarray, np.ndarray], tmp_path: Path) -> None:
    base, _ = corpus
    ids = np.arange(20_000, dtype=np.int64) * 7
    index = AdaptiveIndex.build(ids, base[:20_000], tune_queries=200)
    assert index.tuning["held_out"] and index.tuning["queries"] == 200
    assert index.tuning["tuned_for"] == pytest.approx(0.96) and index.tuning["target"] == 0.95
    # the held-out vectors were added back: every id is stored and finds itself
    assert index.count == 20_000 and sorted(index.ids.tolist()) == ids.tolist()
    assert (index.search(base[:200], 1).ids[:, 0] == ids[:200]).mean() >= 0.98
    # clusters are found on the full-length vectors; centroids are ranked on a prefix
    assert index.d_c == base.shape[1] and 0 < index.params.d_p <= index.d_c
    index.save(tmp_path / "ix")
    loaded = AdaptiveIndex.load(tmp_path / "ix")
    assert loaded.params == index.params and loaded.lists.full.dtype == np.float32
    np.testing.assert_array_equal(loaded.search(base[:20], 10).ids, index.search(base[:20], 10).ids)


def test_plain_and_general_search_paths_agree(corpus: tuple[np.ndarray, np.ndarray]) -> None:
    """The fast path (no filter, overflow or tombstone) returns what the general one does."""
    base, queries = corpus
    index = AdaptiveIndex.build(np.arange(10_000), base[:10_000], tune_queries=100)
    everything = np.ones(10_000, bool)
    index.small_filter = 0  # a filter allowing everything takes the general path
    fast = index.search(queries[:30], 10)
    general = index.search(queries[:30], 10, allowed=everything)
    assert (fast.ids == general.ids).mean() >= 0.99
    np.testing.assert_allclose(fast.scores, general.scores, atol=1e-5)


def test_ranges_and_top() -> None:
    from papersift.vectors.adaptive import _ranges, _top

    starts, ends = np.array([5, 9, 9, 20]), np.array([8, 9, 11, 21])
    assert _ranges(starts, ends).tolist() == [5, 6, 7, 9, 10, 20]
    assert _ranges(np.array([3]), np.array([3])).tolist() == []
    scores = np.array([0.1, 0.9, 0.5, 0.7, 0.2], np.float32)
    assert _top(scores, 2).tolist() == [1, 3] and _top(scores, 9).tolist() == [0, 1, 2, 3, 4]


def test_tuner_prefers_recall_among_configs_equally_fast() -> None:
    from papersift.vectors.tuning import pick_config

    latencies = np.array([1.00, 1.05, 1.30, 1.08]) * 1e-4
    # within 10% of the fastest, the highest predicted recall wins; a much slower one never
    assert pick_config(latencies, [0.961, 0.968, 0.990, 0.965]) == 1
    # equal recall: the faster
    assert pick_config(latencies, [0.97, 0.97, 0.99, 0.97]) == 0
    assert pick_config(latencies, [0.97, 0.95, 0.99, 0.96], slack=0.0) == 0


def test_float32_codes_option(corpus: tuple[np.ndarray, np.ndarray], tmp_path: Path) -> None:
    base, queries = corpus
    index = AdaptiveIndex.build(np.arange(10_000), base[:10_000], tune_queries=100,
                                code_dtype="float32")
    assert index.lists.codes.dtype == np.float32 and (index.scale == 1).all()
    truth = np.argsort(-(queries[:50] @ base[:10_000].T), axis=1)[:, :10]
    got = index.search(queries[:50], 10).ids
    assert recall_at_10(got, truth) >= 0.9
    index.save(tmp_path / "ix")
    loaded = AdaptiveIndex.load(tmp_path / "ix")
    assert loaded.code_dtype == "float32"
    loaded.add(np.array([10**6]), base[10_000:10_001])
    assert loaded.search(base[10_000:10_001], 1).ids[0, 0] == 10**6
    with pytest.raises(ValueError, match="code_dtype"):
        AdaptiveIndex(8, code_dtype="float16")
