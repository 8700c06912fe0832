"""Vectors that travel: import the shared sample's vectors, export and import again."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from papersift.cli import main
from papersift.library import Library
from papersift.vector_files import VectorFileError
from tests.conftest import DATA, require
from tests.web_fixtures import arxiv_papers


def run(library: Path, *args: str) -> object:
    return CliRunner().invoke(main, ["--library", str(library), *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def shared_vectors() -> Path:
    require(DATA / "arxiv-75k-minilm.ids.npy")
    return require(DATA / "arxiv-75k-minilm.f16.npy")


def test_import_the_shared_vectors_then_export_and_import_again(
        tmp_path: Path, arxiv_sample: Path, shared_vectors: Path) -> None:
    source = Library(tmp_path / "source")
    source.add(arxiv_papers(arxiv_sample, 1500))
    refused = run(tmp_path / "source", "vectors", "import", str(shared_vectors))
    assert refused.exit_code == 1 and "--encoder" in refused.stderr  # type: ignore[attr-defined]
    done = run(tmp_path / "source", "vectors", "import", str(shared_vectors),
               "--encoder", "minilm-l6-int8")
    assert done.exit_code == 0, done.stderr  # type: ignore[attr-defined]
    assert "imported 1,500 of 74,728 vectors (73,228 for papers not in this library)" \
        in done.stderr  # type: ignore[attr-defined]
    status = source.status()
    assert status.embedded == 1500 and status.semantic_ready  # no embedding needed
    query = "vision language model for robot manipulation"
    expected = source.search(query, mode="semantic", limit=10)
    assert expected.mode == "semantic" and len(expected) == 10
    # nothing was embedded: the imported vectors are the shared file's rows
    ids = np.load(DATA / "arxiv-75k-minilm.ids.npy")
    row = int(np.flatnonzero(ids == expected[0].paper.id)[0])
    shared = np.load(shared_vectors, mmap_mode="r")[row].astype(np.float32)
    key = source.store.key_of(expected[0].paper.id)
    assert np.allclose(source.dense.vectors(np.asarray([key]))[1][0], shared, atol=1e-3)

    exported = tmp_path / "vectors.npz"
    assert run(tmp_path / "source", "vectors", "export", str(exported)).exit_code == 0
    target = Library(tmp_path / "target")
    target.add(arxiv_papers(arxiv_sample, 1500))
    target.import_vectors(exported)
    again = target.search(query, mode="semantic", limit=10)
    assert [r.paper.id for r in again] == [r.paper.id for r in expected]
    assert run(tmp_path / "target", "check").exit_code == 0  # type: ignore[attr-defined]


def test_vectors_of_another_encoder_are_refused(tmp_path: Path, arxiv_sample: Path,
                                                shared_vectors: Path) -> None:
    library = Library(tmp_path / "lib")
    library.add(arxiv_papers(arxiv_sample, 50))
    with pytest.raises(VectorFileError, match="not comparable"):
        library.import_vectors(shared_vectors, encoder="some-other-model")
    assert library.status().embedded == 0
    broken = tmp_path / "broken.npz"
    broken.write_bytes(b"not a zip file")
    result = run(tmp_path / "lib", "vectors", "import", str(broken))
    assert result.exit_code == 1 and "broken.npz" in result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in result.output  # type: ignore[attr-defined]


def test_a_library_embedded_by_the_previous_version_keeps_its_vectors(
        tmp_path: Path, arxiv_sample: Path, shared_vectors: Path) -> None:
    """Before schema 4 a cursor file said how far embedding had come; it is taken over."""
    library = Library(tmp_path / "lib")
    library.add(arxiv_papers(arxiv_sample, 300))
    library.import_vectors(shared_vectors, encoder="minilm-l6-int8")
    changes = library.store.written_after(0, 0, limit=300)
    library.close()
    # make it look as the previous version left it: no embedding rows, a cursor at row 200
    import sqlite3

    db = sqlite3.connect(tmp_path / "lib" / "catalog.sqlite")
    db.execute("DELETE FROM embedded")
    db.commit()
    db.close()
    folder = next((tmp_path / "lib" / "vectors").iterdir())
    (folder / "cursor.json").write_text(json.dumps({"seq": changes[199].seq,
                                                    "rowid": changes[199].key}))
    reopened = Library(tmp_path / "lib")
    assert not (folder / "cursor.json").exists()
    assert reopened.store.count_unembedded("minilm-l6-int8") == 100  # past the cursor
