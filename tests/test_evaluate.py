"""Evaluation metrics agree with ranx (a reference implementation) on the same runs."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from papersift.evaluate import EvalError, load_collection, score_run

ranx = pytest.importorskip("ranx", reason="ranx is in the dev extra")


def _random_case(seed: int) -> tuple[dict[str, dict[str, int]], dict[str, list[str]]]:
    rng = random.Random(seed)
    docs = [f"d{i}" for i in range(400)]
    qrels: dict[str, dict[str, int]] = {}
    run: dict[str, list[str]] = {}
    for q in range(60):
        judged = rng.sample(docs, rng.randint(1, 6))
        qrels[f"q{q}"] = {d: rng.choice([1, 1, 2]) for d in judged}
        ranked = rng.sample(docs, 150)
        for d in judged:  # put some relevant documents high, as a real ranker would
            if rng.random() < 0.6:
                ranked.insert(rng.randint(0, 12), d)
        run[f"q{q}"] = list(dict.fromkeys(ranked))
    return qrels, run


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_metrics_match_ranx(seed: int) -> None:
    qrels, run = _random_case(seed)
    ours = score_run("test", run, qrels)
    scored = {q: {d: float(len(r) - i) for i, d in enumerate(r)} for q, r in run.items()}
    theirs = ranx.evaluate(ranx.Qrels(qrels), ranx.Run(scored),
                           ["ndcg@10", "recall@100", "mrr@10"])
    assert ours.ndcg_10 == pytest.approx(theirs["ndcg@10"], abs=1e-9)
    assert ours.recall_100 == pytest.approx(theirs["recall@100"], abs=1e-9)
    assert ours.mrr_10 == pytest.approx(theirs["mrr@10"], abs=1e-9)


def test_scifact_collection_loads(scifact: Path) -> None:
    collection = load_collection(scifact)
    assert len(collection.queries) == 300
    assert sum(len(j) for j in collection.qrels.values()) == 339


def test_missing_parts_are_named(tmp_path: Path) -> None:
    (tmp_path / "corpus.jsonl").write_text("")
    with pytest.raises(EvalError, match=r"queries\.jsonl"):
        load_collection(tmp_path)
