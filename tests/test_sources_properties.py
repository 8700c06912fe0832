"""Property-based tests of every source reader and of the query parser (hypothesis).

- Any bytes, read as any format (or sniffed): only Papers, Rejected records and at most
  one one-line SourceError come out, and every Paper is safe to store and to show
  (tests/source_invariants.py).
- Well-formed records written in each format read back as written.
- A file damaged part way (gzip cut at any byte, a byte that is not UTF-8 anywhere) yields
  exactly the records that end before the damage, then a SourceError naming a line.

The default profile keeps the suite quick; ``PAPERSIFT_HYPOTHESIS=thorough`` runs many
more examples (``PAPERSIFT_HYPOTHESIS=thorough pytest tests/test_sources_properties.py``).
"""

from __future__ import annotations

import gzip
import os
import unicodedata
import zlib
from datetime import date

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from papersift import sources
from papersift.catalog import Catalog
from papersift.papers import Paper, normalize_text
from papersift.ranking import parse_query
from papersift.sources.daily_page import AUTHORS_RE, DATE_RE, SEPARATOR
from tests.source_invariants import NAME, read_data
from tests.source_writers import FORMATS, XML_FORMATS, Record, expected_fields, write

settings.register_profile(
    "default", max_examples=20, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("PAPERSIFT_HYPOTHESIS", "default"))

_HEADER_LINES = {"new", "Subscribe", "Daily Papers", "Get trending papers in your email inbox!",
                 "byAK and the research community"}

# words of letters, digits, marks, punctuation and symbols from all of Unicode
_word = st.text(
    st.characters(categories=("L", "M", "N", "P", "S"), exclude_characters="\ufffe\uffff"),
    min_size=1, max_size=10,
).map(lambda w: unicodedata.normalize("NFC", w))
_text = st.lists(_word, min_size=1, max_size=12).map(" ".join).map(normalize_text).filter(
    lambda t: bool(t) and t != SEPARATOR and t not in _HEADER_LINES
    and not DATE_RE.match(t) and not AUTHORS_RE.match(t)
)
_name_part = st.text(st.characters(categories=("L",)), min_size=1, max_size=8).map(
    lambda w: unicodedata.normalize("NFC", w)
).filter(lambda w: normalize_text(w) == w and w.isalpha())
_category = st.from_regex(r"[a-z]{2,5}\.[A-Z]{2}", fullmatch=True)


@st.composite
def _records(draw: st.DrawFn, max_size: int = 5) -> list[Record]:
    n = draw(st.integers(1, max_size))
    return [
        Record(
            id=f"24{draw(st.integers(1, 12)):02d}.{i:05d}",
            title=draw(_text),
            abstract=draw(_text),
            authors=tuple(draw(st.lists(st.tuples(_name_part, _name_part), max_size=4))),
            published=draw(st.dates(date(1991, 1, 1), date(2030, 12, 31))),
            categories=tuple(draw(st.lists(_category, max_size=3, unique=True))),
            upvotes=draw(st.integers(0, 10**6)),
        )
        for i in range(1, n + 1)
    ]


def _papers(data: bytes, fmt: str | None) -> tuple[list[Paper], int, str | None]:
    papers, rejected, failure = read_data(data, fmt, catalog=Catalog(":memory:"))
    return papers, len(rejected), str(failure) if failure else None


def _matches(fmt: str, paper: Paper, record: Record) -> bool:
    return all(getattr(paper, k) == v for k, v in expected_fields(fmt, record).items())


# --- anything in, only documented things out --------------------------------------------


@pytest.mark.parametrize("fmt", [*FORMATS, None])
@given(data=st.binary(max_size=2048), compress=st.booleans())
def test_any_bytes_give_papers_rejections_or_one_source_error(
    fmt: str | None, data: bytes, compress: bool
) -> None:
    read_data(gzip.compress(data) if compress else data, fmt, catalog=Catalog(":memory:"))


@pytest.mark.parametrize("fmt", FORMATS)
@given(records=_records(), position=st.integers(0, 10**6), junk=st.binary(min_size=1, max_size=8))
def test_junk_spliced_into_a_good_file_breaks_nothing(
    fmt: str, records: list[Record], position: int, junk: bytes
) -> None:
    data, _ = write(fmt, records)
    at = position % (len(data) + 1)
    read_data(data[:at] + junk + data[at:], fmt, catalog=Catalog(":memory:"))


@given(text=st.text(max_size=300))
def test_any_text_is_sniffed_or_refused_in_one_line(text: str) -> None:
    try:
        assert sources.sniff(text, NAME) in sources.FORMATS
    except sources.SourceError as err:
        assert "\n" not in str(err) and str(err).startswith(NAME)


# --- well-formed records round-trip ---------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
@given(records=_records(), compress=st.booleans())
def test_written_records_read_back_as_written(
    fmt: str, records: list[Record], compress: bool
) -> None:
    data, _ = write(fmt, records)
    papers, rejected, failure = _papers(gzip.compress(data) if compress else data, fmt)
    assert failure is None and rejected == 0
    assert len(papers) == len(records)
    for paper, record in zip(papers, records, strict=True):
        assert _matches(fmt, paper, record), (paper, record)


@pytest.mark.parametrize("fmt", FORMATS)
@given(records=_records())
def test_written_files_are_sniffed_as_their_format(fmt: str, records: list[Record]) -> None:
    assume(fmt != "text" or len(records[0].abstract.split()) >= 3)  # prose, to the sniffer
    data, _ = write(fmt, records)
    sniffed = sources.sniff(data, NAME)
    assert sniffed == fmt or (fmt, sniffed) in {("kaggle", "jsonl"), ("beir", "jsonl")}


# --- damage part way: everything before it, then one error -------------------------------


def _complete(fmt: str, data: bytes, ends: list[int], good: int) -> int:
    """How many records lie wholly in ``data[:good]`` as the reader can use it: XML up to
    the damage, the other formats up to the last line break before it."""
    usable = good if fmt in XML_FORMATS else data.rfind(b"\n", 0, good) + 1
    return sum(1 for end in ends if end <= usable)


@pytest.mark.parametrize("fmt", FORMATS)
@given(records=_records(max_size=8), cut=st.floats(0.0, 0.999))
def test_a_cut_gzip_keeps_every_record_before_the_cut(
    fmt: str, records: list[Record], cut: float
) -> None:
    data, ends = write(fmt, records)
    packed = gzip.compress(data, compresslevel=1)
    truncated = packed[: 10 + int((len(packed) - 10) * cut)]  # the header at least
    readable = zlib.decompressobj(wbits=31).decompress(truncated)
    papers, _, failure = _papers(truncated, fmt)
    expected = _complete(fmt, data, ends, len(readable))
    assert failure is not None and "gzip" in failure, failure
    if fmt == "daily-page" and expected == 0:
        return  # a page without one whole entry is refused as a whole
    assert len(papers) == expected, (failure, len(readable))
    assert all(_matches(fmt, p, r) for p, r in zip(papers, records, strict=False))


@pytest.mark.parametrize("fmt", FORMATS)
@given(records=_records(max_size=8), position=st.floats(0.0, 1.0))
def test_a_byte_that_is_not_utf8_keeps_every_record_before_it(
    fmt: str, records: list[Record], position: float
) -> None:
    data, ends = write(fmt, records)
    at = min(int(len(data) * position), len(data))
    damaged = data[:at] + b"\xff" + data[at:]
    papers, _, failure = _papers(damaged, fmt)
    assert failure is not None
    line = damaged.count(b"\n", 0, at) + 1
    assert f"line {line}" in failure, failure
    expected = _complete(fmt, data, ends, at)
    if fmt == "daily-page" and expected == 0:
        return
    if fmt == "csv" and at < data.find(b"\n"):
        return  # the header itself is damaged
    assert len(papers) == expected, failure
    assert all(_matches(fmt, p, r) for p, r in zip(papers, records, strict=False))


# --- the query parser -------------------------------------------------------------------------


@given(query=st.text(max_size=200))
def test_any_query_parses(query: str) -> None:
    parsed = parse_query(query)
    assert '"' not in parsed.text and all('"' not in p for p in parsed.phrases)
    assert parsed.text == " ".join(parsed.text.split())
    assert all(p == p.strip() and p for p in parsed.phrases)


_query_word = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_]{0,8}", fullmatch=True)


@given(
    words=st.lists(_query_word, max_size=5),
    phrases=st.lists(st.lists(_query_word, min_size=1, max_size=3).map(" ".join), max_size=3),
    excluded=st.lists(_query_word, max_size=3),
)
def test_a_composed_query_parses_back_into_its_parts(
    words: list[str], phrases: list[str], excluded: list[str]
) -> None:
    query = " ".join([*words, *(f'"{p}"' for p in phrases), *(f"-{e}" for e in excluded)])
    parsed = parse_query(query)
    assert parsed.text == " ".join(words)
    assert parsed.phrases == tuple(phrases)
    assert parsed.excluded == tuple(excluded)
