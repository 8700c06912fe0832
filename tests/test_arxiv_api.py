"""The ``arxiv`` PyPI client, pointed at a real uvicorn server, gets our search results."""

from __future__ import annotations

from collections.abc import Iterator

import arxiv
import pytest

from papersift.arxiv_query import parse_arxiv_query
from papersift.library import Library
from papersift.ranking import Filters
from papersift.web import create_app
from tests.postgres_fixtures import BACKENDS, drop_database, library_on
from tests.web_fixtures import RunningServer, library_copy


@pytest.fixture(scope="module", params=BACKENDS)
def served(request: pytest.FixtureRequest,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Library, str]]:
    from tests.conftest import DATA, require

    arxiv_path = require(DATA / "arxiv-75k.jsonl.gz")
    daily_path = require(DATA / "hf-daily-papers" / "papers.json")
    root = tmp_path_factory.mktemp("arxiv-api")
    library, url = library_on(request, library_copy(root / "cache", root / "lib", arxiv_path,
                                                    daily_path))
    with RunningServer(create_app(library)) as server:  # type: ignore[arg-type]
        yield library, server.url  # type: ignore[misc]
    library.close()  # type: ignore[attr-defined]
    if url:
        drop_database(request.getfixturevalue("postgres_server"), url)


def client_for(url: str, page_size: int = 100) -> arxiv.Client:
    client = arxiv.Client(page_size=page_size, delay_seconds=0.0, num_retries=0)
    client.query_url_format = f"{url}/api/query?{{}}"  # type: ignore[misc]
    return client


def ids(results: Iterator[arxiv.Result] | list[arxiv.Result]) -> list[str]:
    return [r.get_short_id().rsplit("v", 1)[0] for r in results]


@pytest.mark.parametrize(("query", "text", "filters"), [
    ("gaussian splatting", "gaussian splatting", Filters()),
    ("all:diffusion", "diffusion", Filters()),
    ('ti:"language model"', '"language model"', Filters()),
    ("abs:robot AND cat:cs.RO", "robot", Filters(categories=("cs.RO",))),
    ("all:video ANDNOT abs:diffusion", "video -diffusion", Filters()),
    ("au:Qifeng_Chen AND all:simulation", "simulation", Filters(authors=("Qifeng Chen",))),
])
def test_arxiv_client_gets_the_same_papers_as_search(
    served: tuple[Library, str], query: str, text: str, filters: Filters
) -> None:
    library, url = served
    got = list(client_for(url).results(arxiv.Search(query=query, max_results=15)))
    expected = library.search(text, mode="lexical", filters=filters, limit=15)
    assert got and ids(got) == [r.paper.id for r in expected]


def test_paging_across_requests(served: tuple[Library, str]) -> None:
    library, url = served
    got = list(client_for(url, page_size=7).results(arxiv.Search(query="model", max_results=30)))
    expected = library.search("model", mode="lexical", limit=30)
    assert ids(got) == [r.paper.id for r in expected]


def test_entries_carry_arxiv_fields(served: tuple[Library, str]) -> None:
    library, url = served
    [result] = client_for(url).results(arxiv.Search(id_list=["2503.11731"]))
    paper = library.get("2503.11731")
    assert paper is not None
    assert result.entry_id == "http://arxiv.org/abs/2503.11731v1"
    assert result.title == paper.title and result.summary == paper.abstract
    assert [a.name for a in result.authors] == list(paper.authors)
    assert result.primary_category == "cs.CV" and result.categories == ["cs.CV", "cs.RO"]
    assert result.pdf_url == "https://arxiv.org/pdf/2503.11731"
    assert result.published.date() == paper.published


def test_category_only_and_date_sorted_queries(served: tuple[Library, str]) -> None:
    _, url = served
    client = client_for(url)
    got = list(client.results(arxiv.Search(query="cat:cs.RO", max_results=10)))
    assert len(got) == 10 and all("cs.RO" in r.categories for r in got)
    by_date = list(client.results(arxiv.Search(
        query="all:language", max_results=20, sort_by=arxiv.SortCriterion.SubmittedDate)))
    dates = [r.published for r in by_date]
    assert dates == sorted(dates, reverse=True)


def test_query_syntax_mapping() -> None:
    q = parse_arxiv_query('(ti:"neural net" OR abs:x) AND au:del_maestro ANDNOT all:quantum '
                          "AND cat:cs.CL AND submittedDate:[202401010000 TO 202402010000]")
    assert q.query == '"neural net" x -quantum'
    assert q.authors == ["del maestro"] and q.categories == ["cs.CL"]
    assert str(q.since) == "2024-01-01" and str(q.until) == "2024-02-01"
