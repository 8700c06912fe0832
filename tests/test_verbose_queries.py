"""Verbose queries: request phrasing and function words do not outrank the topic."""

from __future__ import annotations

from pathlib import Path

import pytest

from papersift.library import Library
from papersift.papers import Paper
from papersift.phrasing import is_request, strip_request
from papersift.stopwords import LUCENE, STOPWORDS


@pytest.mark.parametrize(("query", "topic"), [
    ("What articles exist which deal with time sharing?", "time sharing"),
    ("I am interested in papers on graph neural networks", "graph neural networks"),
    ("Are there any studies showing that aspirin reduces cancer risk?",
     "aspirin reduces cancer risk"),
    ("Find me research about diffusion models, please.", "diffusion models"),
    ("Can you recommend literature about protein folding?", "protein folding"),
    ("Which publications discuss in-context learning?", "in-context learning"),
    ("Looking for work on RLHF", "RLHF"),
    ("Show me recent papers about 3D gaussian splatting", "3D gaussian splatting"),
])
def test_request_phrasing_is_removed(query: str, topic: str) -> None:
    assert strip_request(query) == topic


@pytest.mark.parametrize("query", [
    "white papers on security", "Results of the trial", "survey on graph neural networks",
    "Attention is all you need", "papers", "please", "How do transformers generalize",
])
def test_queries_without_request_phrasing_keep_their_words(query: str) -> None:
    assert strip_request(query) == query


@pytest.mark.parametrize(("query", "asks"), [
    ("What articles exist which deal with time sharing?", True),
    ("I am interested in papers on graph neural networks", True),
    ("Find me research about diffusion models, please.", True),
    ("Has anyone studied sparse attention", True),
    ("graph neural networks for molecules", False),
    ("Aspirin lowers the risk of stroke in older adults.", False),
    ("Results of the trial", False),
])
def test_questions_and_requests_are_told_from_statements(query: str, asks: bool) -> None:
    assert is_request(query) is asks


def test_a_statement_keeps_the_index_analysis(tmp_path: Path) -> None:
    """The fuller stop list is for questions' grammar: a statement's words are its own."""
    lib = Library(tmp_path)
    statement = "Arterioles have a larger lumen diameter than venules."
    assert lib.lexical.query_terms(statement) == lib.lexical.terms(statement)
    assert "than" not in lib.lexical.query_terms("Are arterioles larger than venules?")


def test_stop_list_holds_function_words_not_topics() -> None:
    assert LUCENE <= STOPWORDS
    assert {"what", "which", "whether", "would", "about", "between", "i", "our", "don"} <= STOPWORDS
    assert not {"study", "results", "paper", "network", "learning", "model"} & STOPWORDS


def test_a_verbose_query_ranks_the_topic_first(tmp_path: Path) -> None:
    lib = Library(tmp_path)
    lib.add([
        Paper(id="topic", title="Time sharing in interactive computer systems",
              abstract="Scheduling terminals on a shared processor with short time slices."),
        Paper(id="noise", title="Which articles exist? A deal on what we deal with",
              abstract="Articles that exist deal with which things exist and what deals are."),
    ])
    assert lib.lexical.query_terms("What articles exist which deal with time sharing?") == [
        "time", "share"]
    hits = lib.search("What articles exist which deal with time sharing?", mode="lexical")
    assert [r.paper.id for r in hits] == ["topic"]
    # quoted phrases keep the index's own analysis
    assert [r.paper.id for r in lib.search('"time sharing"', mode="lexical")] == ["topic"]
