"""Many processes on one library: a server answers while another process writes.

The server is ``papersift serve`` in its own process, as a user runs it; the writer is
``papersift ingest`` (which embeds what it adds) in another. Clients read and vote the
whole time. Nothing may fail, nothing may take a second, and the server must show the
new papers (and their vectors) without a restart.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from papersift.library import Library
from tests.postgres_fixtures import BACKENDS, drop_database, new_database
from tests.web_fixtures import arxiv_papers

PAPERSIFT = [sys.executable, "-m", "papersift.cli"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(library: Path | str, *options: str) -> tuple[subprocess.Popen[bytes], str]:
    """``papersift serve`` in its own process on a free loopback port, once it answers."""
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [*PAPERSIFT, "-L", str(library), "serve", "--port", str(port), "--no-embed", *options],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/api/status", timeout=2).status_code == 200:
                return server, url
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise RuntimeError("server did not start: " + (server.stderr.read().decode()
                                                           if server.stderr else ""))
        time.sleep(0.2)


@pytest.fixture
def served(tmp_path: Path, arxiv_sample: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """A server over an embedded library of 120 papers, and 120 more papers waiting in a
    JSONL file for another process to ingest."""
    papers = arxiv_papers(arxiv_sample, 240)
    library = Library(tmp_path / "lib")
    library.add(papers[:120])
    library.embed()
    library.close()
    waiting = tmp_path / "more.jsonl"
    waiting.write_text("".join(json.dumps({
        "id": p.id, "title": p.title, "abstract": p.abstract, "authors": list(p.authors),
        "categories": list(p.categories),
        "published": p.published.isoformat() if p.published else None,
    }) + "\n" for p in papers[120:]))
    server, url = start_server(tmp_path / "lib")
    try:
        yield url, waiting, [p.id for p in papers[120:]]
    finally:
        server.terminate()
        server.wait(timeout=30)


def _client_loop(url: str, stop: threading.Event, log: list[tuple[str, int, float]],
                 paper_ids: list[str]) -> None:
    with httpx.Client(base_url=url, timeout=10) as client:
        client.get("/")  # a page view: the voter cookie
        i = 0
        while not stop.is_set():
            paths = [("GET", "/api/search?q=language+models&mode=hybrid"),
                     ("GET", "/api/search?q=robot+grasping&mode=lexical"),
                     ("GET", f"/api/papers/{paper_ids[i % len(paper_ids)]}"),
                     ("GET", "/api/daily"), ("GET", "/api/status"),
                     ("POST", f"/api/papers/{paper_ids[i % len(paper_ids)]}/upvote")]
            method, path = paths[i % len(paths)]
            start = time.perf_counter()
            response = client.request(method, path)
            log.append((path, response.status_code, time.perf_counter() - start))
            i += 1


def test_server_answers_while_another_process_ingests_and_embeds(
        served: tuple[str, Path, list[str]]) -> None:
    url, waiting, new_ids = served
    old_ids = [p["id"] for p in httpx.get(f"{url}/api/daily").json()["papers"]]
    for _ in range(3):  # warm up: the encoder, the index, the first connections
        httpx.get(f"{url}/api/search?q=warm+up&mode=hybrid", timeout=60)
    log: list[tuple[str, int, float]] = []
    stop = threading.Event()
    clients = [threading.Thread(target=_client_loop, args=(url, stop, log, old_ids))
               for _ in range(3)]
    for client in clients:
        client.start()
    writer = subprocess.run(
        [*PAPERSIFT, "-L", str(waiting.parent / "lib"), "ingest", str(waiting)],
        capture_output=True, text=True, timeout=600)
    written = time.monotonic()
    seen = None
    while time.monotonic() - written < 15:  # the new papers appear without a restart
        status = httpx.get(f"{url}/api/status").json()
        found = httpx.get(f"{url}/api/papers/{new_ids[-1]}")
        if found.status_code == 200 and status["embedded"] == status["papers"] == 240:
            seen = time.monotonic() - written
            break
        time.sleep(0.2)
    stop.set()
    for client in clients:
        client.join()
    assert writer.returncode == 0, writer.stderr
    assert "120 added" in writer.stderr and "embedded 120 papers" in writer.stderr
    assert seen is not None, "the server did not show the new papers and vectors in 15 s"
    # 429s are the vote rate limit doing its job (three clients voting non-stop)
    errors = [(path, code) for path, code, _ in log if code >= 400 and code != 429]
    slow = sorted((round(t, 2), path) for path, _, t in log if t > 1.0)
    assert len(log) > 100 and not errors and not slow, (errors[:5], slow[:5])
    semantic = httpx.get(f"{url}/api/search", params={
        "q": httpx.get(f"{url}/api/papers/{new_ids[5]}").json()["paper"]["title"],
        "mode": "semantic"}).json()
    assert semantic["mode_used"] == "semantic" and semantic["coverage"] == 1.0
    assert new_ids[5] in [r["paper"]["id"] for r in semantic["results"][:3]]
    votes = sum(1 for path, code, _ in log if path.endswith("/upvote") and code == 200)
    assert votes > 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_workers_share_votes_cookies_and_limits(tmp_path: Path, arxiv_sample: Path,
                                                     backend: str,
                                                     request: pytest.FixtureRequest) -> None:
    location = str(tmp_path / "lib")
    if backend == "postgresql":
        location = new_database(request.getfixturevalue("postgres_server"))
        request.addfinalizer(lambda: drop_database(
            request.getfixturevalue("postgres_server"), location))
    library = Library(location)
    library.add(arxiv_papers(arxiv_sample, 60))
    ids = [p.id for p in library.daily(limit=10).papers]
    library.close()
    server, url = start_server(location, "--workers", "2")
    try:
        results: list[tuple[int, bool | None]] = []

        def voter(n: int) -> None:
            # a fresh connection per request, so requests spread over both workers
            cookie = httpx.get(f"{url}/").cookies["papersift_voter"]
            for i in range(6):  # votes on papers 0..5, then withdraws the one on paper 0
                paper = ids[i % 5] if i < 5 else ids[0]
                r = httpx.post(f"{url}/api/papers/{paper}/upvote",
                               cookies={"papersift_voter": cookie})
                results.append((r.status_code, r.json().get("voted")))

        threads = [threading.Thread(target=voter, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [code for code, _ in results] == [200] * 48  # every worker knew every cookie
        counts = {i: httpx.get(f"{url}/api/papers/{i}").json()["paper"]["votes"]["here"]
                  for i in ids[:5]}
        assert counts == {ids[0]: 0, ids[1]: 8, ids[2]: 8, ids[3]: 8, ids[4]: 8}
        assert httpx.get(f"{url}/api/status").json()["votes"] == 32
    finally:
        server.terminate()
        server.wait(timeout=30)
