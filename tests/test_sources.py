"""Reading papers from every supported format, on the real shared data and on sample files
written to each format's published description (tests/data/)."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from papersift import sources
from papersift.papers import Paper, Rejected
from papersift.sources import SourceError
from tests.conftest import seed

DATA = Path(__file__).parent / "data"


def read_all(path: str | Path, **kwargs: Any) -> tuple[list[Paper], list[Rejected]]:
    """Read everything, papers and rejections apart."""
    papers: list[Paper] = []
    rejected: list[Rejected] = []
    for item in sources.read(path, **kwargs):
        if isinstance(item, Paper):
            papers.append(item)
        else:
            rejected.append(item)
    return papers, rejected


def by_title(papers: list[Paper]) -> dict[str, Paper]:
    return {p.title: p for p in papers}


# --- the real shared data -------------------------------------------------------------------


def test_plain_abstracts_become_papers_titled_by_their_first_sentence() -> None:
    path = seed("000")
    assert sources.sniff(path.read_bytes(), path.name) == "text"
    papers, rejected = read_all(path)
    assert len(papers) == 11 and not rejected
    assert len({p.id for p in papers}) == 11
    assert all(p.id.startswith("sha256:") for p in papers)
    first = papers[0]
    assert first.abstract.startswith("Tensors are often studied by introducing preorders")
    assert first.title.startswith("Tensors are often studied")
    assert all(0 < len(p.title) <= 121 for p in papers)
    assert all(p.abstract.startswith(p.title.rstrip("…")) for p in papers)
    assert papers[-1].abstract.endswith("the deep network limit.")  # last line, no newline


def test_daily_page_yields_the_29_listed_papers() -> None:
    path = seed("003")
    assert sources.sniff(path.read_bytes(), path.name) == "daily-page"
    papers, rejected = read_all(path)
    assert len(papers) == 29 and not rejected
    titles = by_title(papers)
    assert "Daily Papers" not in titles and "new" not in titles
    densing = titles["Densing Law of LLMs"]
    assert (densing.organization, densing.published, densing.upvotes) == (
        "OpenBMB",
        date(2024, 12, 5),
        2,
    )
    assert densing.author_count is None
    struc = next(p for p in papers if p.title.startswith("Struc-Bench"))
    assert (struc.published, struc.upvotes, struc.author_count) == (date(2023, 9, 16), 1, 5)
    mrl = titles["Matryoshka Representation Learning"]
    assert (mrl.author_count, mrl.published, mrl.upvotes) == (11, date(2022, 5, 26), 0)
    assert mrl.abstract.startswith("Learned representations are a central component")
    assert mrl.links.code == ("https://github.com/RAIVNLab/MRL",)
    # dates without a year are in the page's year: the latest year shown (2024) plus one
    routing = titles["Capability Instruction Tuning: A New Paradigm for Dynamic LLM Routing"]
    assert routing.published == date(2025, 2, 24)
    spiral = titles["Combinatorial Creativity: A New Frontier in Generalization Abilities"]
    assert (spiral.organization, spiral.published, spiral.upvotes) == (
        "Spiral Works",
        date(2025, 9, 25),
        2,
    )
    warmup = titles["Efficient Generative Model Training via Embedded Representation Warmup"]
    assert (warmup.published, warmup.upvotes) == (date(2025, 4, 14), 2)
    assert papers[0].title.startswith("Enhancing Multimodal Compositional Reasoning")
    assert len({p.id for p in papers}) == 29


def test_daily_page_year_can_be_given() -> None:
    papers, _ = read_all(seed("003"), page_year=2030)
    routing = next(p for p in papers if p.title.startswith("Capability Instruction Tuning"))
    assert routing.published == date(2030, 2, 24)


def test_daily_page_entries_with_bad_dates_are_rejected(tmp_path: Path) -> None:
    entry = "{title}\n\nAn abstract about {title}.\n\n  • 2 authors\n·\n{date}\n\n"
    page = "Daily Papers\n\n" + "".join(
        entry.format(title=title, date=when)
        for title, when in [("One", "Jan 3, 2024 4"), ("Two", "Febr 30"), ("Three", "Feb 29")]
    )
    path = tmp_path / "page.txt"
    path.write_text(page)
    papers, rejected = read_all(path)  # no leap day in 2024 + 1
    assert [(p.title, p.published, p.upvotes) for p in papers] == [("One", date(2024, 1, 3), 4)]
    assert [r.line for r in rejected] == [11, 19]
    assert "'Febr 30'" in rejected[0].reason and "not a real date" in rejected[1].reason
    papers, _ = read_all(path, page_year=2024)
    assert papers[-1].title == "Three" and papers[-1].published == date(2024, 2, 29)


def test_the_75k_arxiv_listing_reads_whole_with_progress(arxiv_sample: Path) -> None:
    seen: list[int] = []
    papers, rejected = read_all(arxiv_sample, on_bytes=seen.append)
    assert len(papers) == 74_728 and not rejected
    assert seen[-1] == arxiv_sample.stat().st_size == sources.total_bytes([arxiv_sample])
    assert seen == sorted(seen)
    first = papers[0]
    assert first.id == "2503.11731" and first.categories == ("cs.CV", "cs.RO")
    assert first.published == date(2025, 3, 18)
    assert first.authors[:2] == ("Xianming Zeng", "Sicong Du")
    assert "\n" not in first.abstract
    assert first.links.abs == "https://arxiv.org/abs/2503.11731"
    assert len({p.id for p in papers}) == 74_728


def test_scifact_corpus_keeps_beir_ids(scifact: Path) -> None:
    corpus = scifact / "corpus.jsonl"
    assert sources.sniff(corpus.read_bytes()[:65536], corpus.name) == "beir"
    papers, rejected = read_all(corpus)
    assert len(papers) == 5183 and not rejected
    assert papers[0].id == "4983"
    assert papers[0].title.startswith("Microstructural development of human newborn")
    qrels = (scifact / "qrels" / "test.tsv").read_text().splitlines()[1:]
    judged = {line.split("\t")[1] for line in qrels}
    assert judged <= {p.id for p in papers}


def test_daily_papers_keyed_json(daily_papers_json: Path) -> None:
    papers, rejected = read_all(daily_papers_json)
    assert len(papers) == 753 and not rejected
    larp = papers[0]
    assert (larp.id, larp.title) == (
        "2312.17653",
        "LARP: Language-Agent Role Play for Open-World Games",
    )
    assert (larp.upvotes, larp.published) == (29, date(2023, 12, 24))
    assert larp.authors[0] == "Ming Yan"


# --- samples written to each format's description --------------------------------------------


def test_daily_papers_api_list() -> None:
    papers, rejected = read_all(DATA / "daily_papers_api.json")
    assert not rejected and [p.id for p in papers] == ["2412.04315", "2106.09685", "2403.01234"]
    densing, lora, bare = papers
    assert (densing.organization, densing.upvotes, densing.published) == (
        "OpenBMB",
        2,
        date(2024, 12, 5),
    )
    assert densing.authors[0] == "Chaojun Xiao" and len(densing.authors) == 7
    assert lora.links.code == ("https://github.com/microsoft/LoRA",)
    assert (densing.submitter, lora.submitter, bare.submitter) == ("Chaojun Xiao", "AK", None)
    assert (bare.title, bare.abstract, bare.upvotes) == (
        "A paper with only an id and a title",
        "",
        0,
    )


def test_kaggle_snapshot() -> None:
    path = DATA / "kaggle_arxiv.jsonl"
    assert sources.sniff(path.read_bytes(), path.name) == "kaggle"
    papers, rejected = read_all(path)
    assert not rejected
    diphoton, sparsity, ads = papers
    assert (diphoton.id, diphoton.version, diphoton.published) == ("0704.0001", 2, date(2007, 4, 2))
    assert diphoton.authors == ("C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan")
    assert (
        diphoton.title
        == "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    )
    assert sparsity.categories == ("math.CO", "cs.CG")
    assert (ads.id, ads.version, ads.published) == ("hep-th/9711200", 3, date(1997, 11, 27))
    assert ads.links.abs == "https://arxiv.org/abs/hep-th/9711200v3"


def test_arxiv_atom_feed() -> None:
    path = DATA / "arxiv_api.atom"
    assert sources.sniff(path.read_bytes(), path.name) == "atom"
    papers, rejected = read_all(path)
    assert not rejected and [(p.id, p.version) for p in papers] == [
        ("1706.03762", 7),
        ("hep-th/9711200", 3),
        ("2106.09685", 2),
    ]
    attention, ads, lora = papers
    assert attention.title == "Attention Is All You Need"
    assert attention.published == date(2017, 6, 12)
    assert attention.categories == ("cs.CL", "cs.LG") and len(attention.authors) == 8
    assert attention.comment == "15 pages, 5 figures"
    assert attention.links.pdf == "https://arxiv.org/pdf/1706.03762v7"
    assert attention.abstract.startswith("The dominant sequence transduction models")
    assert ads.authors == ("Juan M. Maldacena",) and ads.categories == ("hep-th",)
    assert lora.links.code == ("https://github.com/microsoft/LoRA",)


@pytest.mark.parametrize("name", ["oai_arxiv.xml", "oai_arxivraw.xml"])
def test_oai_pmh_skips_deleted_records(name: str) -> None:
    path = DATA / name
    assert sources.sniff(path.read_bytes(), name) == "oai-pmh"
    papers, rejected = read_all(path)
    assert not rejected and [p.id for p in papers] == ["0704.0001", "0704.0002"]
    diphoton, sparsity = papers
    assert diphoton.published == date(2007, 4, 2) and diphoton.categories == ("hep-ph",)
    assert diphoton.title.endswith("at Tevatron and LHC energies")
    assert diphoton.comment == "37 pages, 15 figures; published version"
    assert sparsity.authors == ("Ileana Streinu", "Louis Theran")
    if name == "oai_arxiv.xml":
        assert diphoton.authors[0] == "C. Balázs" and diphoton.version is None
    else:
        assert diphoton.version == 2 and sparsity.published == date(2007, 3, 31)


def test_csv_with_header() -> None:
    path = DATA / "papers.csv"
    assert sources.sniff(path.read_bytes(), path.name) == "csv"
    papers, rejected = read_all(path)
    assert not rejected
    lora, attention, note = papers
    assert (lora.id, lora.version, lora.upvotes) == ("2106.09685", 2, 11)
    assert lora.authors == ("Edward J. Hu", "Yelong Shen", "Phillip Wallis")
    assert "\n" not in lora.abstract and lora.categories == ("cs.CL", "cs.AI", "cs.LG")
    assert attention.authors == ("Ashish Vaswani", "Noam Shazeer", "Niki Parmar")
    assert attention.upvotes == 0 and attention.published == date(2017, 6, 12)
    assert note.id.startswith("sha256:")


def test_unusual_field_names_are_mapped(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    record = {"paper_key": "arXiv:2403.01234v2", "headline": "T", "blurb": "An abstract."}
    path.write_text(json.dumps(record) + "\n")
    _, rejected = read_all(path)
    assert "no title or abstract" in rejected[0].reason and "--field" in rejected[0].reason
    fields = {"paper_key": "id", "headline": "title", "blurb": "abstract"}
    (paper,), rejected = read_all(path, fields=fields)
    assert (paper.id, paper.version, paper.title, paper.abstract) == (
        "2403.01234",
        2,
        "T",
        "An abstract.",
    )
    with pytest.raises(SourceError, match="not a paper field"):
        read_all(path, fields={"blurb": "summary_text"})


def test_jsonl_field_variants(tmp_path: Path) -> None:
    lines = [
        {
            "arxiv_id": "https://arxiv.org/abs/2401.00001v3",
            "title": "A",
            "summary": "x",
            "authors": "Ann Lee, Bo Chen and Cy Diaz",
            "categories": "cs.LG stat.ML",
            "publishedAt": "2024-01-02T03:04:05.000Z",
            "github": "https://github.com/a/b",
            "organization": {"name": "lab", "fullname": "The Lab"},
            "upvotes": "7",
        },
        {
            "_id": "x1",
            "text": "only an abstract",
            "date": "Tue, 2 Jan 2024 10:00:00 GMT",
            "authors": [{"name": "Ann  Lee"}],
        },
        {"id": "DOI:10.1000/ABC", "title": "A DOI", "comments": "5 pages"},
    ]
    path = tmp_path / "variants.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    (first, second, third), rejected = read_all(path)
    assert not rejected
    assert (first.id, first.version, first.authors) == (
        "2401.00001",
        3,
        ("Ann Lee", "Bo Chen", "Cy Diaz"),
    )
    assert first.categories == ("cs.LG", "stat.ML") and first.published == date(2024, 1, 2)
    assert first.links.code == ("https://github.com/a/b",)
    assert (first.organization, first.upvotes) == ("The Lab", 7)
    assert (second.id, second.abstract, second.authors) == ("x1", "only an abstract", ("Ann Lee",))
    assert second.published == date(2024, 1, 2)
    assert (third.id, third.comment) == ("doi:10.1000/abc", "5 pages")


# --- bad records: rejected with their line, the rest read ------------------------------------


def test_malformed_lines_are_rejected_with_their_line_numbers(tmp_path: Path) -> None:
    good = '{"id": "2401.%05d", "title": "Paper %d", "abstract": "About %d."}\n'
    lines = [good % (i, i, i) for i in range(1, 8)]
    lines[1] = '{"id": "2402.00001", "title": "broken", \n'  # line 2: malformed JSON
    lines[3] = '{"id": "2402.00002", "published": "2024-01-01"}\n'  # line 4: no text
    lines[5] = '{"id": "2402.00003", "title": "T", "date": "yesterday"}\n'  # line 6: bad date
    path = tmp_path / "mixed.jsonl"
    path.write_text("".join(lines[:4]) + "\n" + "".join(lines[4:]))  # a blank line 5 too
    papers, rejected = read_all(path)
    assert [p.title for p in papers] == ["Paper 1", "Paper 3", "Paper 5", "Paper 7"]
    assert [r.line for r in rejected] == [2, 4, 7]
    assert all(r.source == str(path) for r in rejected)
    assert "malformed JSON" in rejected[0].reason
    assert "no title or abstract" in rejected[1].reason
    assert "'date'" in rejected[2].reason and "'yesterday'" in rejected[2].reason
    assert "YYYY-MM-DD" in rejected[2].reason


@pytest.mark.parametrize(
    ("record", "words"),
    [
        ({"title": ["a list"]}, ["'title'", "text", "list"]),
        ({"title": "T", "authors": 3}, ["'authors'", "list of names"]),
        ({"title": "T", "upvotes": "many"}, ["'upvotes'", "whole number"]),
        ({"title": "T", "categories": {"a": 1}}, ["'categories'"]),
        ([1, 2], ["JSON object", "list"]),
    ],
)
def test_wrong_types_are_rejected(tmp_path: Path, record: object, words: list[str]) -> None:
    path = tmp_path / "typed.jsonl"
    path.write_text('{"title": "fine"}\n' + json.dumps(record) + "\n")
    papers, (rejected,) = read_all(path, fmt="jsonl")
    assert len(papers) == 1 and rejected.line == 2
    assert all(word in rejected.reason for word in words), rejected.reason


def test_bad_csv_rows_and_json_items(tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text('title,abstract\nGood,"multi\nline"\nToo,many,fields\n,\nLast,one\n')
    papers, rejected = read_all(path)
    assert [p.title for p in papers] == ["Good", "Last"]
    assert [(r.line, "header has 2" in r.reason) for r in rejected] == [(4, True)]
    tsv = tmp_path / "sheet.tsv"
    tsv.write_text("Paper_ID\tTitle\tAbstract\n7\tA title\tAn abstract.\n")
    (paper,), _ = read_all(tsv)
    assert (paper.id, paper.title, paper.abstract) == ("7", "A title", "An abstract.")
    items = tmp_path / "items.json"
    items.write_text(json.dumps([{"paper": {"id": "2401.00001", "title": "ok"}}, "oops", {"x": 1}]))
    papers, rejected = read_all(items)
    assert len(papers) == 1 and [r.line for r in rejected] == [1, 1]  # one line holds all
    assert [r.reason.split(":")[0] for r in rejected] == ["item 2", "item 3"]


def test_a_bad_atom_date_rejects_only_that_entry(tmp_path: Path) -> None:
    text = (DATA / "arxiv_api.atom").read_text()
    path = tmp_path / "bad.atom"
    path.write_text(text.replace("2017-06-12T17:57:34Z", "sometime in June", 1))
    papers, (rejected,) = read_all(path)
    assert len(papers) == 2
    assert rejected.line == text.splitlines().index("  <entry>") + 1
    assert "sometime in June" in rejected.reason


# --- whole-file problems: one-line SourceErrors ----------------------------------------------


def _error(path: str | Path, **kwargs: Any) -> str:
    with pytest.raises(SourceError) as caught:
        read_all(path, **kwargs)
    message = str(caught.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_whole_file_errors(tmp_path: Path) -> None:
    assert "no such file" in _error(tmp_path / "missing.jsonl")
    (tmp_path / "empty.jsonl").write_bytes(b"")
    assert "empty" in _error(tmp_path / "empty.jsonl")
    (tmp_path / "latin1.txt").write_bytes("A line.\nCaf\xe9 au lait is good.\n".encode("latin-1"))
    message = _error(tmp_path / "latin1.txt")
    assert "not UTF-8" in message and "line 2" in message and "offset 11" in message
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x02binary")
    message = _error(tmp_path / "blob.bin")
    assert "unknown format" in message and "--format" in message and "oai-pmh" in message
    (tmp_path / "empty-folder").mkdir()
    assert "no files" in _error(tmp_path / "empty-folder")
    assert "unknown format 'pdf'" in _error(DATA / "papers.csv", fmt="pdf")
    assert "no Daily Papers entries" in _error(DATA / "papers.csv", fmt="daily-page")


def test_missing_path_fails_at_call_time(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file or folder"):
        sources.read(tmp_path / "missing.jsonl")


def test_bytes_that_are_not_utf8_far_into_a_file(tmp_path: Path) -> None:
    good = json.dumps({"title": "t", "abstract": "x" * 100}) + "\n"
    path = tmp_path / "late.jsonl"
    path.write_bytes((good * 1000).encode() + b'{"title": "caf\xe9"}\n')
    papers: list[Paper] = []
    with pytest.raises(SourceError) as caught:
        papers.extend(p for p in sources.read(path) if isinstance(p, Paper))
    assert len(papers) == 1000
    offset = len(good) * 1000 + len('{"title": "caf')
    assert f"line 1001 (byte offset {offset})" in str(caught.value)


def test_truncated_and_corrupt_gzip(tmp_path: Path, arxiv_sample: Path) -> None:
    head = arxiv_sample.open("rb").read(300_000)
    (tmp_path / "cut.jsonl.gz").write_bytes(head)
    message = _error(tmp_path / "cut.jsonl.gz")
    assert message.startswith(str(tmp_path / "cut.jsonl.gz")) and "truncated gzip" in message
    small = gzip.compress((DATA / "kaggle_arxiv.jsonl").read_bytes())
    (tmp_path / "tiny.jsonl.gz").write_bytes(small[:-20])
    assert "truncated gzip" in _error(tmp_path / "tiny.jsonl.gz")
    (tmp_path / "bad.gz").write_bytes(small[:10] + b"\xff" * 40 + small[50:])
    assert "gzip" in _error(tmp_path / "bad.gz")


def test_malformed_xml_and_api_errors(tmp_path: Path) -> None:
    text = (DATA / "arxiv_api.atom").read_text()
    (tmp_path / "cut.atom").write_text(text[: len(text) // 2])
    assert "malformed XML at line" in _error(tmp_path / "cut.atom")
    api_error = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
        "<entry><id>http://arxiv.org/api/errors#incorrect_id_format_for_1234.12345</id>"
        "<title>Error</title><summary>incorrect id format for 1234.12345</summary></entry></feed>"
    )
    (tmp_path / "error.atom").write_text(api_error)
    assert "incorrect id format" in _error(tmp_path / "error.atom")
    bomb = '<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY a "aaaa">]><feed>&a;</feed>'
    (tmp_path / "bomb.atom").write_text(bomb)
    assert "entity" in _error(tmp_path / "bomb.atom", fmt="atom")
    assert "not <feed>" in _error(DATA / "oai_arxiv.xml", fmt="atom")
    padding = "<!-- " + "x" * 70_000 + " -->\n"  # push the bad byte past what sniff sees
    late = text.replace("<entry>", padding + "<entry>", 1).replace("Lukasz", "\udcc5ukasz")
    (tmp_path / "late.atom").write_bytes(late.encode("utf-8", "surrogateescape"))
    assert "not UTF-8" in _error(tmp_path / "late.atom")


# --- gzip, folders, stdin, sniffing ----------------------------------------------------------


def test_folder_of_mixed_files_gzip_and_hidden(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(DATA / "arxiv_api.atom", folder / "a.atom")
    (folder / "sub" / "b.jsonl.gz").write_bytes(
        gzip.compress((DATA / "kaggle_arxiv.jsonl").read_bytes())
    )
    shutil.copy(DATA / "papers.csv", folder / "sub" / "c.csv")
    (folder / ".hidden.jsonl").write_text("not even json\n")
    (folder / "scores.tsv").write_text("query-id\tcorpus-id\tscore\n1\t2\t1\n")
    seen: list[int] = []
    papers, rejected = read_all(folder, on_bytes=seen.append)
    assert len(papers) == 3 + 3 + 3
    assert [r.source for r in rejected] == [str(folder / "scores.tsv")]
    assert "skipped" in rejected[0].reason and "title or abstract" in rejected[0].reason
    assert seen[-1] == sources.total_bytes([folder]) and seen == sorted(seen)
    kaggle = [p for p in papers if p.id == "hep-th/9711200"]
    assert len(kaggle) == 2 and {p.version for p in kaggle} == {3}


def test_folder_where_nothing_reads(tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"\x00\x00")
    (tmp_path / "b.bin").write_bytes(b"\x00\x01")
    assert "no file in the folder could be read" in _error(tmp_path)


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    data = gzip.compress((DATA / "kaggle_arxiv.jsonl").read_bytes())
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    papers, _ = read_all("-")
    assert [p.id for p in papers] == ["0704.0001", "0704.0002", "hep-th/9711200"]
    assert sources.total_bytes(["-"]) is None
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\xff\xfe bad")))
    assert _error("-").startswith("<stdin>:1: not UTF-8")


@pytest.mark.parametrize(
    ("head", "name", "expected"),
    [
        ('{"id": "1", "title": "t"}\n', "", "jsonl"),
        ('{"_id": "1", "title": "", "text": "t", "metadata": {}}\n', "", "beir"),
        ('{"id": "0704.0001", "authors_parsed": []}\n', "", "kaggle"),
        (
            '{\n  "2312.17653": {\n    "url": "https://arxiv.org/abs/2312.17653",\n',
            "",
            "daily-json",
        ),
        ('[{"paper": {"id": "2412.04315"', "", "daily-json"),
        ("<?xml version='1.0'?>\n<feed xmlns='http://www.w3.org/2005/Atom'>", "", "atom"),
        (
            "<?xml version='1.0'?>\n<OAI-PMH xmlns='http://www.openarchives.org/OAI/2.0/'>",
            "",
            "oai-pmh",
        ),
        ("paper_id\tTitle\tAbstract\n1\ta\tb\n", "", "csv"),
        ("a;b\n1;2\n", "x.csv", "csv"),
        ("We study things and report results. More text follows.\n", "x.csv", "text"),
        ("A title\n\nAn abstract.\n\n  • 3 authors\n·\nFeb 24\n", "", "daily-page"),
    ],
)
def test_sniff(head: str, name: str, expected: str) -> None:
    assert sources.sniff(head, name) == expected
    assert sources.sniff(gzip.compress(head.encode()), name) == expected


@pytest.mark.parametrize(
    ("head", "words"),
    [
        ("", ["empty"]),
        ("<html><body>hi</body></html>", ["HTML", "daily-page"]),
        ("<rss version='2.0'>", ["<rss>"]),
        ('{"_id": "q1", "text": "a claim", "metadata": {}}\n', ["BEIR queries"]),
        ("42\n", ["unknown format"]),
        (b"ok\n\xff\xfe", ["not UTF-8", "line 2"]),
    ],
)
def test_sniff_refuses(head: str | bytes, words: list[str]) -> None:
    with pytest.raises(SourceError) as caught:
        sources.sniff(head, "f")
    assert all(word in str(caught.value) for word in words), str(caught.value)
    assert str(caught.value).startswith(("f: ", "f:2: "))


def test_formats_are_all_readable() -> None:
    assert set(sources.FORMATS) == {
        "text",
        "daily-page",
        "jsonl",
        "kaggle",
        "atom",
        "oai-pmh",
        "daily-json",
        "beir",
        "csv",
    }
