"""``papersift vectors import`` and ``papersift map`` as a user runs them, on real data."""

from __future__ import annotations

import gzip
import sys
from itertools import islice
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner, Result

from papersift.cli import main
from papersift.library import Library
from tests.conftest import DATA, require
from tests.map_fixtures import ENCODER, write_subset


def run(library: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--library", str(library), *args])


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """400 papers of the sample, not embedded."""
    source = tmp_path / "first-400.jsonl.gz"
    with gzip.open(require(DATA / "arxiv-75k.jsonl.gz"), "rt") as lines, \
            gzip.open(source, "wt") as out:
        out.writelines(islice(lines, 400))
    result = run(tmp_path / "lib", "ingest", "--no-embed", str(source))
    assert result.exit_code == 0, result.output
    return tmp_path / "lib"


def _one_line_error(result: Result, *words: str) -> None:
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), result.output
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0], lines[0]


def test_import_refuses_bad_files(library: Path, tmp_path: Path) -> None:
    vectors = write_subset(tmp_path / "v", slice(0, 300))
    _one_line_error(run(library, "vectors", "import", str(vectors), "-e", "minilm-l6-fp32"),
                    "minilm-l6-fp32", "minilm-l6-int8")
    _one_line_error(run(library, "vectors", "import", str(tmp_path / "nope.npy"), "-e", ENCODER),
                    "nope.npy", "no such file")
    narrow = tmp_path / "narrow.npy"
    np.save(narrow, np.eye(3, 10, dtype=np.float16))
    np.save(tmp_path / "narrow.ids.npy", np.asarray(["2503.1", "2503.2", "2503.3"]))
    _one_line_error(run(library, "vectors", "import", str(narrow), "-e", ENCODER),
                    "10 dimensions", "384 dimensions")
    long = tmp_path / "long.npy"
    np.save(long, np.full((2, 384), 0.5, np.float16))
    np.save(tmp_path / "long.ids.npy", np.asarray(["2503.1", "2503.2"]))
    _one_line_error(run(library, "vectors", "import", str(long), "-e", ENCODER), "unit length")
    assert Library(library).status().embedded == 0  # nothing stored


def test_import_then_embed_only_what_the_file_lacked(library: Path, tmp_path: Path) -> None:
    vectors = write_subset(tmp_path / "v", np.r_[0:300, 500:600])  # 100 rows not in the library
    result = run(library, "vectors", "import", str(vectors), "-e", ENCODER)
    assert result.exit_code == 0, result.output
    assert ("imported 300 of 400 vectors (100 for papers not in this library); 300 of 400 "
            "papers have vectors") in result.output
    lib = Library(library)
    assert lib.status().embedded == 300 and lib.embedding_pending()
    shared = np.load(require(DATA / "arxiv-75k-minilm.f16.npy"), mmap_mode="r")
    first = str(np.load(require(DATA / "arxiv-75k-minilm.ids.npy"))[0])
    key = lib.store.key_of(first)
    assert key is not None
    found, stored = lib.dense.vectors(np.asarray([key]))
    assert found[0] and np.array_equal(stored[0].astype(np.float16), shared[0])
    lib.close()
    embedded = run(library, "embed")
    assert embedded.exit_code == 0, embedded.output
    assert "embedded 100 papers" in embedded.output
    assert run(library, "check").exit_code == 0


def test_map_needs_vectors_then_computes_then_updates(library: Path, tmp_path: Path) -> None:
    _one_line_error(run(library, "map"), "no vectors", "papersift embed")
    run(library, "vectors", "import", str(write_subset(tmp_path / "v", slice(0, 400))),
        "-e", ENCODER)
    first = run(library, "map")
    assert first.exit_code == 0, first.output
    assert "map v1: 400 papers, computed over 400 papers" in first.output
    png = tmp_path / "map.png"
    again = run(library, "map", "--png", str(png), "--topics", "5")
    assert again.exit_code == 0, again.output
    assert "map v1: 400 papers, placed 0 new papers, removed 0" in again.output
    assert png.read_bytes()[:4] == b"\x89PNG" and "labels" in again.output
    _one_line_error(run(library, "map", "--png", str(tmp_path / "no" / "such" / "dir.png")),
                    "dir.png", "no such folder")


def test_map_without_the_extra_says_what_to_install(library: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    run(library, "vectors", "import", str(write_subset(tmp_path / "v", slice(0, 400))),
        "-e", ENCODER)
    monkeypatch.setitem(sys.modules, "umap", None)  # as if umap-learn were not installed
    _one_line_error(run(library, "map"), 'pip install "papersift[map]"')
