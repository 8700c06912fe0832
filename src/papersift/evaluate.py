"""Retrieval evaluation on BEIR-format collections: nDCG@10, Recall@100, MRR@10.

A BEIR folder holds ``corpus.jsonl`` (``_id``, ``title``, ``text``), ``queries.jsonl``
(``_id``, ``text``) and ``qrels/<split>.tsv`` (``query-id``, ``corpus-id``, ``score`` with a
header line). The metrics follow trec_eval's definitions (linear gain for nDCG, as BEIR
reports it); ``tests/test_evaluate.py`` checks them against ranx on the same runs.
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from papersift.papers import normalize_id
from papersift.settings import Settings

__all__ = [
    "Collection",
    "EvalError",
    "ModeScores",
    "load_collection",
    "mrr",
    "ndcg",
    "recall",
    "run_eval",
]

log = logging.getLogger(__name__)

Qrels = dict[str, dict[str, int]]
Run = dict[str, list[str]]


class EvalError(Exception):
    """The folder is not a usable BEIR collection (the message says what is missing)."""


@dataclass(frozen=True)
class Collection:
    """A BEIR collection's queries and judgments (the corpus is ingested from its file)."""

    folder: Path
    queries: dict[str, str]
    qrels: Qrels

    @property
    def corpus(self) -> Path:
        return self.folder / "corpus.jsonl"


@dataclass
class ModeScores:
    """Mean metrics of one search mode over the judged queries."""

    mode: str
    ndcg_10: float
    recall_100: float
    mrr_10: float
    queries: int
    ms_per_query: float = 0.0
    per_query: dict[str, float] = field(default_factory=dict, repr=False)


def load_collection(folder: str | Path, *, split: str = "test") -> Collection:
    """Read queries and qrels of a BEIR folder; ids are normalised as papers' ids are."""
    folder = Path(folder)
    for needed in ("corpus.jsonl", "queries.jsonl", f"qrels/{split}.tsv"):
        if not (folder / needed).exists():
            raise EvalError(f"{folder}: no {needed}; a BEIR folder needs corpus.jsonl, "
                            f"queries.jsonl and qrels/{split}.tsv")
    qrels: Qrels = {}
    with open(folder / "qrels" / f"{split}.tsv", encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            parts = line.rstrip("\n").split("\t")
            if number == 1 and not parts[-1].lstrip("-").isdigit():
                continue  # header
            if len(parts) != 3:
                raise EvalError(f"{folder}/qrels/{split}.tsv:{number}: expected 3 columns")
            qid, doc, score = parts
            qrels.setdefault(qid, {})[normalize_id(doc)[0]] = int(score)
    queries: dict[str, str] = {}
    with open(folder / "queries.jsonl", encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
                queries[str(item["_id"])] = str(item["text"])
            except (ValueError, KeyError) as error:
                raise EvalError(f"{folder}/queries.jsonl:{number}: {error}") from None
    missing = [q for q in qrels if q not in queries]
    if missing:
        raise EvalError(f"{folder}: {len(missing)} judged queries are not in queries.jsonl")
    return Collection(folder, {q: queries[q] for q in qrels}, qrels)


# -- metrics ----------------------------------------------------------------------------------
def ndcg(ranked: Sequence[str], judged: Mapping[str, int], k: int = 10) -> float:
    """nDCG@k with linear gain (trec_eval ``ndcg_cut``)."""
    dcg = sum(judged.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall(ranked: Sequence[str], judged: Mapping[str, int], k: int = 100) -> float:
    """Share of the relevant documents found in the top k."""
    relevant = {doc for doc, g in judged.items() if g > 0}
    return len(relevant.intersection(ranked[:k])) / len(relevant) if relevant else 0.0


def mrr(ranked: Sequence[str], judged: Mapping[str, int], k: int = 10) -> float:
    """Reciprocal rank of the first relevant document in the top k."""
    for i, doc in enumerate(ranked[:k]):
        if judged.get(doc, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def score_run(mode: str, run: Run, qrels: Qrels, seconds: float = 0.0) -> ModeScores:
    """Mean metrics of a run (query id -> ranked doc ids) over the judged queries."""
    per_query = {q: ndcg(run.get(q, []), judged) for q, judged in qrels.items()}
    n = max(len(qrels), 1)
    return ModeScores(
        mode=mode,
        ndcg_10=sum(per_query.values()) / n,
        recall_100=sum(recall(run.get(q, []), j) for q, j in qrels.items()) / n,
        mrr_10=sum(mrr(run.get(q, []), j) for q, j in qrels.items()) / n,
        queries=len(qrels),
        ms_per_query=1000 * seconds / n,
        per_query=per_query,
    )


# -- running ----------------------------------------------------------------------------------
def run_eval(
    folder: str | Path,
    *,
    library: str | Path | None = None,
    modes: Iterable[str] = ("lexical", "semantic", "hybrid"),
    split: str = "test",
    encoder: str | None = None,
    settings: Settings | None = None,
    progress: Callable[[str, int, int | None], None] | None = None,
) -> list[ModeScores]:
    """Ingest a BEIR corpus into a library (temporary unless given) and score every mode."""
    from papersift.library import Library

    collection = load_collection(folder, split=split)
    modes = list(modes)
    with tempfile.TemporaryDirectory(prefix="papersift-eval-") as scratch:
        lib = Library(library or scratch, encoder=encoder, settings=settings)
        report = lib.ingest([collection.corpus], fmt="beir")
        # real collections hold a few empty documents: they cannot be found, so skip them
        empty = [r for r in report.rejected if r.empty]
        rejected = [r for r in report.rejected if not r.empty]
        if rejected:
            raise EvalError(f"{collection.corpus}: {len(rejected)} documents rejected, "
                            f"first: {rejected[0]}")
        if empty:
            log.warning("%s: skipped %d empty documents (no title or text), first at line %d",
                        collection.corpus, len(empty), empty[0].line)
        if any(m != "lexical" for m in modes):
            lib.embed(progress=progress or (lambda *a: None))
        results = []
        for mode in modes:
            run: Run = {}
            started = time.perf_counter()
            for qid, text in collection.queries.items():
                hits = lib.search(text, mode=mode, limit=100)  # type: ignore[arg-type]
                run[qid] = [hit.paper.id for hit in hits]
            results.append(score_run(mode, run, collection.qrels,
                                     time.perf_counter() - started))
        lib.close()
    return results
