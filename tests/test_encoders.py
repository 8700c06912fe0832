"""Encoders with the real bundled all-MiniLM-L6-v2: the int8 ONNX default against the
sentence-transformers reference, the export cache, and the protocol's promises."""

from __future__ import annotations

import json
import math
import multiprocessing
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from papersift.encoders import Encoder, EncoderError, load_encoder
from papersift.encoders.onnx_runtime import OnnxEncoder, minilm_folder
from papersift.papers import document_text

# A SciFact subset small enough for two encoders on two shared cores: the relevant documents
# of the first QUERIES test queries, plus the first corpus documents up to SUBSET_DOCS.
QUERIES = 40
SUBSET_DOCS = 150


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One export per test session, shared by the tests that only read the cache."""
    cache = tmp_path_factory.mktemp("papersift-cache")
    encoder = load_encoder(cache_dir=cache)
    assert isinstance(encoder, OnnxEncoder) and encoder.built
    return cache


@pytest.fixture(scope="session")
def int8(onnx_cache: Path) -> Encoder:
    return load_encoder("minilm", cache_dir=onnx_cache)


@pytest.fixture(scope="session")
def reference() -> Encoder:
    pytest.importorskip("sentence_transformers")
    return load_encoder("minilm-torch")


class SciFactSubset:
    """Queries, relevance judgments and documents of a SciFact subset, as texts."""

    def __init__(self, folder: Path) -> None:
        qrels: dict[str, dict[str, int]] = {}
        for line in (folder / "qrels" / "test.tsv").read_text().splitlines()[1:]:
            query_id, doc_id, score = line.split("\t")
            qrels.setdefault(query_id, {})[doc_id] = int(score)
        queries = {}
        for line in (folder / "queries.jsonl").read_text().splitlines():
            record = json.loads(line)
            if record["_id"] in qrels:
                queries[record["_id"]] = record["text"]
        self.query_ids = sorted(queries, key=int)[:QUERIES]
        self.queries = [queries[q] for q in self.query_ids]
        self.qrels = {q: qrels[q] for q in self.query_ids}
        wanted = {doc for judged in self.qrels.values() for doc in judged}
        docs: dict[str, str] = {}
        with (folder / "corpus.jsonl").open() as fh:
            for line in fh:
                record = json.loads(line)
                if record["_id"] in wanted or len(docs) < SUBSET_DOCS - len(wanted):
                    docs[record["_id"]] = document_text(record["title"], record["text"])
        self.doc_ids = list(docs)
        self.docs = list(docs.values())


@pytest.fixture(scope="module")
def memo() -> dict[str, object]:
    """Results computed once per module by function-scoped fixtures (``scifact`` is one)."""
    return {}


@pytest.fixture
def subset(scifact: Path, memo: dict[str, object]) -> SciFactSubset:
    if "subset" not in memo:
        memo["subset"] = SciFactSubset(scifact)
    return memo["subset"]  # type: ignore[return-value]


@pytest.fixture
def subset_vectors(
    subset: SciFactSubset, int8: Encoder, reference: Encoder, memo: dict[str, object]
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """(documents, queries) vectors of the subset for each runtime, encoded once."""
    if "vectors" not in memo:
        memo["vectors"] = {
            name: (encoder.encode(subset.docs), encoder.encode(subset.queries))
            for name, encoder in (("int8", int8), ("torch", reference))
        }
    return memo["vectors"]  # type: ignore[return-value]


def ndcg_at_10(ranked: list[str], judged: dict[str, int]) -> float:
    """nDCG@10 with graded gains (BEIR's definition: gain = relevance, log2 discount)."""
    dcg = sum(judged.get(doc, 0) / math.log2(rank + 2) for rank, doc in enumerate(ranked[:10]))
    ideal = sorted(judged.values(), reverse=True)[:10]
    idcg = sum(gain / math.log2(rank + 2) for rank, gain in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def top10(docs: np.ndarray, queries: np.ndarray, doc_ids: list[str]) -> list[list[str]]:
    scores = queries @ docs.T
    return [[doc_ids[i] for i in np.argsort(-row, kind="stable")[:10]] for row in scores]


# --- the protocol's promises -------------------------------------------------------------


def test_default_encoder_shape_dtype_and_unit_rows(int8: Encoder) -> None:
    assert isinstance(int8, Encoder)
    assert (int8.name, int8.dim, int8.max_tokens) == ("minilm-l6-int8", 384, 256)
    texts = ["Attention is all you need.", "", "Graph neural networks for molecules. " * 80]
    vectors = int8.encode(texts, batch_size=2)
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    empty = int8.encode([])
    assert empty.shape == (0, 384) and empty.dtype == np.float32


def test_a_vector_depends_on_its_text_only(int8: Encoder, scifact: Path) -> None:
    """Input order is kept, and neither the order, the companions nor the batch size moves
    a vector by a single bit (each text is run alone: the int8 model quantizes per run)."""
    texts = [json.loads(line)["text"] for line in (scifact / "corpus.jsonl").open()][:12]
    texts += ["short query", "another short one"]
    forward = int8.encode(texts, batch_size=4)
    backward = int8.encode(texts[::-1], batch_size=64)[::-1]
    alone = np.vstack([int8.encode([text]) for text in texts])
    assert np.array_equal(forward, backward) and np.array_equal(forward, alone)
    # and the order is the input's: each row is its own text's vector, not a neighbour's
    assert (forward @ alone.T).argmax(axis=1).tolist() == list(range(len(texts)))


def test_one_string_is_refused(int8: Encoder) -> None:
    with pytest.raises(TypeError, match="not one string"):
        int8.encode("a single string")


# --- int8 ONNX against the torch reference -----------------------------------------------


def test_int8_vectors_agree_with_torch_reference(
    subset_vectors: dict[str, tuple[np.ndarray, np.ndarray]],
) -> None:
    int8_docs, int8_queries = subset_vectors["int8"]
    torch_docs, torch_queries = subset_vectors["torch"]
    doc_cosines = (int8_docs[:50] * torch_docs[:50]).sum(axis=1)
    query_cosines = (int8_queries * torch_queries).sum(axis=1)
    assert doc_cosines.mean() > 0.98 and doc_cosines.min() > 0.95
    assert query_cosines.mean() > 0.98 and query_cosines.min() > 0.95


def test_int8_retrieval_matches_torch_reference(
    subset: SciFactSubset, subset_vectors: dict[str, tuple[np.ndarray, np.ndarray]]
) -> None:
    rankings = {name: top10(*vectors, subset.doc_ids) for name, vectors in subset_vectors.items()}
    ndcg = {
        name: np.mean(
            [ndcg_at_10(r, subset.qrels[q]) for q, r in zip(subset.query_ids, ranked, strict=True)]
        )
        for name, ranked in rankings.items()
    }
    overlap = np.mean(
        [
            len(set(a) & set(b)) / 10
            for a, b in zip(rankings["int8"], rankings["torch"], strict=True)
        ]
    )
    assert ndcg["torch"] > 0.5, "the reference itself should retrieve well on this subset"
    assert abs(ndcg["int8"] - ndcg["torch"]) < 0.03, ndcg
    assert overlap > 0.8, overlap


def test_model_folder_spec_matches_reference(reference: Encoder) -> None:
    encoder = load_encoder(str(minilm_folder()))
    texts = ["Protein folding with deep learning.", "A survey of retrieval-augmented generation"]
    np.testing.assert_allclose(encoder.encode(texts), reference.encode(texts), atol=1e-5)
    assert encoder.name != reference.name and "/" not in encoder.name


# --- the export cache --------------------------------------------------------------------


def test_second_load_reuses_cached_export(onnx_cache: Path) -> None:
    model_file = next((onnx_cache / "encoders" / "minilm-l6-int8").glob("model-*.onnx"))
    before = model_file.stat().st_mtime_ns
    encoder = load_encoder(cache_dir=onnx_cache)
    assert isinstance(encoder, OnnxEncoder)
    assert not encoder.built and encoder.model_path == model_file
    assert model_file.stat().st_mtime_ns == before


def test_cached_load_does_not_import_torch(onnx_cache: Path) -> None:
    script = (
        "import sys; from pathlib import Path; from papersift.encoders import load_encoder;"
        f"e = load_encoder(cache_dir=Path({str(onnx_cache)!r})); e.encode(['x']);"
        "assert not e.built; print(sorted({'torch', 'transformers'} & set(sys.modules)))"
    )
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.strip() == "[]"


def test_corrupted_cache_is_detected_and_rebuilt(onnx_cache: Path, tmp_path: Path) -> None:
    shutil.copytree(onnx_cache, tmp_path, dirs_exist_ok=True)
    folder = tmp_path / "encoders" / "minilm-l6-int8"
    model_file = next(folder.glob("model-*.onnx"))
    with model_file.open("r+b") as fh:  # flip bytes in the middle of the weights
        fh.seek(model_file.stat().st_size // 2)
        fh.write(b"\x00" * 64)
    encoder = load_encoder(cache_dir=tmp_path)
    assert isinstance(encoder, OnnxEncoder) and encoder.built
    vector = encoder.encode(["caffeine and sleep"])
    assert abs(float(np.linalg.norm(vector)) - 1.0) < 1e-4
    assert len(list(folder.glob("model-*.onnx"))) == 1


def test_manifest_records_sources_and_settings(onnx_cache: Path) -> None:
    manifest = json.loads(
        (onnx_cache / "encoders" / "minilm-l6-int8" / "manifest.json").read_text()
    )
    assert len(manifest["sources"]["model.safetensors"]["sha256"]) == 64
    assert manifest["settings"]["quantize_ops"] == ["MatMul"]
    assert manifest["settings"]["per_channel"] is True
    # written as before the fused export existed, so caches made then still match
    assert "fuse" not in manifest["settings"]


def test_fused_export_has_its_own_name_graph_and_close_vectors(
    onnx_cache: Path, int8: Encoder
) -> None:
    """The fused export's vectors differ slightly, so they carry a name of their own (a
    library's vectors are stored under it and never searched with another's queries)."""
    import onnx

    fused = load_encoder("minilm-int8-fused", cache_dir=onnx_cache)
    assert isinstance(fused, OnnxEncoder) and fused.name == "minilm-l6-int8-fused" != int8.name
    ops = {node.op_type for node in onnx.load(str(fused.model_path)).graph.node}
    assert {"QAttention", "SkipLayerNormalization", "EmbedLayerNormalization"} <= ops, ops
    manifest = json.loads(
        (onnx_cache / "encoders" / fused.name / "manifest.json").read_text()
    )
    assert manifest["settings"]["fuse"] is True
    texts = ["Protein folding with deep learning.", "Sparse attention for long documents"]
    close = (fused.encode(texts) * int8.encode(texts)).sum(axis=1)
    assert close.min() > 0.98


# --- errors for people -------------------------------------------------------------------


def test_model_missing_offline_is_a_clear_error() -> None:
    pytest.importorskip("sentence_transformers")
    with pytest.raises(EncoderError, match="not in the local Hugging Face cache"):
        load_encoder("papersift-tests/no-such-model-anywhere")


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EncoderError, match="does not exist"):
        load_encoder(str(tmp_path / "nowhere"))



def _encode_in_child(encoder: Encoder, texts: list[str], expected: np.ndarray) -> None:
    os._exit(0 if np.array_equal(encoder.encode(texts), expected) else 1)


def test_a_forked_process_encodes_with_its_own_lanes(int8: Encoder) -> None:
    """A process forked after the encoder ran (a server's worker, a job) gets lanes of its
    own instead of waiting forever on its parent's threads, which it does not have."""
    texts = ["graph neural networks", "protein folding with transformers", "ranking"] * 3
    expected = int8.encode(texts)  # the parent's lanes exist now
    child = multiprocessing.get_context("fork").Process(
        target=_encode_in_child, args=(int8, texts, expected))
    child.start()
    child.join(timeout=120)
    if child.exitcode is None:
        child.kill()
    assert child.exitcode == 0
