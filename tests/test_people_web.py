"""People on the web app (in process): signing in by mailed link, sessions and cookies,
CSRF, API tokens, limits, ratings, collections, exports, account data."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from papersift.library import Library
from papersift.settings import Settings
from papersift.web import WebSettings, create_app
from tests.mailbox import Mailbox
from tests.postgres_fixtures import ON_BOTH, drop_database, library_on
from tests.web_fixtures import XSS_ID, library_copy

PAPER = "2503.11731"


@pytest.fixture
def library(request: pytest.FixtureRequest, arxiv_sample: Path, daily_papers_json: Path,
            tmp_path: Path, mailbox: Mailbox,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    """The web test library; in PostgreSQL too for the tests marked ``@ON_BOTH`` (those
    that keep people's data: a copy there costs seconds per test)."""
    cache = tmp_path_factory.getbasetemp() / "web-library"
    cache.mkdir(exist_ok=True)
    library_copy(cache, tmp_path / "lib", arxiv_sample, daily_papers_json).close()
    options = {"mail": mailbox.settings, "settings": Settings(sign_in_minutes=0.03)}
    lib, url = library_on(request, Library(tmp_path / "lib", **options),  # type: ignore[arg-type]
                          **options)
    yield lib  # type: ignore[misc]
    lib.close()  # type: ignore[attr-defined]
    shutil.rmtree(tmp_path / "lib", ignore_errors=True)
    if url:
        drop_database(request.getfixturevalue("postgres_server"), url)


def client_for(library: Library, base: str = "http://testserver", **settings: object
               ) -> TestClient:
    options = {"base_url": base, "registration": "open", **settings}
    app = create_app(library, settings=WebSettings(**options))  # type: ignore[arg-type]
    return TestClient(app, base_url=base)


def form_token(page: Response) -> str:
    found = re.search(r'name="csrf" value="([^"]*)"', page.text)
    assert found and found.group(1), "the page has no CSRF token"
    return found.group(1)


def ask_link(client: TestClient, email: str, next_path: str = "/") -> Response:
    page = client.get("/signin")
    return client.post("/signin", data={"email": email, "csrf": form_token(page),
                                        "next": next_path})


def sign_in(client: TestClient, mailbox: Mailbox, email: str = "ada@example.org") -> str:
    """Sign in through the mailed link; returns the CSRF token of the session."""
    mailbox.clear()
    assert ask_link(client, email).status_code == 200
    link = mailbox.last_link()
    path = link.split("://", 1)[1].split("/", 1)[1]
    confirm = client.get("/" + path)
    token = re.search(r'name="token" value="([^"]+)"', confirm.text)
    assert confirm.status_code == 200 and token
    done = client.post("/signin/confirm", data={"token": token.group(1)},
                       follow_redirects=False)
    assert done.status_code == 303, done.text
    session = client.get("/api/session").json()
    assert session["user"]["email"] == email
    return str(session["csrf"])


@ON_BOTH
def test_the_mailed_link_signs_in_once_then_fails(library: Library, mailbox: Mailbox) -> None:
    client = client_for(library)
    told = ask_link(client, "Ada@Example.org", "/me")
    assert told.status_code == 200 and "a sign-in link is on its way" in told.text
    link = mailbox.last_link()
    assert link.startswith("http://testserver/signin/confirm?token=")
    token = link.split("token=")[1]
    for _ in range(2):  # opening the link (or a mail scanner fetching it) spends nothing
        opened = client.get(urlsplit(link).path + "?token=" + token)
        assert opened.status_code == 200 and opened.headers["cache-control"] == "no-store"
        assert opened.headers["referrer-policy"] == "same-origin"
    first = client.post("/signin/confirm", data={"token": token}, follow_redirects=False)
    assert first.status_code == 303 and first.headers["location"] == "/me"
    cookie = first.headers["set-cookie"]
    assert cookie.startswith("papersift_session=") and "HttpOnly" in cookie
    assert "SameSite=lax" in cookie and "Secure" not in cookie and "Path=/" in cookie
    assert client.get("/api/me").json()["user"]["email"] == "ada@example.org"
    other = TestClient(client.app)
    second = other.post("/signin/confirm", data={"token": token}, follow_redirects=False)
    assert second.status_code == 400 and "has been used or has expired" in second.text
    assert other.get("/api/me").status_code == 401


def test_the_mailed_link_expires(library: Library, mailbox: Mailbox) -> None:
    import time

    client = client_for(library)
    ask_link(client, "ada@example.org")
    token = mailbox.last_link().split("token=")[1]
    time.sleep(2.0)  # the library's links last 0.03 minutes here
    late = client.post("/signin/confirm", data={"token": token}, follow_redirects=False)
    assert late.status_code == 400 and client.get("/api/me").status_code == 401


def test_cookies_are_secure_behind_https(library: Library, mailbox: Mailbox) -> None:
    client = client_for(library, base="https://testserver")
    sign_in(client, mailbox)
    assert mailbox.last_link(fresh=False).startswith("https://testserver/")
    response = client.post("/signout", data={"csrf": client.get("/api/session").json()["csrf"]},
                           follow_redirects=False)
    assert "Secure" in response.headers["set-cookie"]


def test_the_answer_is_the_same_for_every_address(library: Library, mailbox: Mailbox) -> None:
    library.add_user("known@example.org")
    library.request_sign_in("waiting@example.org", link_for=str, registration="closed")
    client = client_for(library, registration="closed")
    answers = set()
    for email in ("known@example.org", "unknown@example.org", "waiting@example.org"):
        page = ask_link(client, email)
        assert page.status_code == 200
        answers.add(re.sub(r'value="[^"]*"', "", page.text))  # the page, less its tokens
    assert len(answers) == 1
    mailbox.wait(1)
    assert [m["To"] for m in mailbox.messages] == ["known@example.org"]
    unknown = library.user("unknown@example.org")
    assert unknown is not None and unknown.status == "pending"  # for an admin to approve
    api = client.get("/api/session").json()
    assert api["registration"] == "closed" and api["user"] is None
    listed = client.post("/api/signin", json={"email": "other@example.org"},
                         headers={"X-CSRF-Token": api["csrf"]})
    assert listed.status_code == 202 and listed.json()["detail"].startswith("If this address")
    assert client.post("/api/signin", json={"email": "x@example.org"}).status_code == 403
    bad = ask_link(client, "not an address")
    assert bad.status_code == 400 and "is not an e-mail address" in bad.text


def test_sign_in_requests_are_limited_per_address_and_network(library: Library,
                                                             mailbox: Mailbox) -> None:
    library.add_user("ada@example.org")
    client = client_for(library, sign_ins_per_hour=2, network_sign_ins_per_hour=5,
                        sign_ups_per_hour=1)
    codes = [ask_link(client, "ada@example.org").status_code for _ in range(3)]
    assert codes == [200, 200, 429]  # the address's bucket (2)
    codes = [ask_link(client, f"p{i}@example.org").status_code for i in range(3)]
    assert codes == [200, 200, 429]  # every ask counts for the network: its 5 are gone
    mailbox.wait(3)
    import time

    time.sleep(0.5)  # a fourth mail would have arrived by now
    assert sorted(m["To"] for m in mailbox.messages) == [
        "ada@example.org", "ada@example.org", "p0@example.org"]  # one new account an hour,
    # and p1 was told the same as everyone


def test_a_public_server_without_mail_or_base_url_says_so(library: Library) -> None:
    client = TestClient(create_app(library, settings=WebSettings(registration="open")))
    page = client.get("/signin")
    refused = client.post("/signin", data={"email": "ada@example.org", "csrf": form_token(page)})
    assert refused.status_code == 503 and "base_url" in refused.text


def test_changes_need_the_csrf_token_and_this_site(library: Library, mailbox: Mailbox) -> None:
    client = client_for(library)
    csrf = sign_in(client, mailbox)
    url = f"/api/papers/{PAPER}/rating"
    assert client.post(url, json={"value": 1}).status_code == 403
    assert client.post(url, json={"value": 1}, headers={"X-CSRF-Token": "forged"}
                       ).status_code == 403
    crossed = client.post(url, json={"value": 1},
                          headers={"X-CSRF-Token": csrf, "Origin": "https://evil.example"})
    assert crossed.status_code == 403
    assert client.post(f"/papers/{PAPER}/save", data={}).status_code == 403
    assert library.ratings(library.user("ada@example.org")) == {}
    ok = client.post(url, json={"value": 1}, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and ok.json() == {"id": PAPER, "rating": 1}
    other = TestClient(client.app)  # another browser: its token is not ada's
    assert other.post(url, json={"value": -1}, headers={"X-CSRF-Token": csrf}
                      ).status_code == 401


@ON_BOTH
def test_api_tokens_work_without_cookies_or_csrf(library: Library, mailbox: Mailbox) -> None:
    client = client_for(library)
    csrf = sign_in(client, mailbox)
    made = client.post("/api/me/tokens", json={"name": "script"}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201
    secret = made.json()["token"]
    script = TestClient(client.app)
    bearer = {"Authorization": f"Bearer {secret}"}
    assert script.get("/api/me", headers=bearer).json()["user"]["email"] == "ada@example.org"
    saved = script.post(f"/api/papers/{PAPER}/save", json={"note": "via script"},
                        headers=bearer)
    assert saved.status_code == 200 and saved.json()["name"] == "Saved"
    assert script.get("/api/me", headers={"Authorization": "Bearer pst_wrong"}
                      ).status_code == 401
    revoked = script.delete(f"/api/me/tokens/{made.json()['id']}", headers=bearer)
    assert revoked.status_code == 204
    assert script.get("/api/me", headers=bearer).status_code == 401


@ON_BOTH
def test_votes_are_counted_apart_and_pages_show_the_total(library: Library,
                                                          mailbox: Mailbox) -> None:
    visitor = client_for(library)
    visitor.get("/")
    assert visitor.post(f"/api/papers/{PAPER}/upvote").json()["voted"] is True
    member = client_for(library)
    csrf = sign_in(member, mailbox)
    assert member.post(f"/api/papers/{PAPER}/upvote").status_code == 403  # no CSRF token
    voted = member.post(f"/api/papers/{PAPER}/upvote", headers={"X-CSRF-Token": csrf})
    assert voted.json() == {"id": PAPER, "upvotes": 2, "voted": True}
    paper = member.get(f"/api/papers/{PAPER}").json()
    assert paper["paper"]["votes"] == {"source": 0, "here": 2, "anonymous": 1, "members": 1}
    assert paper["voted"] is True and paper["paper"]["upvotes"] == 2
    page = member.get(f"/papers/{PAPER}").text
    assert '<span class="count">2</span>' in page and 'aria-pressed="true"' in page
    form = member.post(f"/papers/{PAPER}/upvote?next=/", data={"csrf": csrf},
                       follow_redirects=False)  # a form without JavaScript: withdrawn
    assert form.status_code == 303 and library.get(PAPER).votes_members == 0  # type: ignore[union-attr]


def test_members_only_pages(library: Library) -> None:
    client = client_for(library)
    for page in ("/feed", "/me", "/account", "/collections/1", "/feed/start?q=x"):
        response = client.get(page, follow_redirects=False)
        assert response.status_code == 303, page
        assert response.headers["location"].startswith("/signin?next=")
    for api in ("/api/feed", "/api/me", "/api/me/papers", "/api/collections",
                "/api/me/export"):
        assert client.get(api).status_code == 401, api


@ON_BOTH
def test_collections_on_the_web(library: Library, mailbox: Mailbox) -> None:
    client = client_for(library)
    csrf = sign_in(client, mailbox)
    made = client.post("/collections", data={"csrf": csrf, "name": "<b>Group</b> & co"},
                       follow_redirects=False)
    assert made.status_code == 303
    collection = int(made.headers["location"].rsplit("/", 1)[1])
    page = client.get(f"/papers/{PAPER}")
    assert "Save to" in page.text and "&lt;b&gt;Group&lt;/b&gt; &amp; co" in page.text
    client.post(f"/papers/{PAPER}/save", data={"csrf": csrf, "collection": str(collection),
                                               "note": "<script>alert(1)</script>"})
    client.post(f"/papers/{XSS_ID}/save", data={"csrf": csrf, "collection": str(collection)})
    shown = client.get(f"/collections/{collection}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown and "<script>alert" not in shown
    assert shown.count("<script") == 1  # only /static/app.js
    data = client.get(f"/api/collections/{collection}").json()
    assert [p["paper"]["id"] for p in data["papers"]] == [XSS_ID, PAPER]
    bib = client.get(data["exports"]["bibtex"])
    assert bib.headers["content-disposition"] == 'attachment; filename="b-Group-b-co.bib"'
    assert r"note = {<script>alert(1)</script>}" in bib.text and "eprint = {2503.11731}" in bib.text
    imported = client.post(f"/collections/{collection}/import",
                           data={"csrf": csrf, "text": "2503.12284\n2999.99999\n"})
    assert "1 matched, 1 new in this collection, 1 not in this library" in imported.text
    assert "line 2: 2999.99999" in imported.text
    other = client_for(library)
    sign_in(other, mailbox, "bob@example.org")
    assert other.get(f"/api/collections/{collection}").status_code == 404
    assert other.get(f"/api/collections/{collection}/export?format=ris").status_code == 404
    mine = client.get("/api/me/papers").json()
    assert [c["name"] for c in mine["collections"]] == ["<b>Group</b> & co"]


@ON_BOTH
def test_sign_out_everywhere_and_delete_the_account(library: Library, mailbox: Mailbox) -> None:
    phone, laptop = client_for(library), client_for(library)
    sign_in(phone, mailbox)
    csrf = sign_in(laptop, mailbox)
    assert laptop.get("/api/me").json()["sessions"] == 2
    laptop.post("/signout", data={"csrf": csrf, "everywhere": "1"})
    assert phone.get("/api/me").status_code == 401 and laptop.get("/api/me").status_code == 401
    csrf = sign_in(laptop, mailbox)
    laptop.post(f"/api/papers/{PAPER}/rating", json={"value": 1}, headers={"X-CSRF-Token": csrf})
    export = laptop.get("/api/me/export")
    assert export.headers["content-disposition"].startswith("attachment")
    assert export.json()["ratings"][0]["paper"] == PAPER
    refused = laptop.post("/account/delete", data={"csrf": csrf, "confirm": "someone@else.org"})
    assert refused.status_code == 400 and library.user("ada@example.org") is not None
    gone = laptop.post("/account/delete", data={"csrf": csrf, "confirm": "ada@example.org"},
                       follow_redirects=False)
    assert gone.status_code == 303 and library.user("ada@example.org") is None
    assert laptop.get("/api/me").status_code == 401


def test_openapi_documents_the_people_api(library: Library) -> None:
    paths = client_for(library).get("/openapi.json").json()["paths"]
    for expected in ["/api/session", "/api/signin", "/api/signout", "/api/me",
                     "/api/me/tokens", "/api/me/tokens/{token_id}", "/api/me/export",
                     "/api/me/papers", "/api/papers/{paper_id}/rating",
                     "/api/papers/{paper_id}/save", "/api/collections",
                     "/api/collections/{collection_id}", "/api/collections/{collection_id}/export",
                     "/api/collections/{collection_id}/import",
                     "/api/collections/{collection_id}/papers/{paper_id}", "/api/feed",
                     "/api/feed/start"]:
        assert expected in paths, expected
    assert "/feed" not in paths and "/signin" not in paths
