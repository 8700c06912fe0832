"""The web app in process (FastAPI TestClient): pages, JSON twins, feeds, escaping, votes."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from html import unescape as html_unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from papersift.library import Library
from papersift.ranking import Filters
from papersift.web import WebSettings, create_app
from papersift.web.serve import ServeError, serve
from tests.postgres_fixtures import BACKENDS, drop_database, library_on
from tests.web_fixtures import XSS_ID, library_copy

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(params=BACKENDS)
def library(request: pytest.FixtureRequest, arxiv_sample: Path, daily_papers_json: Path,
            tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Library]:
    """The web test library, in a directory and in PostgreSQL."""
    cache = tmp_path_factory.getbasetemp() / "web-library"
    cache.mkdir(exist_ok=True)
    lib, url = library_on(request, library_copy(cache, tmp_path / "lib", arxiv_sample,
                                                daily_papers_json))
    yield lib  # type: ignore[misc]
    lib.close()  # type: ignore[attr-defined]
    if url:
        drop_database(request.getfixturevalue("postgres_server"), url)


def client_for(library: Library, **settings: object) -> TestClient:
    return TestClient(create_app(library, settings=WebSettings(**settings)))  # type: ignore[arg-type]


@pytest.fixture
def client(library: Library) -> TestClient:
    return client_for(library)


PAGES = [
    ("/", "/api/daily"),
    ("/days/2024-01-29", "/api/daily?date=2024-01-29"),
    ("/trending?days=30", "/api/trending?days=30"),
    ("/search?q=gaussian+splatting", "/api/search?q=gaussian+splatting"),
    (f"/papers/{XSS_ID}", f"/api/papers/{XSS_ID}"),
    ("/categories/cs.CV", "/api/categories/cs.CV"),
    ("/authors/Qifeng%20Chen", "/api/authors/Qifeng%20Chen"),
]


@pytest.mark.parametrize(("page", "api"), PAGES)
def test_every_page_and_its_json_twin(client: TestClient, page: str, api: str) -> None:
    html = client.get(page)
    assert html.status_code == 200, html.text[:300]
    assert html.headers["content-type"].startswith("text/html")
    assert "<main" in html.text and 'lang="en"' in html.text
    data = client.get(api)
    assert data.status_code == 200
    assert data.headers["content-type"] == "application/json"
    twin = data.json()
    papers = ([twin["paper"]] if "paper" in twin else
              [r["paper"] for r in twin["results"]] if "results" in twin else twin["papers"])
    assert papers, f"{api} lists no papers"
    shown = html_unescape(re.sub(r"<[^>]+>", "", html.text))  # the page's text, as read
    for paper in papers:  # the page shows what its twin lists
        assert paper["title"] in shown, paper["title"]


@pytest.mark.parametrize("library", ["embedded"], indirect=True)  # the web layer alone
def test_openapi_documents_every_api_route(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for expected in ["/api/daily", "/api/trending", "/api/search", "/api/papers/{paper_id}",
                     "/api/papers/{paper_id}/upvote", "/api/categories/{name}",
                     "/api/authors/{name}", "/api/query", "/api/status",
                     "/feeds/daily.atom", "/feeds/search.atom"]:
        assert expected in paths, expected
    assert "/" not in paths  # HTML pages are documented through their twins
    schema = paths["/api/search"]["get"]["responses"]["200"]["content"]["application/json"]
    assert schema["schema"]["$ref"].endswith("/SearchPage")


def test_daily_is_newest_day_sorted_by_upvotes_with_day_navigation(client: TestClient) -> None:
    newest = client.get("/api/daily").json()
    assert newest["date"] == "2025-03-18" and newest["next"] is None
    votes = [p["upvotes"] for p in newest["papers"]]
    assert votes == sorted(votes, reverse=True) and votes[0] == 7  # the crafted paper
    previous = client.get(f"/api/daily?date={newest['previous']}").json()
    assert previous["papers"] and previous["next"] == newest["date"]
    assert all(p["published"] == newest["previous"] for p in previous["papers"])
    page = client.get(f"/days/{newest['previous']}").text
    assert f'href="/days/{newest["date"]}"' in page
    assert client.get("/api/daily?date=2024-13-01").status_code == 400


def test_daily_pagination(client: TestClient) -> None:
    first = client.get("/api/daily").json()
    assert first["total"] > 20 and first["pagination"]["has_next"]
    second = client.get("/api/daily?page=2").json()
    assert {p["id"] for p in first["papers"]}.isdisjoint(p["id"] for p in second["papers"])
    assert second["pagination"]["has_previous"]
    assert 'rel="next" href="/days/2025-03-18?page=2"' in client.get("/").text


def test_search_json_matches_the_library(client: TestClient, library: Library) -> None:
    data = client.get("/api/search", params={"q": "diffusion models", "mode": "lexical"}).json()
    expected = library.search("diffusion models", mode="lexical", limit=20)
    assert [r["paper"]["id"] for r in data["results"]] == [r.paper.id for r in expected]
    assert data["results"][0]["why"]


def test_search_filters(client: TestClient) -> None:
    params = {"q": "language model", "category": "cs.CL"}
    results = client.get("/api/search", params=params).json()["results"]
    assert results and all("cs.CL" in r["paper"]["categories"] for r in results)
    dated = client.get("/api/search", params={"q": "language model", "since": "2024-01-01",
                                               "until": "2024-01-31"}).json()["results"]
    assert dated and all("2024-01-01" <= r["paper"]["published"] <= "2024-01-31" for r in dated)
    authored = client.get("/api/search", params={"q": "sensor simulation",
                                                  "author": "Qifeng Chen"}).json()["results"]
    assert authored and all("Qifeng Chen" in r["paper"]["authors"] for r in authored)
    empty_fields = client.get("/search?q=model&since=&until=&category=&author=&mode=auto")
    assert empty_fields.status_code == 200  # an HTML form sends empty fields


def test_search_pagination(client: TestClient) -> None:
    one = client.get("/api/search", params={"q": "model"}).json()
    two = client.get("/api/search", params={"q": "model", "page": 2}).json()
    assert one["pagination"]["has_next"] and two["pagination"]["has_previous"]
    assert {r["paper"]["id"] for r in one["results"]}.isdisjoint(
        r["paper"]["id"] for r in two["results"])
    assert 'rel="next" href="/search?page=2&amp;q=model"' in client.get("/search?q=model").text


def test_search_highlights_stemmed_terms_after_escaping(client: TestClient) -> None:
    html = client.get("/search", params={"q": "splat"}).text
    assert "<mark>Splatting</mark>" in html or "<mark>splatting</mark>" in html
    html = client.get("/search", params={"q": "escaping script"}).text
    assert "&lt;<mark>script</mark>&gt;alert(1)&lt;/<mark>script</mark>&gt;" in html
    assert "<script>alert" not in html


@pytest.mark.parametrize("library", ["embedded"], indirect=True)  # the web layer alone
@pytest.mark.parametrize("url", ["/", "/search?q=escaping+gaussian", f"/papers/{XSS_ID}",
                                 "/categories/cs.CR", "/authors/Alice%20Example",
                                 "/trending?days=3"])
def test_titles_abstracts_and_names_are_escaped(client: TestClient, url: str) -> None:
    html = client.get(url).text
    assert "Attack &lt;script&gt;alert(" in html
    for raw in ["<script>alert", "<img src=x", "<b>bold</b>", "<i>Evil</i>"]:
        assert raw not in html
    assert html.count("<script") == 1  # only our own /static/app.js


def test_paper_page_keeps_latex_readable_and_shows_similar(client: TestClient) -> None:
    html = client.get(f"/papers/{XSS_ID}").text
    assert r"$\mathcal{O}(T^{-1/2})$ &amp; more." in html
    data = client.get("/api/papers/2503.11731").json()
    assert data["paper"]["categories"] == ["cs.CV", "cs.RO"]
    assert data["similar"] and all(s["paper"]["id"] != "2503.11731" for s in data["similar"])
    similar_id = data["similar"][0]["paper"]["id"]
    assert f'href="/papers/{similar_id}"' in client.get("/papers/2503.11731").text
    assert client.get("/papers/2999.00000").status_code == 404
    assert client.get("/api/papers/2999.00000").json()["detail"].startswith("no paper")


def test_category_and_author_listings(client: TestClient, library: Library) -> None:
    cat = client.get("/api/categories/cs.RO").json()
    assert cat["total"] == library.category("cs.RO").total > 0
    assert len(cat["papers"]) == min(cat["total"], 20)
    assert cat["pagination"]["has_next"] == (cat["total"] > 20)
    assert all("cs.RO" in p["categories"] for p in cat["papers"])
    author = client.get("/api/authors/qifeng chen").json()
    assert author["total"] >= 1 and all("Qifeng Chen" in p["authors"] for p in author["papers"])


def test_trending_decays_votes_by_age(client: TestClient) -> None:
    data = client.get("/api/trending?days=3").json()
    assert data["reference_day"] == "2025-03-18"
    # the only upvoted paper of those days comes first; the window widened to show more
    assert data["papers"][0]["id"] == XSS_ID and len(data["papers"]) >= 5
    assert data["requested_days"] == 3 and data["days"] > 3 and "widened" in data["notice"]
    old = client.get("/api/trending?days=800").json()
    assert old["scores"] == sorted(old["scores"], reverse=True) and len(old["papers"]) == 20


def _atom(body: bytes) -> ET.Element:
    return ET.fromstring(body)


def test_atom_feeds(client: TestClient) -> None:
    response = client.get("/feeds/daily.atom")
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = _atom(response.content)
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 100
    titles = [e.findtext(f"{ATOM}title") for e in entries]
    assert any(t and "<script>" in t for t in titles)  # XML-escaped, read back as text
    search = _atom(client.get("/feeds/search.atom?q=gaussian+splatting").content)
    summary = search.findall(f"{ATOM}entry")[0].findtext(f"{ATOM}summary") or ""
    assert "gaussian" in summary.lower()


def test_upvote_form_works_without_javascript(client: TestClient) -> None:
    paper = "2503.11731"
    first = client.post(f"/papers/{paper}/upvote?next=/search?q=x", follow_redirects=False)
    # no voter cookie from a page view yet: not counted, a cookie is issued, vote again
    assert first.status_code == 303
    assert first.headers["location"] == f"/papers/{paper}?vote=again"
    assert "papersift_voter" in first.cookies
    assert client.get(f"/api/papers/{paper}").json()["paper"]["upvotes"] == 0
    assert "press upvote again" in client.get(f"/papers/{paper}?vote=again").text
    response = client.post(f"/papers/{paper}/upvote?next=/search?q=x", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/search?q=x"
    page = client.get(f"/api/papers/{paper}").json()
    assert page["paper"]["upvotes"] == 1
    assert page["paper"]["votes"] == {"source": 0, "here": 1, "anonymous": 1, "members": 0}
    assert page["voted"] is True
    assert client.get("/api/daily").json()["papers"][1]["id"] == paper  # ranks by all votes
    again = client.post(f"/api/papers/{paper}/upvote")  # same voter again: withdraws
    assert again.json() == {"id": paper, "upvotes": 0, "voted": False}
    evil = client.post(f"/papers/{paper}/upvote?next=//evil.example", follow_redirects=False)
    assert evil.headers["location"] == f"/papers/{paper}"


def test_library_search_counts_the_votes_cast_here(client: TestClient, library: Library) -> None:
    client.get("/")  # a page view issues the voter cookie
    assert client.post("/api/papers/2503.11731/upvote").json()["voted"] is True
    found = [r for r in library.search("2503.11731 " + library.get("2503.11731").title,
                                       mode="lexical", limit=20)
             if r.paper.id == "2503.11731"]  # type: ignore[union-attr]
    assert found and found[0].paper.total_upvotes == 1 and found[0].paper.votes_here == 1


def _voter(library: Library, **settings: object) -> TestClient:
    """A client that has viewed a page (and so holds a voter cookie)."""
    client = client_for(library, **settings)
    assert client.get("/").status_code == 200 and "papersift_voter" in client.cookies
    return client


def test_upvotes_are_rate_limited(library: Library) -> None:
    client = _voter(library, vote_burst=3, votes_per_minute=1)
    ids = [p["id"] for p in client.get("/api/daily").json()["papers"][:5]]
    codes = [client.post(f"/api/papers/{i}/upvote").status_code for i in ids]
    assert codes == [200, 200, 200, 429, 429]
    limited = client.post(f"/api/papers/{ids[0]}/upvote")
    assert int(limited.headers["retry-after"]) >= 1
    html = client.post(f"/papers/{ids[0]}/upvote", follow_redirects=False)
    assert html.status_code == 429 and "Slow down" in html.text
    # one network, a new voter cookie each time: the network's bucket still runs dry
    codes = [_voter(library, ip_vote_burst=2).post(f"/api/papers/{ids[1]}/upvote").status_code
             for _ in range(3)]
    assert codes == [200, 200, 429]


@pytest.mark.parametrize("library", ["embedded"], indirect=True)  # the web layer alone
@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {"Origin": "null"},
                                     {"Sec-Fetch-Site": "cross-site"},
                                     {"Sec-Fetch-Site": "same-site"}])
def test_upvotes_from_other_sites_are_refused(library: Library, headers: dict[str, str]) -> None:
    client = _voter(library)
    response = client.post("/api/papers/2503.11731/upvote", headers=headers)
    assert response.status_code == 403
    assert library.get("2503.11731").votes_here == 0  # type: ignore[union-attr]
    assert client.post("/api/papers/2999.00000/upvote").status_code == 404
    same = client.post("/api/papers/2503.11731/upvote",
                       headers={"Origin": str(client.base_url), "Sec-Fetch-Site": "same-origin"})
    assert same.status_code == 200 and same.json()["voted"] is True


@pytest.mark.parametrize("library", ["embedded"], indirect=True)  # the web layer alone
def test_a_vote_needs_a_cookie_from_a_page_view(client: TestClient, library: Library) -> None:
    client.cookies.set("papersift_voter", "chosen-id.not-a-signature")
    response = client.post("/api/papers/2503.11731/upvote")
    assert response.status_code == 403 and "vote again" in response.json()["detail"]
    issued = response.cookies["papersift_voter"]
    assert issued != "chosen-id.not-a-signature"
    assert library.get("2503.11731").votes_here == 0  # type: ignore[union-attr]
    assert client.post("/api/papers/2503.11731/upvote").json()["voted"] is True
    fresh = [TestClient(client.app).post("/api/papers/2503.11731/upvote").status_code
             for _ in range(5)]  # a script minting a new voter per request counts nothing
    assert fresh == [403] * 5 and library.get("2503.11731").votes_here == 1  # type: ignore[union-attr]


def test_status_and_static(client: TestClient, library: Library) -> None:
    assert client.get("/api/status").json()["papers"] == len(library)
    assert client.get("/static/app.js").status_code == 200
    assert "text/css" in client.get("/static/style.css").headers["content-type"]


def test_search_filters_reach_the_library(client: TestClient, library: Library) -> None:
    hits = library.search("language", filters=Filters(categories=("cs.CL",)), limit=5)
    assert len(hits) == 5 and all("cs.CL" in r.paper.categories for r in hits)
    page = client.get("/api/search?q=language&category=cs.CL&mode=lexical").json()
    assert [r["paper"]["id"] for r in page["results"][:5]] == [r.paper.id for r in hits]
    assert page["mode_used"] == "lexical"
    bad = client.get("/api/search?q=language&since=2025-13-01")
    assert bad.status_code == 400 and "since" in bad.json()["detail"]


def test_feed_links_use_the_configured_address_not_the_host_header(library: Library) -> None:
    client = client_for(library, base_url="https://papers.example.org")
    feed = _atom(client.get("/feeds/daily.atom", headers={"Host": "evil.example"}).content)
    links = [link.get("href") or "" for link in feed.iter(f"{ATOM}link")]
    assert links and not any("evil.example" in href for href in links)
    assert links[0] == "https://papers.example.org/feeds/daily.atom"
    assert any(h.startswith("https://papers.example.org/papers/") for h in links)


def test_serve_refuses_a_public_server_without_an_address_or_with_a_weak_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from papersift.web.serve import check_base_url, check_secret

    monkeypatch.delenv("PAPERSIFT_BASE_URL", raising=False)
    with pytest.raises(ServeError, match="PAPERSIFT_BASE_URL"):
        check_base_url("0.0.0.0", 80, None)
    assert check_base_url("127.0.0.1", 8000, None) == "http://127.0.0.1:8000"
    with pytest.raises(ServeError, match="give the site's address"):
        check_base_url("0.0.0.0", 80, "javascript:alert(1)")
    for weak in ("x", "a" * 64, "password1234567890password123456"):
        with pytest.raises(ServeError, match="too weak"):
            check_secret("0.0.0.0", weak)
    check_secret("0.0.0.0", "Vq3-k9ZrT_2mXe8LwYpN4sHcJ7uBdF6gA1oQ5iRtE0y")


def test_serve_refuses_a_public_server_without_a_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PAPERSIFT_SECRET", raising=False)
    with pytest.raises(ServeError, match="without a secret"):
        serve(tmp_path, host="0.0.0.0")
    with pytest.raises(ServeError, match="no library"):
        serve(tmp_path / "missing", host="127.0.0.1")


@pytest.mark.parametrize("path", ["/", f"/papers/{XSS_ID}", "/api/daily", "/feeds/daily.atom",
                                  "/api/query?search_query=all:model"])
def test_head_requests_get_the_headers_of_get(client: TestClient, path: str) -> None:
    head, get = client.head(path), client.get(path)
    assert head.status_code == get.status_code == 200
    assert head.headers["content-type"] == get.headers["content-type"]
    assert head.content == b""
