"""Hostile, broken and cut-off input (issue 11): each test is a finding, and failed on the
code before the fix.

Promises: a file that cannot be read on yields every complete record before the damage,
then one SourceError naming the line; a record over a limit (nesting, number size, line
or field length) is rejected alone and the rest of the file is read; what is stored is
clean (no control characters, only http(s) links, counts in range).
"""

from __future__ import annotations

import gzip
import json
import logging
import zlib
from pathlib import Path
from typing import Any

import pytest

from papersift import sources
from papersift.papers import Links, Paper, Rejected
from papersift.sources import SourceError

DATA = Path(__file__).parent / "data"
GOOD = [
    {"id": f"2401.{i:05d}", "title": f"Paper {i}", "abstract": f"About {i}."} for i in range(1, 7)
]


def read_all(path: str | Path, **kwargs: Any) -> tuple[list[Paper], list[Rejected], str | None]:
    """Papers, rejections and the SourceError message (``None`` when the file read whole)."""
    papers: list[Paper] = []
    rejected: list[Rejected] = []
    try:
        for item in sources.read(path, **kwargs):
            (papers if isinstance(item, Paper) else rejected).append(item)  # type: ignore[arg-type]
    except SourceError as err:
        message = str(err)
        assert "\n" not in message
        return papers, rejected, message
    return papers, rejected, None


def jsonl(*records: Any) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


# --- a fatal error part way keeps everything before it ---------------------------------------


def test_a_gzip_cut_at_40_percent_keeps_every_complete_record(
    tmp_path: Path, arxiv_sample: Path
) -> None:
    raw = arxiv_sample.read_bytes()
    cut = raw[: int(len(raw) * 0.4)]
    complete = zlib.decompressobj(wbits=31).decompress(cut).count(b"\n")  # 30,213
    (tmp_path / "cut.jsonl.gz").write_bytes(cut)
    papers, rejected, error = read_all(tmp_path / "cut.jsonl.gz")
    assert len(papers) == complete and not rejected  # the reader used to lose the last 63
    assert error is not None and error.startswith(f"{tmp_path / 'cut.jsonl.gz'}:{complete + 1}:")
    assert "truncated gzip" in error and "download it again" in error


def test_good_lines_then_a_byte_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "late.jsonl"
    bad = b'{"title": "caf\xe9"}\n'
    path.write_bytes(jsonl(*GOOD[:3]).encode() + bad + jsonl(*GOOD[3:]).encode())
    papers, _, error = read_all(path)  # the sniffer refused the whole file
    assert [p.title for p in papers] == ["Paper 1", "Paper 2", "Paper 3"]
    assert error is not None and error.startswith(f"{path}:4: not UTF-8") and "iconv" in error


def test_a_csv_with_a_bad_byte_keeps_the_rows_before_it(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes(b"title,abstract\nA,one\nB,two\nC\xff,three\nD,four\n")
    papers, _, error = read_all(path)
    assert [p.title for p in papers] == ["A", "B"]
    assert error is not None and error.startswith(f"{path}:4: not UTF-8")


@pytest.mark.parametrize(
    ("name", "tag", "records"), [("arxiv_api.atom", "entry", 2), ("oai_arxivraw.xml", "record", 3)]
)
def test_xml_malformed_after_good_records_keeps_them(
    tmp_path: Path, name: str, tag: str, records: int
) -> None:
    text = (DATA / name).read_text()
    close = f"</{tag}>"
    end = 0
    for _ in range(records):  # after the second paper (the OAI-PMH file's second is deleted)
        end = text.index(close, end) + len(close)
    path = tmp_path / name
    path.write_text(text[:end] + f"\n<{tag}><title>fish & chips</title>" + text[end:])
    papers, _, error = read_all(path)  # all in one parse chunk: 0 used to come out
    assert len(papers) == 2
    line = text[:end].count("\n") + 2
    assert error is not None and error.startswith(f"{path}:{line}: malformed XML at line {line}")


def test_xml_cut_after_five_entries_keeps_them(tmp_path: Path) -> None:
    entry = '<entry><id>http://arxiv.org/abs/2401.{:05d}v1</id><title>T{}</title></entry>\n'
    feed = '<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n' + "".join(
        entry.format(i, i) for i in range(1, 8)
    )
    path = tmp_path / "cut.atom.gz"
    cut_at = feed.index("<entry>", feed.index("T5</title>")) + 20
    path.write_bytes(gzip.compress(feed[:cut_at].encode() + b"\xff" * 3))
    papers, _, error = read_all(path)
    assert [p.title for p in papers] == ["T1", "T2", "T3", "T4", "T5"]
    assert error is not None and error.startswith(f"{path}:8: malformed XML")


def test_daily_json_cut_short_keeps_the_items_before_the_cut(tmp_path: Path) -> None:
    items = {f"2401.{i:05d}": {"title": f"Paper {i}", "upvotes": i} for i in range(1, 9)}
    text = json.dumps(items, indent=1)
    path = tmp_path / "papers.json"
    path.write_text(text[: text.index('"2401.00006"')])  # mid-document, as a failed download
    papers, _, error = read_all(path)
    assert [p.id for p in papers] == [f"2401.{i:05d}" for i in range(1, 6)]
    assert error is not None and error.startswith(f"{path}:") and "malformed JSON" in error
    gz = tmp_path / "papers.json.gz"
    gz.write_bytes(gzip.compress(text.encode())[:-8])  # all the data, not the checksum
    papers, _, error = read_all(gz)
    assert len(papers) == 8 and error is not None and "truncated gzip" in error


def test_a_daily_page_cut_short_keeps_the_entries_before_the_cut(tmp_path: Path) -> None:
    entry = "Title {0}\n\nAn abstract about {0}.\n\n  • 2 authors\n·\nJan {0}, 2024 3\n\n"
    page = "Daily Papers\n\n" + "".join(entry.format(i) for i in range(1, 30))
    packed = gzip.compress(page.encode())
    path = tmp_path / "page.txt.gz"
    path.write_bytes(packed[: len(packed) * 2 // 3])
    papers, _, error = read_all(path, fmt="daily-page")  # the whole page was refused
    readable = zlib.decompressobj(wbits=31).decompress(packed[: len(packed) * 2 // 3])
    whole_lines = readable[: readable.rfind(b"\n") + 1]
    assert len(papers) == whole_lines.count(b", 2024 3\n") > 10  # every dated entry
    assert error is not None and "truncated gzip" in error


# --- resource limits: one hostile record costs one rejection --------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "kaggle", "beir"])
def test_json_nested_100000_deep_is_rejected_alone(tmp_path: Path, fmt: str) -> None:
    records = [{**r, "_id": r["id"], "text": r["abstract"], "authors_parsed": []} for r in GOOD]
    path = tmp_path / "deep.jsonl"
    path.write_text(jsonl(*records[:3], "[" * 100_000 + "]" * 100_000, *records[3:]))
    papers, (rejected,), error = read_all(path, fmt=fmt)  # RecursionError took the file down
    assert len(papers) == 6 and error is None
    assert rejected.line == 4 and "nested more than 64 levels" in rejected.reason


def test_daily_json_item_nested_100000_deep_is_rejected_alone(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    deep = '{"title": "deep", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
    path.write_text('[{"id": "2401.00001", "title": "a"},\n' + deep + ',\n{"title": "b"}]')
    papers, (rejected,), error = read_all(path)
    assert [p.title for p in papers] == ["a", "b"] and error is None
    assert rejected.line == 2 and "item 2" in rejected.reason and "nested" in rejected.reason


def test_a_5000_digit_number_is_rejected_alone(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_text(jsonl(*GOOD[:2], '{"title": "x", "upvotes": ' + "9" * 5000 + "}", *GOOD[2:]))
    papers, (rejected,), error = read_all(path)  # a ValueError traceback before
    assert len(papers) == 6 and error is None and rejected.line == 3
    assert "number" in rejected.reason and "too long" in rejected.reason
    doc = tmp_path / "big.json"
    doc.write_text('[{"title": "a"},\n{"title": "x", "upvotes": ' + "9" * 5000 + "},\n{}]")
    papers, rejected_items, error = read_all(doc)
    assert [p.title for p in papers] == ["a"] and error is None
    assert [r.line for r in rejected_items] == [2, 3]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (10**30, ["'upvotes'", "not a count"]),  # overflowed SQLite's integers when stored
        (-5, ["'upvotes'", "not a count"]),  # was stored as -5
        ("²", ["'upvotes'", "whole number"]),  # int("²") raised ValueError
    ],
)
def test_counts_out_of_range_are_rejected(tmp_path: Path, value: object, words: list[str]) -> None:
    path = tmp_path / "counts.jsonl"
    path.write_text(jsonl(GOOD[0], {"title": "x", "upvotes": value}, GOOD[1]))
    papers, (rejected,), error = read_all(path)
    assert len(papers) == 2 and error is None and rejected.line == 2
    assert all(w in rejected.reason for w in words), rejected.reason


def test_absurd_dates_and_versions_are_rejected_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "dates.jsonl"
    path.write_text(jsonl(
        {"title": "tz", "published": "Mon, 2 Apr 2007 19:18:42 +99999999999999"},  # OverflowError
        {"title": "v", "versions": [{"version": "v²", "created": "2020-01-01"}],
         "authors_parsed": []},
        GOOD[0],
    ))
    papers, rejected, error = read_all(path, fmt="kaggle")
    assert [p.title for p in papers] == ["Paper 1"] and error is None
    assert [r.line for r in rejected] == [1, 2]
    raw = (DATA / "oai_arxivraw.xml").read_text().replace('version="v1"', 'version="v²"', 1)
    (tmp_path / "raw.xml").write_text(raw)
    papers, _, error = read_all(tmp_path / "raw.xml")
    assert papers and error is None


def test_lines_and_fields_over_the_limits_are_rejected_alone(tmp_path: Path) -> None:
    from papersift.sources import Limits

    limits = Limits(line_bytes=1000, field_chars=100)
    path = tmp_path / "long.jsonl"
    path.write_text(jsonl(GOOD[0], {"title": "x" * 5000}, {"title": "y" * 500}, GOOD[1]))
    papers, rejected, error = read_all(path, limits=limits)
    assert [p.title for p in papers] == ["Paper 1", "Paper 2"] and error is None
    assert [r.line for r in rejected] == [2, 3]
    assert "Limits.line_bytes" in rejected[0].reason and "Limits.field_chars" in rejected[1].reason
    text = tmp_path / "long.txt"
    text.write_text("A short abstract of words.\n" + "word " * 1000 + "\nAnother abstract here.\n")
    papers, (too_long,), _ = read_all(text, limits=limits)
    assert len(papers) == 2 and too_long.line == 2
    table = tmp_path / "long.csv"
    table.write_text("title,abstract\nA,a\nB," + "b" * 2000 + "\nC,c\n")
    papers, (too_long,), _ = read_all(table, limits=limits)
    assert [p.title for p in papers] == ["A", "C"] and too_long.line == 3


def test_xml_records_too_deep_or_too_large_are_rejected_alone(tmp_path: Path) -> None:
    from papersift.sources import Limits

    entry = '<entry><id>http://arxiv.org/abs/2401.{:05d}v1</id><title>T{}</title>{}</entry>\n'
    extras = ["", "<a>" * 100_000 + "</a>" * 100_000, "", "<x>" + "y" * 50_000 + "</x>", ""]
    feed = '<?xml version="1.0"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n' + "".join(
        entry.format(i, i, extra) for i, extra in enumerate(extras, 1)
    ) + "</feed>\n"
    path = tmp_path / "big.atom"
    path.write_text(feed)
    papers, rejected, error = read_all(path, limits=Limits(line_bytes=10_000))
    assert [p.title for p in papers] == ["T1", "T3", "T5"] and error is None
    assert [r.line for r in rejected] == [4, 6]
    assert "nested more than 64" in rejected[0].reason
    assert "Limits.line_bytes" in rejected[1].reason
    # one token (a comment) longer than the limit cannot be skipped: an error, after the rest
    comment = feed.replace("</feed>", "<!--" + "z" * 300_000 + "-->\n</feed>")
    path.write_text(comment)
    papers, _, error = read_all(path, limits=Limits(line_bytes=100_000))
    assert len(papers) == 4 and error is not None and "runs over 100,000 bytes" in error


def test_xml_parameter_entities_are_refused_too(tmp_path: Path) -> None:
    path = tmp_path / "bomb.atom"
    path.write_text('<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY % p "x">]>'
                    '<feed xmlns="http://www.w3.org/2005/Atom"></feed>')
    _, _, error = read_all(path)
    assert error is not None and "entity declarations are not allowed" in error


def test_daily_page_absurd_counts_are_rejected(tmp_path: Path) -> None:
    entry = "{0}\n\nAbout {0}.\n\n  • {1} authors\n·\nJan 3, 2024 {2}\n\n"
    page = "Daily Papers\n\n" + entry.format("Fine", 2, 3) + entry.format("Many", "9" * 5000, 1)
    page += entry.format("Votes", 2, "9" * 20) + entry.format("Last", 1, 1)
    path = tmp_path / "page.txt"
    path.write_text(page)
    papers, rejected, error = read_all(path)
    assert [p.title for p in papers] == ["Fine", "Last"] and error is None
    assert len(rejected) == 2 and all("not a count" in r.reason for r in rejected)


# --- the smaller findings --------------------------------------------------------------------


def test_a_nul_byte_does_not_make_a_jsonl_file_unknown(tmp_path: Path) -> None:
    path = tmp_path / "nul.jsonl"
    path.write_bytes(jsonl(*GOOD[:3]).encode() + b'{"title": "a\x00b"}\n' + jsonl(GOOD[3]).encode())
    papers, (rejected,), error = read_all(path)  # "unknown format (binary data)" before
    assert len(papers) == 4 and error is None
    assert rejected.line == 4 and "malformed JSON" in rejected.reason  # JSON forbids a raw NUL


def test_nul_and_control_characters_are_never_stored(tmp_path: Path) -> None:
    path = tmp_path / "nul.jsonl"
    path.write_text(jsonl(
        {"id": "x\u0000y", "title": "a\u0000b\u001bc", "abstract": "d\u0007e",
         "authors": ["f\u0000g"], "categories": ["h\u0000i"], "comment": "j\u0085k"},
        {"title": "lone \ud800 surrogate"},  # a UnicodeEncodeError traceback before
    ))
    (paper, lone), _, _ = read_all(path)
    assert (paper.id, paper.title, paper.abstract) == ("xy", "a b c", "d e")
    assert (paper.authors, paper.categories, paper.comment) == (("fg",), ("hi",), "j k")
    assert lone.title == "lone surrogate"
    made = Paper(id="1", title="t\x00itle", abstract="a\x1bb", authors=("c\x00",))
    assert (made.title, made.abstract, made.authors) == ("title", "ab", ("c",))


def test_an_unclosed_csv_quote_costs_one_row(tmp_path: Path) -> None:
    path = tmp_path / "quote.csv"
    path.write_text('title,abstract\n"Bad,one\nGood,two\n"Third",three\nLast,four\n')
    papers, (rejected,), error = read_all(path)  # "Good" and "Third" were swallowed into "Bad"
    assert [p.title for p in papers] == ["Good", "Third", "Last"] and error is None
    assert rejected.line == 2 and "quot" in rejected.reason
    path.write_text('title,abstract\nA,one\n"Open,two\nB,three\nC,four\n')  # never closed
    papers, (rejected,), _ = read_all(path)
    assert [p.title for p in papers] == ["A", "B", "C"] and rejected.line == 3


@pytest.mark.parametrize(
    "url",
    ["javascript:alert(1)", "JavaScript:alert(1)", " javascript:x", "data:text/html,<b>x</b>",
     "vbscript:x", "//evil.example/x", "java\tscript:x", "https://ok.example/\nx", "ftp://x/y"],
)
def test_only_http_links_are_kept(tmp_path: Path, url: str) -> None:
    path = tmp_path / "links.jsonl"
    path.write_text(jsonl({"title": "t", "url": url, "pdf_url": url, "code": [url]}))
    (paper,), _, _ = read_all(path)
    assert paper.links == Links()
    assert Links(abs=url, pdf=url, code=(url, "https://github.com/a/b")) == Links(
        code=("https://github.com/a/b",)
    )
    assert Links(abs="HTTPS://arxiv.org/abs/1").abs == "HTTPS://arxiv.org/abs/1"


def test_messages_quoting_input_stay_one_line(tmp_path: Path) -> None:
    path = tmp_path / "keys.jsonl"
    path.write_text(jsonl({"line\nbreak": 1, "other\u2028key": 2}))
    _, (rejected,), _ = read_all(path)
    assert "\n" not in rejected.reason and "\u2028" not in rejected.reason
    assert "line\\nbreak" in rejected.reason


def test_xml_declaring_an_unknown_encoding_is_read_as_utf8(tmp_path: Path) -> None:
    text = (DATA / "arxiv_api.atom").read_text().replace('encoding="UTF-8"', 'encoding="UTF-4"')
    assert 'encoding="UTF-4"' in text
    (tmp_path / "enc.atom").write_text(text)
    papers, _, error = read_all(tmp_path / "enc.atom")  # LookupError traceback before
    assert len(papers) == 3 and error is None


def test_an_xml_root_in_another_namespace_is_named(tmp_path: Path) -> None:
    (tmp_path / "plain.atom").write_text("<feed><entry><title>T</title></entry></feed>")
    _, _, error = read_all(tmp_path / "plain.atom", fmt="atom")  # "<feed>, not <feed>" before
    assert error is not None and "not in the namespace http://www.w3.org/2005/Atom" in error


def test_a_daily_page_entry_with_a_blank_title_is_rejected(tmp_path: Path) -> None:
    page = "Daily Papers\n\n\x00\n\nAbout it.\n\n  • 2 authors\n·\nJan 3, 2024\n\nOk\n\nFine.\n\n"
    page += "  • 1 author\n·\nJan 4, 2024\n"
    (tmp_path / "page.txt").write_text(page)
    papers, (rejected,), _ = read_all(tmp_path / "page.txt", fmt="daily-page")
    assert [p.title for p in papers] == ["Ok"] and "no title" in rejected.reason


def test_an_id_of_control_characters_is_no_id(tmp_path: Path) -> None:
    path = tmp_path / "ids.csv"  # found by fuzzing: the paper was stored under the id ""
    path.write_text("id,title,abstract\n\x00\x01,A title,An abstract\n")
    (paper,), _, _ = read_all(path)
    assert paper.id.startswith("sha256:")  # the content hash, as for a record with no id


def test_a_daily_page_entry_without_a_byline_is_read(tmp_path: Path) -> None:
    page = "Daily Papers\n\nA title\n\nAn abstract.\n\n·\nFeb 24, 2024 3\n"  # found by fuzzing
    (tmp_path / "page.txt").write_text(page)
    (paper,), _, error = read_all(tmp_path / "page.txt", fmt="daily-page")  # IndexError before
    assert (paper.title, paper.organization, paper.upvotes, error) == ("A title", None, 3, None)


def test_eval_skips_empty_beir_documents_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from papersift.evaluate import run_eval

    (tmp_path / "qrels").mkdir()
    (tmp_path / "corpus.jsonl").write_text(jsonl(
        {"_id": "d1", "title": "Graph neural networks", "text": "Message passing on graphs."},
        {"_id": "d2", "title": "", "text": ""},  # real collections hold such documents
        {"_id": "d3", "title": "Protein folding", "text": "Structure prediction."},
    ))
    (tmp_path / "queries.jsonl").write_text(jsonl({"_id": "q1", "text": "graph networks"}))
    (tmp_path / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    with caplog.at_level(logging.WARNING, logger="papersift.evaluate"):
        (scores,) = run_eval(tmp_path, modes=["lexical"])  # EvalError before
    assert scores.ndcg_10 == 1.0
    assert "skipped 1 empty documents" in caplog.text and "line 2" in caplog.text
