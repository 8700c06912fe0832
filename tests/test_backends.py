"""The same library on both backends: search modes, filters, status, the CLI, and copies.

A library of real arXiv papers with their shared MiniLM vectors is built in a directory,
then copied into PostgreSQL (``Library.copy_to``, what ``papersift migrate`` runs); both
are searched with the same requests. Semantic search is exact at this size on both, so
its results must be the same papers; lexical rankings differ by design (BM25 against
PostgreSQL's ``ts_rank``), so lexical and hybrid results are held to the filters and modes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from papersift.cli import main
from papersift.library import Library
from papersift.people import PersonRecord
from papersift.query import Filters
from papersift.vector_files import write_vectors
from papersift.web import create_app
from tests.conftest import DATA, require
from tests.postgres_fixtures import drop_database, new_database
from tests.web_fixtures import arxiv_papers

QUERIES = ["gaussian splatting for dynamic scenes", "language model reasoning benchmarks",
           "robot grasping with tactile sensing"]
FILTERS = [Filters(), Filters(categories=("cs.CV",)), Filters(since=date(2025, 3, 17)),
           Filters(authors=("Wang",))]


def _vectors_for(ids: list[str], path: Path) -> Path:
    """The shared sample vectors of these papers, as a vector file."""
    all_ids = np.load(require(DATA / "arxiv-75k-minilm.ids.npy")).astype(str)
    vectors = np.load(DATA / "arxiv-75k-minilm.f16.npy", mmap_mode="r")
    row = {paper_id: n for n, paper_id in enumerate(all_ids.tolist())}
    picked = [i for i in ids if i in row]
    write_vectors(path, picked, np.asarray(vectors[[row[i] for i in picked]]), "minilm-l6-int8")
    return path


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory,
         postgres_server: str) -> Iterator[tuple[Library, Library]]:
    """(embedded, PostgreSQL): the same 400 papers with vectors, and a few votes."""
    root = tmp_path_factory.mktemp("backends")
    papers = arxiv_papers(require(DATA / "arxiv-75k.jsonl.gz"), 400)
    embedded = Library(root / "lib")
    embedded.add(papers)
    embedded.import_vectors(_vectors_for([p.id for p in papers], root / "v.npz"))
    for voter in ("a", "b", "c"):
        embedded.upvote(papers[0].id, voter)
    embedded.upvote(papers[1].id, "a")
    url = new_database(postgres_server)
    postgres = Library(url)
    embedded.copy_to(postgres)
    yield embedded, postgres
    embedded.close()
    postgres.close()
    drop_database(postgres_server, url)


@pytest.mark.parametrize("filters", FILTERS, ids=str)
def test_semantic_search_finds_the_same_papers(pair: tuple[Library, Library],
                                               filters: Filters) -> None:
    embedded, postgres = pair
    for query in QUERIES:
        here = embedded.search(query, mode="semantic", filters=filters, limit=10)
        there = postgres.search(query, mode="semantic", filters=filters, limit=10)
        assert [r.paper.id for r in there] == [r.paper.id for r in here]
        assert np.allclose([r.score for r in there], [r.score for r in here], atol=2e-3)
        assert all(filters.accepts(r.paper) for r in there)


@pytest.mark.parametrize("mode", ["lexical", "hybrid", "auto"])
@pytest.mark.parametrize("filters", FILTERS, ids=str)
def test_every_mode_honours_the_filters(pair: tuple[Library, Library], mode: str,
                                        filters: Filters) -> None:
    for library in pair:
        results = library.search("learning from images", mode=mode,  # type: ignore[arg-type]
                                 filters=filters, limit=50)
        assert results.mode == ("hybrid" if mode == "auto" else mode) and not results.notice
        assert results and all(filters.accepts(r.paper) for r in results)
    both = [{r.paper.id for r in lib.search("learning from images", mode="hybrid",
                                             filters=filters, limit=20)} for lib in pair]
    assert len(both[0] & both[1]) >= 10  # the same dense side; lexical ranks differ


def test_a_query_of_common_words_ranks_a_bounded_set_on_postgres(
        pair: tuple[Library, Library], monkeypatch: pytest.MonkeyPatch) -> None:
    """When even the query's rarest word is too common, PostgreSQL ranks only the first
    CANDIDATES papers holding all of its words (the cost of a search is bounded)."""
    from papersift.backends.postgres import lexical

    _, postgres = pair
    everywhere = len(postgres.search("learning", mode="lexical", limit=200))
    assert everywhere > 40
    monkeypatch.setattr(lexical, "CANDIDATES", 25)
    with Library(postgres.backend.location) as fresh:  # plans made with the smaller budget
        bounded = fresh.search("learning", mode="lexical", limit=200)
        assert len(bounded) == 25
        assert all("learn" in fresh.backend.lexical.terms(f"{r.paper.title} {r.paper.abstract}")
                   for r in bounded)


def test_similar_papers_and_votes_agree(pair: tuple[Library, Library]) -> None:
    embedded, postgres = pair
    paper = embedded.daily().papers[0]
    assert [r.paper.id for r in postgres.similar(paper.id, limit=8)] == \
        [r.paper.id for r in embedded.similar(paper.id, limit=8)]
    assert [p.id for p in postgres.daily().papers] == [p.id for p in embedded.daily().papers]
    first = arxiv_papers(DATA / "arxiv-75k.jsonl.gz", 1)[0].id
    assert postgres.get(first).votes_here == embedded.get(first).votes_here == 3  # type: ignore[union-attr]
    assert postgres.voted([first, "x"], "a") == {first}


def test_status_and_search_pages_on_postgres(pair: tuple[Library, Library]) -> None:
    _, postgres = pair
    client = TestClient(create_app(postgres))
    status = client.get("/api/status").json()
    assert status["papers"] == 400 and status["embedded"] == 400
    assert status["semantic_ready"] and status["votes"] == 4
    for mode in ("lexical", "semantic", "hybrid"):
        page = client.get("/api/search", params={"q": "point clouds", "mode": mode,
                                                  "category": "cs.CV"}).json()
        assert page["mode_used"] == mode and page["results"]
        assert all("cs.CV" in r["paper"]["categories"] for r in page["results"])
    html = client.get("/search", params={"q": "point clouds", "mode": "hybrid"})
    assert html.status_code == 200 and "<mark>" in html.text


def test_the_cli_on_a_postgres_url(pair: tuple[Library, Library]) -> None:
    _, postgres = pair
    runner = CliRunner()
    found = runner.invoke(main, ["-L", postgres.location, "search", "point clouds", "--mode",
                                 "semantic", "--json", "-c", "cs.CV"])
    assert found.exit_code == 0, found.output
    hits = json.loads(found.stdout)["results"]
    assert len(hits) == 10 and all("cs.CV" in h["paper"]["categories"] for h in hits)
    stats = json.loads(runner.invoke(main, ["-L", postgres.location, "stats", "--json"]).stdout)
    assert stats["store"]["papers"] == 400 and stats["vectors"] == 400
    assert stats["vector_index"] == {}  # PostgreSQL tunes its own (pgvector's HNSW)
    assert runner.invoke(main, ["-L", postgres.location, "check"]).exit_code == 0


def test_a_copy_there_and_back_is_identical(pair: tuple[Library, Library],
                                            tmp_path: Path) -> None:
    embedded, postgres = pair
    result = CliRunner().invoke(main, ["migrate", postgres.location, str(tmp_path / "back")])
    assert result.exit_code == 0, result.output
    assert "papers: 400 in the source, 400 in the copy" in result.stderr
    with Library(tmp_path / "back") as back:
        ids = [p.id for p in embedded.daily(limit=1000).papers]
        keys = {lib: lib.store.keys_of(ids) for lib in (embedded, back)}
        for paper_id in ids:
            assert back.get(paper_id) == embedded.get(paper_id)  # every field, votes too
        assert [(v.paper_id, v.voter) for v in back.store.vote_records(ids)] == [
            (v.paper_id, v.voter) for v in embedded.store.vote_records(ids)]
        order = [keys[embedded][i] for i in ids]
        _, mine = embedded.dense.vectors(np.asarray(order))
        _, theirs = back.dense.vectors(np.asarray([keys[back][i] for i in ids]))
        assert np.array_equal(mine.astype(np.float16), theirs.astype(np.float16))
        assert back.status().semantic_ready and back.check() == []
    again = CliRunner().invoke(main, ["migrate", postgres.location, str(tmp_path / "back")])
    assert again.exit_code == 0 and "copied 0 papers, 0 votes" in again.stderr  # resumed


def test_embedding_runs_and_resumes_on_postgres(postgres_server: str) -> None:
    url = new_database(postgres_server)
    try:
        papers = arxiv_papers(require(DATA / "arxiv-75k.jsonl.gz"), 40)
        with Library(url) as library:
            library.add(papers[:30])
            assert library.embed() == 30 and library.status().semantic_ready
            library.add(papers[30:])
            assert not library.semantic_ready() and library.embedding_pending()
            assert library.embed() == 10  # only what is new
            assert library.dense.count == 40 and library.check() == []
            found = library.search(papers[35].title, mode="semantic", limit=3)
            assert found.mode == "semantic" and found[0].paper.id == papers[35].id
            assert library.status().jobs[0].status == "done"
    finally:
        drop_database(postgres_server, url)


def test_postgres_keeps_the_votes_of_deleted_papers_and_reads_meta_by_prefix(
        postgres_server: str) -> None:
    """What main's paper-store contract adds (issue 16), on the PostgreSQL store."""
    from dataclasses import replace

    from papersift.backends import open as open_backend
    from tests.contracts.conftest import sample_papers

    url = new_database(postgres_server)
    backend = open_backend(url)
    try:
        store = backend.store
        papers = sample_papers(3)
        store.upsert(papers, state={"harvest.state:a": "1", "harvest.x": "3"})
        keys = store.keys_of([p.id for p in papers])
        assert store.dates_of(list(keys.values())) == {keys[p.id]: p.published for p in papers}
        assert store.meta_items("harvest.state:") == {"harvest.state:a": "1"}
        assert store.add_vote(papers[0].id, "ann") and store.add_vote(papers[0].id, "bob")
        assert store.remove([papers[0].id, papers[1].id], keep_votes=True) == 2
        assert store.kept_votes(papers[0].id) == 2  # type: ignore[attr-defined]
        store.upsert([replace(papers[0], version=2)])
        back = store.get(papers[0].id)
        assert back is not None and back.votes_here == 2
        assert store.kept_votes(papers[0].id) == 0  # type: ignore[attr-defined]
        assert store.voted([papers[0].id], "bob") == {papers[0].id}
        store.add_vote(papers[2].id, "ann")
        store.remove([papers[2].id])  # a plain removal: the votes go with the paper
        store.upsert([papers[2]])
        assert store.get(papers[2].id).votes_here == 0  # type: ignore[union-attr]
    finally:
        backend.close()
        drop_database(postgres_server, url)


def _portable(record: PersonRecord | None) -> PersonRecord:
    """A person as any library holds them: without the ids that library gave."""
    assert record is not None
    return replace(record, user=replace(record.user, id=0), collections=tuple(
        (replace(c, id=0), items) for c, items in record.collections))


def test_people_travel_with_a_copy_there_and_back(postgres_server: str,
                                                  tmp_path: Path) -> None:
    """Accounts, API tokens, member votes, ratings and collections go with `papersift
    migrate`, each person whole with every moment kept, both ways, and counted."""
    from tests.contracts.conftest import sample_papers

    papers = [p.id for p in sample_papers(12)]
    with Library(tmp_path / "src") as source:
        source.add(sample_papers(12))
        ada = source.add_user("ada@example.org", admin=True)
        bob = source.add_user("bob@example.org")
        secret, _ = source.create_api_token(ada, "laptop script")
        for user in (ada, bob):
            source.member_upvote(papers[0], user)
        source.upvote(papers[0], "cookie-1")
        source.rate(ada, papers[1], 1)
        source.rate(ada, papers[2], -1)
        reading = source.create_collection(ada, "Reading")
        for n, paper in enumerate(papers[3:7]):
            source.save(ada, paper, collection_id=reading.id, note=f"note {n}" if n else None)
        source.save(bob, papers[3])
        people = {u.email: _portable(source.backend.users.export_person(u.id))
                  for u in source.users()}
    url = new_database(postgres_server)
    runner = CliRunner()
    try:
        there = runner.invoke(main, ["migrate", str(tmp_path / "src"), url])
        assert there.exit_code == 0, there.output
        for line in ("people: 2 in the source, 2 in the copy", "votes: 3 in the source, 3",
                     "member votes: 2 in the source, 2", "ratings: 2 in the source, 2",
                     "collections: 2 in the source, 2", "saved papers: 5 in the source, 5",
                     "api tokens: 1 in the source, 1"):
            assert line in there.stderr
        back = runner.invoke(main, ["migrate", url, str(tmp_path / "back")])
        assert back.exit_code == 0, back.output
        again = runner.invoke(main, ["migrate", str(tmp_path / "src"), url])  # nothing doubles
        assert again.exit_code == 0 and "copied 0 papers, 0 votes" in again.stderr
        for location in (url, str(tmp_path / "back")):
            with Library(location) as copy:
                users = copy.backend.users
                assert {u.email: _portable(users.export_person(u.id))
                        for u in copy.users()} == people
                counted = copy.get(papers[0])
                assert counted is not None
                assert (counted.votes_here, counted.votes_members) == (3, 2)
                assert copy.api_token_user(secret) is not None  # the token works there
                assert copy.check() == []
    finally:
        drop_database(postgres_server, url)
