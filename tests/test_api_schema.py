"""The JSON API against its own OpenAPI schema (schemathesis, against the app served on a
loopback port): for every operation, generated requests, valid and not, never get a server
error. The long run
against a real server is ``benchmarks/schemathesis_run.py``; the regressions it found are
pinned below."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from papersift.library import Library
from papersift.web import WebSettings, create_app
from tests.contracts.conftest import sample_papers
from tests.web_fixtures import RunningServer


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    library = Library(tmp_path_factory.mktemp("api-schema") / "lib")
    library.add(sample_papers(60))
    for i, paper in enumerate(sample_papers(6)):  # a few votes, so listings have some
        library.upvote(paper.id, f"voter{i}", "198.51.100.7")
    yield create_app(library, settings=WebSettings())
    library.close()


def test_no_operation_answers_with_a_server_error(app: object, tmp_path: Path) -> None:
    """schemathesis run (examples, coverage and fuzzing phases; a fixed seed) against the
    app on a loopback port: every operation of /openapi.json tested, no 5xx."""
    with RunningServer(app) as server:
        operations = sum(len(methods) for methods in
                         httpx.get(f"{server.url}/openapi.json").json()["paths"].values())
        done = subprocess.run(
            [str(Path(sys.executable).parent / "schemathesis"), "run",
             f"{server.url}/openapi.json", "--checks", "not_a_server_error", "--seed", "11",
             "--max-examples", "4", "--phases", "examples,coverage,fuzzing", "--workers", "1",
             "--no-color", "--generation-database", "none", "--request-timeout", "30"],
            capture_output=True, text=True, timeout=300, cwd=tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-6000:]
    assert f"Tested: {operations}" in output, output[-3000:]
    assert "Server error" not in output


@pytest.mark.parametrize(("method", "path", "body"), [
    ("post", "/api/signin", b'{"email": "", "next": ""}'),
    ("post", "/api/me/tokens", b'{"name": ""}'),
    ("post", "/api/papers/2501.00001/rating", b'{"value": -1}'),
    ("post", "/api/papers/2501.00001/save", b'{"collection": null, "note": ""}'),
    ("put", "/api/collections/0/papers/2501.00001", b'{"collection": null, "note": ""}'),
])
def test_a_json_body_sent_as_text_is_refused_with_415_not_500(
        app: object, method: str, path: str, body: bytes) -> None:
    """schemathesis's first finding: a JSON body with ``Content-Type: text/plain`` made the
    validation error's own JSON fail (its input was bytes), a 500 on five operations."""
    client = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]
    answer = client.request(method, path, content=body, headers={"Content-Type": "text/plain"})
    assert answer.status_code in (401, 403, 415), answer.text  # members-only ones may say 401
    if answer.status_code == 415:
        assert answer.json()["detail"].startswith("body: text/plain is not accepted")
    bad_bytes = client.post("/api/signin", content=b"\xff\xfe{",
                            headers={"Content-Type": "text/plain"})
    assert bad_bytes.status_code == 415


def test_a_422_names_the_field(app: object) -> None:
    client = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]
    answer = client.post("/api/signin", json={"email": 5})
    assert answer.status_code == 422
    [error] = answer.json()["detail"]
    assert error["field"] == "email" and error["input"] == 5 and error["msg"]


def test_the_fixture_library_is_real(app: object, tmp_path: Path) -> None:
    client = TestClient(app)  # type: ignore[arg-type]
    assert client.get("/api/status").json()["papers"] == 60


def test_ids_too_large_for_any_store_are_not_found(app: object) -> None:
    """schemathesis's second finding (its stateful phase, as a member): a collection or
    token id past 64 bits overflowed SQLite's driver on delete, a 500."""
    client = TestClient(app, raise_server_exceptions=False)  # type: ignore[arg-type]
    library: Library = app.state.web.library  # type: ignore[attr-defined]
    user = library.user("big@example.org") or library.add_user("big@example.org")
    client.headers["Authorization"] = f"Bearer {library.create_api_token(user, 'big')[0]}"
    huge = "8830715226057368574810390528"
    for method, path in [("delete", f"/api/collections/{huge}"),
                         ("delete", f"/api/collections/{huge}/papers/2501.00001"),
                         ("delete", f"/api/me/tokens/{huge}"),
                         ("patch", f"/api/collections/{huge}?name=renamed")]:
        answer = client.request(method, path)
        assert answer.status_code == 404, (method, path, answer.text)
