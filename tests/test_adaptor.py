"""The Matryoshka adaptor: its codes, its training, and the index that scores candidates on it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from papersift.vectors import fit_rotation, prefix_recall
from papersift.vectors.adaptive_faiss import FaissAdaptiveIndex
from papersift.vectors.adaptor import ADAPTOR_FORMAT, Adaptor, AdaptorError
from papersift.vectors.exact import exact_search
from tests.conftest import DATA, require


@pytest.fixture(scope="module")
def minilm() -> tuple[np.ndarray, np.ndarray]:
    """12,000 real MiniLM vectors of the 75k sample as a base, 300 others as queries."""
    x = np.load(require(DATA / "arxiv-75k-minilm.f16.npy"), mmap_mode="r")
    rows = np.random.default_rng(5).choice(len(x), 12_300, replace=False)
    v = np.asarray(x[np.sort(rows)], np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return v[:12_000], v[12_000:]


def test_codes_are_nested_prefixes_with_unit_document_codes() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((500, 48)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    adaptor = Adaptor.from_rotation(fit_rotation(x), width=32)
    assert (adaptor.dim, adaptor.width) == (48, 32)
    docs16, docs32 = adaptor.docs(x, 16), adaptor.docs(x, 32)
    np.testing.assert_allclose(np.linalg.norm(docs16, axis=1), 1.0, atol=1e-5)
    # the 16-dim code is the 32-dim one's prefix, renormalised
    head = docs32[:, :16] / np.linalg.norm(docs32[:, :16], axis=1, keepdims=True)
    np.testing.assert_allclose(docs16, head, atol=1e-5)
    np.testing.assert_allclose(adaptor.queries(x, 16), adaptor.queries(x, 32)[:, :16], atol=1e-6)
    with pytest.raises(ValueError, match=r"1\.\.32"):
        adaptor.docs(x, 33)


def test_normalised_rotation_keeps_more_neighbours(minilm: tuple[np.ndarray, np.ndarray]) -> None:
    """On real vectors, dividing out each stored prefix's length is worth it by itself."""
    base, queries = minilm
    rotation = fit_rotation(base)
    plain = prefix_recall(base, queries, rotation=rotation, prefixes=(32, 64))
    normalised = prefix_recall(base, queries, codes=Adaptor.from_rotation(rotation),
                               prefixes=(32, 64))
    for m in (32, 64):
        assert normalised[m][1] > plain[m][1] + 0.01, (m, plain[m], normalised[m])


def test_save_load_and_refusals(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    adaptor = Adaptor(rng.standard_normal((24, 8)).astype(np.float32),
                      rng.standard_normal((24, 8)).astype(np.float32), {"method": "test"})
    adaptor.save(tmp_path)
    loaded = Adaptor.load(tmp_path)
    np.testing.assert_array_equal(loaded.doc, adaptor.doc)
    np.testing.assert_array_equal(loaded.query, adaptor.query)
    assert loaded.info == {"method": "test"}
    meta = json.loads((tmp_path / "adaptor.json").read_text())
    meta["format"] = ADAPTOR_FORMAT + 1
    (tmp_path / "adaptor.json").write_text(json.dumps(meta))
    with pytest.raises(AdaptorError, match="rebuild the index"):
        Adaptor.load(tmp_path)
    with pytest.raises(AdaptorError, match="cannot read"):
        Adaptor.load(tmp_path / "nowhere")
    with pytest.raises(AdaptorError, match="shape"):
        Adaptor(adaptor.doc, adaptor.query[:, :4])


def test_training_lowers_its_loss() -> None:
    pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x = rng.standard_normal((2000, 32)).astype(np.float32) * np.linspace(2, 0.2, 32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    trained = Adaptor.fit(x, steps=25, anchors=200, batch=32, width=16, ladder=(4, 8, 16),
                          threads=1)
    assert (trained.dim, trained.width) == (32, 16)
    assert trained.info["method"] == "trained" and trained.info["steps"] == 25
    assert trained.info["loss"] < trained.info["first_loss"], trained.info


@pytest.mark.slow
def test_training_keeps_more_neighbours_than_the_rotation(
        minilm: tuple[np.ndarray, np.ndarray]) -> None:
    """A short training on 12k real vectors already beats its starting point (the
    normalised rotation) on held-out queries at the short lengths."""
    pytest.importorskip("torch")
    base, queries = minilm
    trained = Adaptor.fit(base, steps=150, anchors=2000, threads=2)
    assert trained.info["method"] == "trained" and trained.info["steps"] == 150
    fallback = Adaptor.from_rotation(fit_rotation(base))
    before = prefix_recall(base, queries, codes=fallback, prefixes=(16, 32))
    after = prefix_recall(base, queries, codes=trained, prefixes=(16, 32))
    for m in (16, 32):
        assert after[m][1] > before[m][1], (m, before[m], after[m])


def test_without_training_the_fit_is_the_rotation(minilm: tuple[np.ndarray, np.ndarray]) -> None:
    base, _ = minilm
    fallback = Adaptor.fit(base, train=False)
    assert fallback.info["method"] == "rotation" and "not trained" in fallback.info["reason"]
    np.testing.assert_allclose(np.abs(fallback.doc.T @ fit_rotation(base).matrix[:, :128]),
                               np.eye(128), atol=1e-3)


def test_index_on_adaptor_codes_reaches_its_target(
        minilm: tuple[np.ndarray, np.ndarray], tmp_path: Path) -> None:
    base, queries = minilm
    ids = np.arange(len(base), dtype=np.int64) * 7
    index = FaissAdaptiveIndex.build(ids, base, recall=0.95, d_s=64,
                                     adaptor=Adaptor.fit(base, train=False))
    assert index.d_s == 64 and index.tuning["adaptor"] == "rotation"
    truth = ids[exact_search(base, np.arange(len(base)), queries, 10).ids]
    found = index.search(queries, 10).ids
    recall = np.mean([len(np.intersect1d(f, t)) / 10 for f, t in zip(found, truth, strict=True)])
    assert recall >= 0.93
    index.save(tmp_path / "ix")
    loaded = FaissAdaptiveIndex.load(tmp_path / "ix")
    assert loaded.adaptor is not None and loaded.adaptor.info == index.adaptor.info  # type: ignore[union-attr]
    np.testing.assert_array_equal(loaded.search(queries, 10).ids, found)


def test_a_memory_budget_keeps_the_index_within_it(
        minilm: tuple[np.ndarray, np.ndarray], tmp_path: Path) -> None:
    base, queries = minilm
    ids = np.arange(len(base), dtype=np.int64) * 3
    adaptor = Adaptor.fit(base, train=False)
    free = FaissAdaptiveIndex.build(ids, base, recall=0.9, d_s=128, adaptor=adaptor)
    built_says = free.memory_bytes(as_loaded=True)  # the full vectors are still in RAM here
    assert free.memory_bytes() - built_says >= free.full.nbytes
    free.save(tmp_path / "free")
    free = FaissAdaptiveIndex.load(tmp_path / "free")
    assert free.bits == 8 and isinstance(free.pos_ids.base, np.memmap)  # a plain view of it
    unbound = free.memory_bytes() / free.count  # at 12,000 rows the lists' share is large
    assert built_says == pytest.approx(unbound * free.count, rel=0.01)
    budget = unbound - 30  # 8-bit codes of 128 dims do not fit, 4-bit ones (64 less) do
    tight = FaissAdaptiveIndex.build(ids, base, recall=0.9, d_s=128, adaptor=adaptor,
                                     memory=budget)
    assert tight.bits == 4 and tight.tuning["memory_budget"] == budget
    tight.save(tmp_path / "tight")
    tight = FaissAdaptiveIndex.load(tmp_path / "tight")
    assert tight.bits == 4
    assert tight.memory_bytes() / tight.count <= budget
    assert unbound - tight.memory_bytes() / tight.count == pytest.approx(64, abs=1)
    truth = ids[exact_search(base, np.arange(len(base)), queries, 10).ids]
    found = tight.search(queries, 10).ids
    assert np.mean([len(np.intersect1d(f, t)) / 10
                    for f, t in zip(found, truth, strict=True)]) >= 0.88
    least = FaissAdaptiveIndex.least_memory(len(base), base.shape[1], adaptor=True)
    with pytest.raises(ValueError, match="smallest needs"):
        FaissAdaptiveIndex.build(ids, base, adaptor=adaptor, memory=least - 5)
