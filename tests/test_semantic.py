"""Semantic and hybrid search through the library, with the real bundled encoder."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from papersift.encoders import Encoder, load_encoder
from papersift.library import Library
from papersift.papers import Paper
from papersift.ranking import Filters
from papersift.settings import Settings


class CountingEncoder:
    """The real encoder, counting the texts it is asked to embed."""

    def __init__(self, inner: Encoder) -> None:
        self.inner = inner
        self.name, self.dim, self.max_tokens = inner.name, inner.dim, inner.max_tokens
        self.texts: list[str] = []

    def encode(self, texts: Sequence[str], *, batch_size: int = 32) -> np.ndarray:
        self.texts.extend(texts)
        return self.inner.encode(texts, batch_size=batch_size)


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return load_encoder()


@pytest.fixture(scope="module")
def corpus(scifact: Path) -> list[Paper]:
    papers = []
    with open(scifact / "corpus.jsonl", encoding="utf-8") as lines:
        for line, _ in zip(lines, range(300), strict=False):
            doc = json.loads(line)
            papers.append(Paper(id=doc["_id"], title=doc["title"], abstract=doc["text"]))
    return papers


@pytest.fixture(scope="module")
def embedded_once(tmp_path_factory: pytest.TempPathFactory, encoder: Encoder,
                  corpus: list[Paper]) -> Path:
    """The corpus, embedded once for the module (tests copy it: embedding is the slow part)."""
    folder = tmp_path_factory.mktemp("embedded") / "lib"
    lib = Library(folder, encoder=encoder)
    lib.add(corpus)
    lib.embed()
    lib.close()
    return folder


def embedded_copy(embedded_once: Path, target: Path, encoder: Encoder,
                  settings: Settings | None = None) -> Library:
    shutil.copytree(embedded_once, target)
    return Library(target, encoder=encoder, settings=settings)


def stored_vectors(lib: Library, ids: list[str]) -> np.ndarray:
    keys = np.asarray([lib.store.key_of(i) for i in ids], dtype=np.int64)
    found, vectors = lib.dense.vectors(keys)
    assert found.all()
    return np.asarray(vectors)


def test_interrupted_embedding_resumes_without_repeats(
    tmp_path: Path, encoder: Encoder, corpus: list[Paper], embedded_once: Path
) -> None:
    corpus = corpus[:200]
    counting = CountingEncoder(encoder)
    lib = Library(tmp_path, encoder=counting, settings=Settings(embed_batch=8))
    lib.add(corpus)
    stop = threading.Event()

    def interrupt(task: str, done: int, total: int | None) -> None:
        if done >= 128:
            stop.set()

    first = lib.embed(progress=interrupt, stop=stop)
    assert 0 < first < len(corpus) and not lib.semantic_ready()
    lib.close()
    reopened = Library(tmp_path, encoder=counting, settings=Settings(embed_batch=8))
    second = reopened.embed()
    assert first + second == len(corpus)
    assert len(counting.texts) == len(set(counting.texts)) == len(corpus)
    assert reopened.dense.count == len(corpus) and reopened.semantic_ready()
    # Cut into other chunks and batches than one uninterrupted run of 300 papers: the
    # same bits all the same (a vector depends on its paper's text only).
    whole = embedded_copy(embedded_once, tmp_path / "whole", encoder)
    ids = [paper.id for paper in corpus]
    assert np.array_equal(stored_vectors(reopened, ids), stored_vectors(whole, ids))


def test_changed_paper_is_embedded_again(tmp_path: Path, encoder: Encoder,
                                         corpus: list[Paper]) -> None:
    lib = Library(tmp_path, encoder=encoder)
    lib.add(corpus[:50])
    lib.embed()
    rowid = lib.store.key_of(corpus[0].id)
    assert rowid is not None
    before = lib.dense.vectors(np.asarray([rowid]))[1][0]
    lib.add([Paper(id=corpus[0].id, title="Deep sea coral reefs", abstract="Coral bleaching.")])
    assert not lib.semantic_ready()
    assert lib.embed() == 1
    after = lib.dense.vectors(np.asarray([rowid]))[1][0]
    assert before is not None and after is not None and float(before @ after) < 0.9
    assert lib.dense.count == 50


def test_modes_and_why(tmp_path: Path, encoder: Encoder, corpus: list[Paper],
                       embedded_once: Path) -> None:
    before = Library(tmp_path / "new", encoder=encoder)
    before.add(corpus)
    lexical = before.search("vitamin", mode="auto")
    assert lexical.mode == "lexical" and lexical[0].why[0].startswith(("title", "abstract"))
    lib = embedded_copy(embedded_once, tmp_path / "lib", encoder)
    query = "microstructural development of the brain in premature infants"
    semantic = lib.search(query, mode="semantic", limit=5)
    hybrid = lib.search(query, mode="hybrid", limit=5)
    assert semantic.mode == "semantic" and hybrid.mode == "hybrid" and not hybrid.notice
    assert semantic[0].why[-1].startswith("semantic")
    assert semantic[0].score > semantic[-1].score
    assert {r.paper.id for r in hybrid} & {r.paper.id for r in semantic}
    auto = lib.search(query)
    assert auto.mode == "hybrid" and auto[0].paper.id == hybrid[0].paper.id


def test_filters_inside_the_dense_ranker(tmp_path: Path, encoder: Encoder) -> None:
    from datetime import date

    lib = Library(tmp_path, encoder=encoder)
    topics = ["protein folding", "galaxy formation", "graph neural networks", "coral reefs"]
    papers = [Paper(id=f"2401.{i:05d}", title=f"{topics[i % 4]} study {i}",
                    abstract=f"We study {topics[i % 4]}.", published=date(2024, 1, 1 + i % 20),
                    categories=("q-bio",) if i == 37 else ("cs.LG",))
              for i in range(80)]
    lib.add(papers)
    lib.embed()
    # the only allowed paper is far from the query: it must still be found
    only = lib.search("galaxy formation", mode="semantic", filters=Filters(categories=("q-bio",)))
    assert [r.paper.id for r in only] == ["2401.00037"]
    dated = lib.search("galaxy", mode="hybrid", limit=50,
                       filters=Filters(since=date(2024, 1, 10), until=date(2024, 1, 12)))
    assert dated and all(date(2024, 1, 10) <= r.paper.published <= date(2024, 1, 12)
                         for r in dated if r.paper.published)


def test_similar_papers(tmp_path: Path, encoder: Encoder, corpus: list[Paper],
                        embedded_once: Path) -> None:
    before = Library(tmp_path / "new", encoder=encoder)
    before.add(corpus)
    lexical = before.similar(corpus[0].id, limit=5)
    assert lexical.mode == "lexical" and "no vector yet" in (lexical.notice or "")
    dense = embedded_copy(embedded_once, tmp_path / "lib", encoder).similar(corpus[0].id, limit=5)
    assert len(lexical) == len(dense) == 5 and dense.mode == "semantic" and not dense.notice
    assert corpus[0].id not in {r.paper.id for r in dense}
    assert dense[0].score >= dense[-1].score


def test_check_notices_damaged_vectors(tmp_path: Path, encoder: Encoder,
                                       corpus: list[Paper]) -> None:
    lib = Library(tmp_path, encoder=encoder)
    lib.add(corpus[:40])
    lib.embed()
    assert lib.check() == []
    segment = next((tmp_path / "vectors").glob("*/seg-*[0-9].npy"))
    data = bytearray(segment.read_bytes())
    data[-10:] = b"\x00" * 10
    segment.write_bytes(bytes(data))
    assert any("checksum" in problem for problem in lib.check())


def test_adaptive_index_serves_a_library_above_the_threshold(
    tmp_path: Path, encoder: Encoder, embedded_once: Path
) -> None:
    settings = Settings(exact_below=100)
    lib = embedded_copy(embedded_once, tmp_path / "lib", encoder, settings)
    lib.dense.prepare()
    from papersift.vectors import ExactIndex

    # the numpy adaptive index, or the FAISS-backed one where faiss is installed
    index = lib.dense.index()  # type: ignore[attr-defined]
    assert not isinstance(index, ExactIndex)
    assert index.kind in ("adaptive", "adaptive-faiss")
    # recall is a mean over queries (the index is tuned for 0.95 on average; one query's
    # top 10 can lose more, and float sums differ between machines' BLAS builds)
    queries = ["vitamin D deficiency and bone health", "stem cell differentiation",
               "cancer immunotherapy response", "antibiotic resistance in bacteria",
               "gene expression in the brain", "insulin and type 2 diabetes",
               "malaria transmission", "protein folding and misfolding",
               "heart failure mortality", "DNA repair after damage"]
    exact = Library(embedded_once, encoder=encoder)  # the same vectors, searched exactly
    overlaps = []
    for query in queries:
        adaptive = {r.paper.id for r in lib.search(query, mode="semantic", limit=10)}
        reference = {r.paper.id for r in exact.search(query, mode="semantic", limit=10)}
        overlaps.append(len(adaptive & reference) / 10)
    exact.close()
    assert sum(overlaps) / len(overlaps) >= 0.85, overlaps
    # reopening finds the saved index; a paper added later is searchable without a rebuild
    lib.close()
    again = Library(tmp_path / "lib", encoder=encoder, settings=settings)
    again.add([Paper(id="new-1", title="Quantum gravity in anti-de Sitter space",
                     abstract="Holography and black hole entropy.")])
    again.embed()
    hits = again.search("holography black hole entropy", mode="semantic", limit=3)
    assert hits[0].paper.id == "new-1"


def test_an_index_memory_budget_too_small_leaves_the_index_as_it_was(
    tmp_path: Path, encoder: Encoder, embedded_once: Path
) -> None:
    lib = embedded_copy(embedded_once, tmp_path / "lib", encoder, Settings(exact_below=100))
    said = lib.build_index(recall=0.9)
    assert "8-bit codes" in said and "bytes per vector in RAM" in said
    summary = lib.vector_index()  # read from the saved index, as `papersift stats` does
    assert summary["kind"] == "adaptive-faiss" and summary["code_bits"] == 8
    assert summary["vectors"] == lib.dense.count and summary["memory_budget"] is None
    assert f"{summary['ram_bytes_per_vector']:.0f} bytes per vector in RAM" in said
    saved = (tmp_path / "lib" / "vectors").rglob("index/index.json")
    [meta] = list(saved)
    before = meta.read_bytes()
    from papersift.vectors.adaptive_faiss import FaissAdaptiveIndex

    least = FaissAdaptiveIndex.least_memory(lib.dense.count, 384)
    with pytest.raises(ValueError, match=f"the least is about {least:.0f}"):
        lib.build_index(recall=0.9, memory=least - 1)
    assert meta.read_bytes() == before
    lib.close()


def test_stats_say_a_small_library_is_searched_exactly(
    tmp_path: Path, encoder: Encoder, embedded_once: Path
) -> None:
    lib = embedded_copy(embedded_once, tmp_path / "lib", encoder)
    assert lib.vector_index() == {"kind": "exact", "below": 20_000}
    lib.close()
