"""Daily / weekly / monthly views, the date picker, trending that widens, the home strip."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from papersift.library import Library
from papersift.papers import Paper
from papersift.periods import Period, parse_period


def test_periods() -> None:
    week = Period.of("week", date(2026, 7, 1))
    assert (week.start, week.end, week.slug) == (date(2026, 6, 29), date(2026, 7, 5), "2026-W27")
    assert week.label == "Week 27, 2026 (Jun 29 – Jul 5)"
    month = Period.of("month", date(2024, 2, 10))
    assert (month.start, month.end, month.slug, month.label) == (
        date(2024, 2, 1), date(2024, 2, 29), "2024-02", "February 2024")
    assert parse_period("week", "2026-W27") == week == parse_period("week", "2026-07-03")
    assert parse_period("month", "2024-02") == month
    with pytest.raises(ValueError):
        parse_period("week", "2026-07")


@pytest.fixture
def library(tmp_path: Path) -> Library:
    """Listings every day of June 2026; upvoted papers only in early 2024 (like the sample)."""
    lib = Library(tmp_path / "lib")
    papers = [Paper(id=f"2606.{i:05d}", title=f"Listing paper {i}", abstract="a b c",
                    published=date(2026, 6, 1) + timedelta(days=i % 30)) for i in range(90)]
    papers += [Paper(id=f"2402.{i:05d}", title=f"Upvoted paper {i}", abstract="d e f",
                     published=date(2024, 2, 1) + timedelta(days=i), upvotes=10 * i + 1)
               for i in range(8)]
    lib.add(papers)
    return lib


def test_listing_by_week_and_month(library: Library) -> None:
    week = library.period("week", date(2026, 6, 10))
    assert week.period and week.period.slug == "2026-W24" and week.total == 7 * 3
    assert week.previous and week.previous.slug == "2026-W23"
    assert week.next and week.next.slug == "2026-W25"
    month = library.period("month")  # the newest listing day's month
    assert month.period and month.period.slug == "2026-06" and month.total == 90
    assert month.previous and month.previous.slug == "2024-02" and month.next is None


def test_trending_widens_and_says_so(library: Library) -> None:
    found = library.trending(days=7, limit=20)
    assert found.requested_days == 7 and found.days > 7 and found.notice
    assert "widened to the" in found.notice and len(found.papers) >= 5
    assert found.papers[0].upvotes >= found.papers[-1].upvotes // 2
    whole = library.trending(days=7, limit=3)  # three are enough for a list of three
    assert len(whole.papers) == 3


def test_pages_picker_and_json(library: Library) -> None:
    from papersift.web import create_app

    client = TestClient(create_app(library))
    home = client.get("/")
    strip = re.search(r'<section class="upvoted".*?</section>', home.text, re.S)
    assert strip and "Upvoted paper 7" in strip.group() and "too few" in strip.group()
    assert 'action="/browse"' in home.text and 'type="date"' in home.text
    assert "none upvoted yet" in home.text  # June's listings have no votes: no false claim
    moved = client.get("/browse", params={"view": "week", "date": "2026-06-10"},
                       follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"] == "/weeks/2026-W24"
    assert client.get("/browse?view=month", follow_redirects=False).headers["location"] == \
        "/months/2026-06"
    page = client.get("/weeks/2026-W24")
    assert page.status_code == 200 and "Week 24, 2026 (Jun 8 – Jun 14)" in page.text
    assert 'aria-current="page">Weekly' in page.text
    assert client.get("/months/2026-13").status_code == 400
    data = client.get("/api/weekly", params={"date": "2026-06-10"}).json()
    assert data["period"] == "2026-W24" and data["total"] == 21 and len(data["papers"]) == 20
    assert client.get("/api/monthly").json()["label"] == "June 2026"
    trending = client.get("/api/trending").json()
    assert trending["requested_days"] == 7 and trending["notice"]
    schema = client.get("/openapi.json").json()["paths"]
    assert {"/api/weekly", "/api/monthly", "/api/daily", "/api/trending"} <= set(schema)
    empty_day = client.get("/days/2026-07-04")
    assert "No papers listed on this day" in empty_day.text and 'rel="prev"' in empty_day.text
