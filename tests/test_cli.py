"""The command line as a user runs it: ingest, search, show, stats, errors."""

from __future__ import annotations

import gzip
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from papersift.cli import main
from papersift.library import Library
from papersift.ranking import Filters
from tests.conftest import seed
from tests.postgres_fixtures import BACKENDS, drop_database, with_database

WEIRD_QUERIES = ['"unbalanced', "a AND (b OR", "NEAR(x y)", "*", "title:foo", ":", "", "   ",
                 "ünïcødé ∑ 数学", "-", '""', "a -b -c", "\\", "foo^2 bar~", "((()))"]


def run(library: Path | str, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, ["--library", str(library), *args], input=input)


@pytest.fixture(params=BACKENDS)
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where a test's library goes: a new directory, or a new PostgreSQL database."""
    if request.param == "embedded":
        yield str(tmp_path / "lib")
        return
    server = request.getfixturevalue("postgres_server")
    url = with_database(server, f"cli_{uuid.uuid4().hex[:12]}")
    yield url
    drop_database(server, url)


@pytest.fixture(scope="module")
def arxiv_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import DATA, require

    sample = require(DATA / "arxiv-75k.jsonl.gz")
    library = tmp_path_factory.mktemp("arxiv") / "lib"
    result = run(library, "ingest", "--no-embed", str(sample))
    assert result.exit_code == 0, result.output
    return library


def test_seed_files_give_their_papers(place: str) -> None:
    result = run(place, "ingest", "--no-embed", str(seed("000")), str(seed("003")))
    assert result.exit_code == 0, result.output
    assert "40 added, 0 updated, 0 unchanged, 0 rejected" in result.output
    stats = json.loads(run(place, "stats", "--json").stdout)
    assert stats["store"]["papers"] == 40
    hits = json.loads(run(place, "search", "Densing Law", "--json").stdout)["results"]
    densing = hits[0]["paper"]
    assert densing["title"] == "Densing Law of LLMs"
    assert (densing["organization"], densing["upvotes"]) == ("OpenBMB", 2)
    assert densing["published"] == "2024-12-05"


def test_ingest_twice_changes_nothing(place: str) -> None:
    first = run(place, "ingest", "--no-embed", str(seed("003")))
    again = run(place, "ingest", "--no-embed", str(seed("003")))
    assert "29 added" in first.output
    assert "0 added, 0 updated, 29 unchanged, 0 rejected" in again.output


def test_malformed_lines_are_reported_and_the_rest_stored(tmp_path: Path, place: str) -> None:
    good = [{"id": f"2501.{i:05d}", "title": f"Good paper {i}", "abstract": "Fine text."}
            for i in range(6)]
    lines = [json.dumps(p) for p in good]
    lines.insert(2, '{"id": "2501.99999", "title": "broken"')  # line 3
    lines.insert(5, "not json at all")  # line 6
    lines.append(json.dumps({"id": "2501.88888"}))  # line 9: neither title nor abstract
    source = tmp_path / "mixed.jsonl"
    source.write_text("\n".join(lines) + "\n")
    result = run(place, "ingest", "--no-embed", str(source))
    assert result.exit_code == 1
    reported = [line for line in result.stderr.splitlines() if line.startswith(str(source))]
    assert [line.split(":")[1] for line in reported] == ["3", "6", "9"]
    assert "6 added, 0 updated, 0 unchanged, 3 rejected" in result.stderr
    assert json.loads(run(place, "stats", "--json").stdout)["store"]["papers"] == 6


@pytest.mark.parametrize("problem", ["missing", "truncated", "binary", "empty", "unknown"])
def test_unreadable_inputs_are_one_line_errors(tmp_path: Path, place: str, problem: str) -> None:
    path = tmp_path / f"{problem}.jsonl.gz"
    if problem == "truncated":
        records = "".join(json.dumps({"id": f"2501.{i:05d}", "title": f"T{i * 7919 % 10007}",
                                      "abstract": str(i * 104729)}) + "\n" for i in range(3000))
        packed = gzip.compress(records.encode())
        path.write_bytes(packed[: len(packed) // 2])
    elif problem == "binary":
        path = tmp_path / "binary.txt"
        path.write_bytes(b"caf\xe9 au lait\n\xff\xfe broken")
    elif problem == "empty":
        path = tmp_path / "empty.jsonl"
        path.write_text("")
    elif problem == "unknown":
        path = tmp_path / "notes.xml"
        path.write_text("<notes><note>hello</note></notes>\n")
    result = run(place, "ingest", "--no-embed", str(path))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    message = result.stderr.strip().splitlines()
    assert message[0].startswith("error: ") and str(path.name) in message[0], result.stderr
    if problem != "truncated":
        assert len(message) == 1, result.stderr
        return
    # every complete record before the cut is stored, searchable, and counted honestly
    stored = json.loads(run(place, "stats", "--json").stdout)["store"]["papers"]
    assert stored > 0 and f"({stored:,} papers read before this were stored)" in message[0]
    assert message[1].startswith(f"{stored} added,") and len(message) == 2
    assert run(place, "check").exit_code == 0


def test_stdin_and_folders(place: str) -> None:
    text = seed("000").read_text()
    result = run(place, "ingest", "--no-embed", "-", input=text)
    assert "11 added" in result.stderr
    folder = run(place, "ingest", "--no-embed", str(seed("000").parent))
    assert "29 added, 0 updated, 11 unchanged" in folder.stderr


def test_search_json_over_the_arxiv_sample(arxiv_library: Path) -> None:
    result = run(arxiv_library, "search", "matryoshka representations", "--json")
    hits = json.loads(result.stdout)["results"]
    assert len(hits) == 10
    assert all("matryoshka" in (h["paper"]["title"] + h["paper"]["abstract"]).lower()
               for h in hits)
    assert hits[0]["score"] >= hits[-1]["score"] > 0


def test_filters_run_inside_the_engine(arxiv_library: Path) -> None:
    args = ["matryoshka representations", "--since", "2026-01-01", "--category", "cs.CL",
            "--limit", "50", "--json"]
    hits = json.loads(run(arxiv_library, "search", *args).stdout)["results"]
    assert hits, "the sample has matching cs.CL papers from 2026"
    for hit in hits:
        assert hit["paper"]["published"] >= "2026-01-01"
        assert "cs.CL" in hit["paper"]["categories"]
    # a narrow filter still fills the page: it is applied before ranking, not after
    narrow = json.loads(run(arxiv_library, "search", "learning", "--author", "Yann LeCun",
                            "--json").stdout)["results"]
    assert len(narrow) == 10
    assert all(Filters(authors=("Yann LeCun",)).accepts(_paper(h)) for h in narrow)


def _paper(hit: dict) -> object:
    from datetime import date

    from papersift.papers import Paper

    p = hit["paper"]
    return Paper(id=p["id"], title=p["title"], abstract=p["abstract"],
                 authors=tuple(p["authors"]), categories=tuple(p["categories"]),
                 published=date.fromisoformat(p["published"]))


@pytest.mark.parametrize("query", WEIRD_QUERIES)
def test_any_query_text_is_safe(arxiv_library: Path, query: str) -> None:
    result = run(arxiv_library, "search", query, "--json")
    assert result.exit_code == 0, result.output
    assert isinstance(json.loads(result.stdout)["results"], list)


def test_show_and_unknown_id(arxiv_library: Path) -> None:
    first = json.loads(run(arxiv_library, "search", "diffusion", "--json").stdout)["results"][0]
    shown = json.loads(run(arxiv_library, "show", first["paper"]["id"], "--json").stdout)
    assert shown["title"] == first["paper"]["title"]
    assert shown["links"]["pdf"].startswith("https://arxiv.org/pdf/")
    missing = run(arxiv_library, "show", "9999.99999")
    assert missing.exit_code == 1 and "no paper with id" in missing.stderr


def test_reindex_rebuilds_the_same_results(arxiv_library: Path) -> None:
    before = json.loads(run(arxiv_library, "search", "protein folding", "--json").stdout)
    assert run(arxiv_library, "reindex").exit_code == 0
    after = json.loads(run(arxiv_library, "search", "protein folding", "--json").stdout)
    assert [h["paper"]["id"] for h in before["results"]] == \
        [h["paper"]["id"] for h in after["results"]]


def test_a_lagging_index_is_reported_while_a_writer_runs_and_repaired_at_open(
        tmp_path: Path) -> None:
    from papersift.backends.filelock import FileLock

    run(tmp_path, "ingest", "--no-embed", str(seed("003")))
    assert run(tmp_path, "check").exit_code == 0
    (tmp_path / "lexical" / "applied-seq").write_text("0")  # as if a crash hit mid-sync
    writer = FileLock(tmp_path / "locks", "ingest")
    writer.acquire()  # another ingest runs: opening the library must not write the index
    try:
        lagging = run(tmp_path, "check")
    finally:
        writer.release()
    assert lagging.exit_code == 1 and "behind the catalog" in lagging.stderr
    assert "rerun the interrupted `papersift ingest`" in lagging.stderr
    assert run(tmp_path, "check").exit_code == 0  # opened with no writer: caught up
    found = json.loads(run(tmp_path, "search", "matryoshka", "--json").stdout)["results"]
    assert len({r["paper"]["id"] for r in found}) == len(found) > 0  # replayed once, not twice
    assert run(tmp_path, "reindex").exit_code == 0
    assert run(tmp_path, "check").exit_code == 0


@pytest.mark.parametrize("command", [["search", "x"], ["show", "1"], ["stats"], ["embed"]])
def test_reading_commands_do_not_create_a_library(place: str, command: list[str]) -> None:
    result = run(place, *command)
    assert result.exit_code == 1 and "no library at" in result.stderr
    assert not Library.exists(place) and not Path(place).exists()
