"""Progress bars a person can read: one bar per task, stable name, rate and a working ETA."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from papersift.ingest_progress import RecordCounter
from papersift.library import Library
from papersift.progress_bars import Bars


def _console() -> Console:
    return Console(file=io.StringIO(), force_terminal=True, width=140, record=True,
                   color_system=None)


def test_one_bar_per_task_with_rate_and_time_left() -> None:
    clock = [0.0]
    console = _console()
    with Bars(console, get_time=lambda: clock[0]) as bars:
        for step in range(1, 21):  # the rate changes half way: still one bar
            clock[0] += 1.0 if step < 10 else 2.0
            bars("embed", step * 64, 2560)
            bars("store", step * 64, None)  # not drawn: it follows the reading
        assert len(bars.progress.tasks) == 1
        bars.progress.refresh()
    text = console.export_text()
    last = text.rsplit("embed", 1)[-1]  # the bar as last drawn
    assert "1,280 / 2,560 papers" in last
    assert "papers/s" in last and "-:--:--" not in last
    assert "0:00:" in last or "0:01:" in last  # time left at about 32 papers/s: 40 s


def test_without_a_total_the_bar_counts_and_times() -> None:
    clock = [0.0]
    console = _console()
    with Bars(console, get_time=lambda: clock[0]) as bars:
        for step in range(1, 6):
            clock[0] += 1
            bars("read", step * 500, None)
        bars.progress.refresh()
    text = console.export_text()
    assert "2,500 papers" in text and "500.0 papers/s" in text


def test_ingest_counts_records_with_an_estimated_total(tmp_path: Path) -> None:
    source = tmp_path / "papers.jsonl"  # 1.5 MB: read in many buffers
    with source.open("w") as out:
        for i in range(3000):
            words = " ".join(f"w{i * j % 9973}" for j in range(80))
            out.write(f'{{"id": "2401.{i:05d}", "title": "Paper {i}", '
                      f'"abstract": "{words}"}}\n')
    seen: list[tuple[str, int, int | None]] = []
    with Library(tmp_path / "lib") as lib:
        lib.ingest([source], progress=lambda *event: seen.append(event))
    reads = [(done, total) for task, done, total in seen if task == "read"]
    assert [done for done, _ in reads] == [*range(500, 3001, 500), 3000]  # and at the end
    assert all(total is not None and total >= done for done, total in reads), reads


def test_the_estimate_follows_the_bytes_read(tmp_path: Path) -> None:
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    first.write_bytes(b"x" * 4000)
    second.write_bytes(b"x" * 6000)
    seen: list[tuple[str, int, int | None]] = []
    counter = RecordCounter([first, second], lambda *event: seen.append(event))
    counter.reading(first)(1000)  # a quarter of the first file: 100 records
    counter("read", 100, None)
    counter.read_all(first)
    counter.reading(second)(3000)  # half of the second one: 700 records in all
    counter("read", 700, None)
    counter("index", 5, 10)
    assert seen == [("read", 100, 1000), ("read", 700, 1000), ("index", 5, 10)]
    assert RecordCounter(["-"], lambda *event: None).estimate(100) is None  # stdin: pulse
