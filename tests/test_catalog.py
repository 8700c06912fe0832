"""The catalog: idempotent upserts, merges across sources, the change log, bad files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from papersift.catalog import Catalog, CatalogError
from papersift.papers import Links, Paper


def paper(i: int, **kw: object) -> Paper:
    base = dict(id=f"2401.{i:05d}", title=f"Paper {i}", abstract=f"Abstract number {i}.",
                authors=("Ada Lovelace", "Alan Turing"), published=date(2024, 1, 1 + i % 28),
                categories=("cs.CL", "cs.LG"))
    base.update(kw)
    return Paper(**base).with_defaults()  # type: ignore[arg-type]


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    return Catalog(tmp_path / "catalog.sqlite")


def test_same_input_twice_changes_nothing(catalog: Catalog) -> None:
    papers = [paper(i) for i in range(50)]
    assert catalog.upsert(papers).added == 50
    seq = catalog.seq
    again = catalog.upsert(papers)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 50)
    assert catalog.seq == seq, "an unchanged batch must not start a change"
    assert len(catalog) == 50


def test_changed_record_updates_its_row(catalog: Catalog) -> None:
    catalog.upsert([paper(1)])
    rowid = catalog.key_of("2401.00001")
    counts = catalog.upsert([paper(1, title="Paper one, revised", version=2)])
    assert counts.updated == 1
    stored = catalog.get("2401.00001")
    assert stored is not None and stored.title == "Paper one, revised" and stored.version == 2
    assert catalog.key_of("2401.00001") == rowid


def test_second_source_fills_without_erasing(catalog: Catalog) -> None:
    catalog.upsert([paper(3)])
    daily = Paper(id="2401.00003", title="Paper 3", abstract="", upvotes=42,
                  organization="OpenBMB")
    catalog.upsert([daily])
    stored = catalog.get("2401.00003")
    assert stored is not None
    assert stored.categories == ("cs.CL", "cs.LG")
    assert stored.abstract == "Abstract number 3."
    assert (stored.upvotes, stored.organization) == (42, "OpenBMB")


def test_change_log_replays_writes_and_removals(catalog: Catalog) -> None:
    catalog.upsert([paper(i) for i in range(10)])
    mark = catalog.seq
    catalog.upsert([paper(2, title="changed")])
    catalog.remove(["2401.00005"])
    changes = [c for batch in catalog.changes_since(mark) for c in batch]
    written = {c.paper.id for c in changes if c.paper}
    removed = [c.rowid for c in changes if c.paper is None]
    assert written == {"2401.00002"}
    assert len(removed) == 1
    assert catalog.get("2401.00005") is None


def test_round_trip_keeps_every_field(catalog: Catalog) -> None:
    original = paper(7, links=Links(code=("https://github.com/a/b",)), comment="10 pages",
                     organization="Lab", upvotes=3, author_count=5, version=3)
    catalog.upsert([original])
    assert catalog.get(original.id) == original


def test_not_a_catalog_is_a_clear_error(tmp_path: Path) -> None:
    bogus = tmp_path / "catalog.sqlite"
    bogus.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CatalogError, match="not a papersift catalog"):
        Catalog(bogus)


def test_failed_batch_leaves_catalog_intact(catalog: Catalog) -> None:
    catalog.upsert([paper(i) for i in range(5)])
    broken = Paper(id="2401.09999", title=None, abstract="x")  # type: ignore[arg-type]
    with pytest.raises(Exception):  # noqa: B017 - any database error; the point is the rollback
        catalog.upsert([paper(20), broken])
    assert len(catalog) == 5 and catalog.get("2401.00020") is None


def test_a_catalog_from_the_previous_schema_is_migrated(tmp_path: Path) -> None:
    """A library written by papersift before schema 3 opens: votes are counted on the paper
    rows, author names get their filter keys, and the author filter finds them."""
    import sqlite3

    from papersift.catalog.schema import MIGRATIONS, _statements
    from papersift.query import Filters

    path = tmp_path / "catalog.sqlite"
    db = sqlite3.connect(path, isolation_level=None)
    for steps in MIGRATIONS[:2]:
        for statement in _statements(str(steps[0])):
            db.execute(statement)
    db.execute("PRAGMA user_version = 2")
    db.execute("INSERT INTO papers (id, title, abstract, authors, categories, code_urls, "
               "fingerprint, seq, added_at, updated_at, published) VALUES ('2401.00001', 'T', "
               "'A', '[\"José Núñez\", \"Li Wei\"]', '[\"cs.CL\"]', '[]', 'x', 1, 'now', 'now', "
               "'2024-01-02')")
    db.executemany("INSERT INTO paper_authors (paper, position, name) VALUES (1, ?, ?)",
                   [(0, "José Núñez"), (1, "Li Wei")])
    db.executemany("INSERT INTO votes (paper, voter, created) VALUES (1, ?, 'now')",
                   [("a",), ("b",)])
    db.close()
    catalog = Catalog(path)
    migrated = catalog.get("2401.00001")
    assert migrated is not None and migrated.votes_here == 2 and migrated.total_upvotes == 2
    assert catalog.matching(Filters(authors=("jose nunez",))).tolist() == [1]
    assert catalog.matching(Filters(authors=("wei",))).tolist() == [1]
    assert catalog.by_author("JOSE NUNEZ", limit=5)[1] == 1
    assert catalog.vote_drift() == 0
    assert catalog.remove_vote("2401.00001", "a") and catalog.get("2401.00001").votes_here == 1  # type: ignore[union-attr]
