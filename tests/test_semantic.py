"""Semantic and hybrid search through the library, with the real bundled encoder."""

from __future__ import annotations

import json
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


def test_interrupted_embedding_resumes_without_repeats(
    tmp_path: Path, encoder: Encoder, corpus: list[Paper]
) -> None:
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
    assert reopened.semantic.count == len(corpus) and reopened.semantic_ready()


def test_changed_paper_is_embedded_again(tmp_path: Path, encoder: Encoder,
                                         corpus: list[Paper]) -> None:
    lib = Library(tmp_path, encoder=encoder)
    lib.add(corpus[:50])
    lib.embed()
    rowid = lib.catalog.rowid(corpus[0].id)
    assert rowid is not None
    before = lib.semantic.vector_of(rowid)
    lib.add([Paper(id=corpus[0].id, title="Deep sea coral reefs", abstract="Coral bleaching.")])
    assert not lib.semantic_ready()
    assert lib.embed() == 1
    after = lib.semantic.vector_of(rowid)
    assert before is not None and after is not None and float(before @ after) < 0.9
    assert lib.semantic.count == 50


def test_modes_and_why(tmp_path: Path, encoder: Encoder, corpus: list[Paper]) -> None:
    lib = Library(tmp_path, encoder=encoder)
    lib.add(corpus)
    assert lib.search("vitamin", mode="auto")[0].why[0].startswith(("title", "abstract"))
    lib.embed()
    query = "microstructural development of the brain in premature infants"
    semantic = lib.search(query, mode="semantic", limit=5)
    hybrid = lib.search(query, mode="hybrid", limit=5)
    assert semantic[0].why[-1].startswith("semantic")
    assert semantic[0].score > semantic[-1].score
    assert {r.paper.id for r in hybrid} & {r.paper.id for r in semantic}
    assert lib.search(query)[0].paper.id == hybrid[0].paper.id  # auto is hybrid now


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


def test_similar_papers(tmp_path: Path, encoder: Encoder, corpus: list[Paper]) -> None:
    lib = Library(tmp_path, encoder=encoder)
    lib.add(corpus)
    lexical = lib.similar(corpus[0].id, limit=5)
    lib.embed()
    dense = lib.similar(corpus[0].id, limit=5)
    assert len(lexical) == len(dense) == 5
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
    tmp_path: Path, encoder: Encoder, corpus: list[Paper]
) -> None:
    settings = Settings(exact_below=100)
    lib = Library(tmp_path, encoder=encoder, settings=settings)
    lib.add(corpus)
    lib.embed()
    from papersift.vectors import ExactIndex

    # the numpy adaptive index, or the FAISS-backed one where faiss is installed
    assert not isinstance(lib.semantic.index(), ExactIndex)
    assert lib.semantic.index().kind in ("adaptive", "adaptive-faiss")  # type: ignore[attr-defined]
    query = "vitamin D deficiency and bone health"
    adaptive = [r.paper.id for r in lib.search(query, mode="semantic", limit=10)]
    exact = Library(tmp_path / "exact", encoder=encoder)
    exact.add(corpus)
    exact.embed()
    reference = [r.paper.id for r in exact.search(query, mode="semantic", limit=10)]
    assert len(set(adaptive) & set(reference)) >= 8
    # reopening finds the saved index; a paper added later is searchable without a rebuild
    lib.close()
    again = Library(tmp_path, encoder=encoder, settings=settings)
    again.add([Paper(id="new-1", title="Quantum gravity in anti-de Sitter space",
                     abstract="Holography and black hole entropy.")])
    again.embed()
    hits = again.search("holography black hole entropy", mode="semantic", limit=3)
    assert hits[0].paper.id == "new-1"
