"""Small real libraries with real vectors for the map tests: the shared 75k sample's first
papers, their precomputed MiniLM vectors imported (not embedded: that takes minutes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from papersift.library import Library
from tests.conftest import DATA, require

ENCODER = "minilm-l6-int8"


def shared_vectors() -> tuple[np.ndarray, np.ndarray]:
    """The 75k sample's vectors (memory-mapped float16) and their arXiv ids."""
    vectors = np.load(require(DATA / "arxiv-75k-minilm.f16.npy"), mmap_mode="r")
    ids = np.load(require(DATA / "arxiv-75k-minilm.ids.npy"))
    return vectors, ids


def write_subset(folder: Path, rows: slice | np.ndarray, name: str = "subset") -> Path:
    """Rows of the shared vectors as ``NAME.f16.npy`` + ``NAME.ids.npy`` in ``folder``."""
    vectors, ids = shared_vectors()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.f16.npy"
    np.save(path, np.asarray(vectors[rows]))
    np.save(folder / f"{name}.ids.npy", np.asarray(ids[rows]))
    return path


def with_vectors(library: Library, scratch: Path, rows: slice | np.ndarray) -> Library:
    """Import the shared vectors of ``rows`` into ``library``."""
    library.import_vectors(write_subset(scratch, rows), encoder=ENCODER)
    return library


_BUILT: dict[str, Path] = {}


def mapped_library(cache_dir: Path, target: Path) -> Library:
    """A copy of the web test library (300 arXiv papers with their real vectors, 200 Daily
    Papers entries and the XSS paper without) with its map computed (built once per
    session, copied per caller)."""
    import shutil

    from papersift.atlas import library_map
    from tests.web_fixtures import build_library

    key = str(cache_dir)
    if key not in _BUILT:
        library = build_library(cache_dir / "library", require(DATA / "arxiv-75k.jsonl.gz"),
                                require(DATA / "hf-daily-papers" / "papers.json"))
        with_vectors(library, cache_dir / "vectors", slice(0, 300))
        library_map.update(library)
        library.close()
        _BUILT[key] = cache_dir / "library"
    shutil.copytree(_BUILT[key], target)
    return Library(target)
