"""`papersift embed --ray`: encoding on a real local Ray instance gives local embedding's
vectors, resumes after SIGKILL, and says what is wrong in one line.

One Ray instance per module (starting one takes 10-20 s), on loopback only: Ray's
single-machine mode binds every server to 127.0.0.1. It is stopped after the module.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from papersift.library import Library, RayOptions
from papersift.ray_embedding import SINGLE_MACHINE
from papersift.settings import Settings
from tests.conftest import DATA, REPO, require
from tests.web_fixtures import arxiv_papers

#: Ray's servers on loopback only, no usage reports: for this process, Ray's workers and
#: every papersift process a test starts.
RAY_ENV = {SINGLE_MACHINE: "0", "RAY_USAGE_STATS_ENABLED": "0"}


def _import_ray() -> object:
    try:
        import ray
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail('CI must have Ray: scripts/test.sh installs "papersift[ray]"')
        pytest.skip('Ray is not installed: pip install "papersift[ray]"')
    return ray


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    """A local Ray instance with 2 CPUs for this module; its GCS address."""
    temp = tempfile.mkdtemp(prefix="ray-", dir="/tmp")  # short: Ray puts sockets in it
    with pytest.MonkeyPatch.context() as env:
        for name, value in RAY_ENV.items():
            env.setenv(name, value)
        ray = _import_ray()  # after the environment: Ray reads it when imported
        src = str(REPO / "src")  # Ray's workers import papersift from this checkout
        env.setenv("PYTHONPATH", os.pathsep.join(filter(None, [src, os.environ.get(
            "PYTHONPATH")])))
        info = ray.init(address="local", num_cpus=2, include_dashboard=False,  # type: ignore[attr-defined]
                        object_store_memory=512 << 20, logging_level="WARNING",
                        log_to_driver=False, _temp_dir=temp)
        try:
            address = info.address_info["gcs_address"]
            assert address.startswith("127.0.0.1:"), address
            yield address
        finally:
            ray.shutdown()  # type: ignore[attr-defined]
            shutil.rmtree(temp, ignore_errors=True)


def _vectors(lib: Library) -> dict[str, np.ndarray]:
    """Every current vector of the library, by paper id (float16, as stored)."""
    keys = lib.store.current_keys(lib.dense.name)
    found, vectors = lib.dense.vectors(keys)
    ids = lib.store.ids_of(keys[found].tolist())
    return {ids[k]: v for k, v in zip(keys[found].tolist(), vectors, strict=True)}


def test_ray_embedding_gives_local_embeddings_vectors(ray_address: str,
                                                      tmp_path: Path) -> None:
    papers = arxiv_papers(require(DATA / "arxiv-75k.jsonl.gz"), 300)
    # 16 papers a batch, 256 a chunk: two chunks, 19 batches spread over 2 workers.
    settings = Settings(embed_batch=16)
    local, on_ray = Library(tmp_path / "local", settings=settings), Library(
        tmp_path / "ray", settings=settings)
    local.add(papers)
    on_ray.add(papers)
    seen: list[int] = []
    assert local.embed() == 300
    assert on_ray.embed(ray=RayOptions(workers=2),
                        progress=lambda task, done, total: seen.append(done)) == 300
    assert seen[-1] == 300 and seen == sorted(seen) and len(seen) >= 19  # every batch
    mine, theirs = _vectors(local), _vectors(on_ray)
    assert set(mine) == set(theirs) == {p.id for p in papers}
    # The same batches through the same model file: the same bits, not just close.
    assert all(np.array_equal(mine[k], theirs[k]) for k in mine)
    assert on_ray.semantic_ready() and on_ray.dense.count == 300
    [job] = [j for j in on_ray.status().jobs if j.name == "embed"]
    assert job.status == "done" and job.done == 300
    hits = on_ray.search("graph neural networks", mode="semantic", limit=5)
    assert [h.paper.id for h in hits] == [h.paper.id for h in local.search(
        "graph neural networks", mode="semantic", limit=5)]


def _cli(library: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "papersift.cli", "-L", str(library), *args]


def _env(address: str) -> dict[str, str]:
    return {**os.environ, **RAY_ENV, "RAY_ADDRESS": address,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO / "src"),
                                                        os.environ.get("PYTHONPATH")]))}


def test_errors_are_one_line(ray_address: str, tmp_path: Path) -> None:
    library = tmp_path / "lib"
    Library(library).add(arxiv_papers(require(DATA / "arxiv-75k.jsonl.gz"), 3))
    with socket_on_loopback() as closed_port:
        result = subprocess.run(_cli(library, "embed", "--ray", f"127.0.0.1:{closed_port}"),
                                capture_output=True, text=True, env=_env(ray_address),
                                timeout=120)
    assert result.returncode == 1
    assert f"error: nothing answers at the Ray address '127.0.0.1:{closed_port}'" in (
        result.stderr)
    assert "ray start --head" in result.stderr and "Traceback" not in result.stderr
    without_ray = subprocess.run(
        [sys.executable, "-c", "import sys; sys.modules['ray'] = None; "
         "from papersift.cli import main; main()", "-L", str(library), "embed", "--ray"],
        capture_output=True, text=True, env=_env(ray_address), timeout=120)
    assert without_ray.returncode == 1 and "Traceback" not in without_ray.stderr
    assert 'pip install "papersift[ray]"' in without_ray.stderr
    assert not Library(library).has_vectors()


@contextmanager
def socket_on_loopback() -> Iterator[int]:
    """A loopback port that nothing listens on, while the block runs."""
    with socket.socket() as bound:
        bound.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        yield int(bound.getsockname()[1])


def _embedded(library: Path) -> int:
    db = sqlite3.connect(library / "catalog.sqlite")
    try:
        return int(db.execute("SELECT count(*) FROM embedded").fetchone()[0])
    finally:
        db.close()


@pytest.mark.slow
def test_sigkill_partway_then_rerun_embeds_every_paper_once(ray_address: str,
                                                             tmp_path: Path) -> None:
    """3,000 papers are chunks of 64, 128, 256, 512, 1,024 and 1,016 (the default batch of
    64): kill the run once a chunk is recorded, run it again, compare with an uninterrupted
    local run."""
    papers = arxiv_papers(require(DATA / "arxiv-75k.jsonl.gz"), 3000)
    library, reference = tmp_path / "ray", tmp_path / "local"
    Library(library).add(papers)
    Library(reference).add(papers)
    first = subprocess.Popen(_cli(library, "embed", "--ray", "--no-progress"),
                             env=_env(ray_address), stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 1800
    while _embedded(library) == 0 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert first.returncode == -signal.SIGKILL, first.stderr.read() if first.stderr else ""
    kept = _embedded(library)
    # Whole chunks, in the store's order: a prefix that the rerun continues from.
    assert kept in (64, 192, 448, 960, 1984), kept
    rerun = subprocess.run(_cli(library, "embed", "--ray", "--no-progress"),
                           env=_env(ray_address), capture_output=True, text=True,
                           timeout=1800)
    assert rerun.returncode == 0, rerun.stderr
    assert re.search(rf"embedded {3000 - kept:,} papers with minilm \(3,000 vectors", (
        rerun.stderr)), rerun.stderr
    assert Library(reference).embed() == 3000
    lib = Library(library)
    assert _embedded(library) == 3000 and lib.dense.count == 3000 and lib.semantic_ready()
    ours, uninterrupted = _vectors(lib), _vectors(Library(reference))
    assert set(ours) == set(uninterrupted) == {p.id for p in papers}
    assert all(np.array_equal(ours[k], uninterrupted[k]) for k in ours)
