"""Verbose queries: request phrasing and function words do not outrank the topic."""

from __future__ import annotations

from pathlib import Path

import pytest

from papersift.library import Library
from papersift.papers import Paper
from papersift.phrasing import strip_request
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
