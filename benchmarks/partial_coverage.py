"""Search quality while a library is partly embedded: which rule for papers without a vector.

    python benchmarks/partial_coverage.py ../shared/data/scifact --library DIR [--out FILE]

``DIR`` is an embedded SciFact library (``papersift -L DIR eval ../shared/data/scifact``
makes one). For each coverage, a fixed random share of the papers is treated as embedded
(the others' vectors hidden); every judged query is then ranked by

- lexical (BM25 alone: what ``auto`` gave before),
- semantic over the embedded papers only (the shipped semantic rule),
- hybrid, a paper without a vector scored on the meaning side by: the minimum cosine of
  the pool (the previous rule), the pool's mean, the mean cosine of the word matches that
  have one, or its own BM25 z-score (the shipped rule: its words stand in for its meaning);
  or the meaning side weighted down by the share embedded,

and nDCG@10 is averaged. Both rankers' top-100 lists, as in the library's hybrid.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine, publish

DEPTH = 100
COVERAGES = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0)


def _impute_min(cos: np.ndarray, found: np.ndarray, by_words: np.ndarray) -> float:
    return float(cos[found].min()) if found.any() else 0.0


def _impute_mean(cos: np.ndarray, found: np.ndarray, by_words: np.ndarray) -> float:
    return float(cos[found].mean()) if found.any() else 0.0


def _impute_word_matches(cos: np.ndarray, found: np.ndarray, by_words: np.ndarray) -> float:
    known = found & by_words
    known = known if known.any() else found
    return float(cos[known].mean()) if known.any() else 0.0


RULES: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], float]] = {
    "hybrid, missing = pool minimum (before)": _impute_min,
    "hybrid, missing = pool mean": _impute_mean,
    "hybrid, missing = mean of the word matches": _impute_word_matches,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--library", type=Path, required=True)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    from papersift.evaluate import load_collection, ndcg
    from papersift.library import Library
    from papersift.ranking import standardized_fusion

    collection = load_collection(args.folder)
    lib = Library(args.library)
    dense, lexical = lib.dense, lib.lexical
    every = np.asarray(sorted(lib.store.keys_of(list(_ids(lib))).values()), dtype=np.int64)
    names = lib.store.ids_of(every.tolist())
    rng = np.random.default_rng(12)
    order = rng.permutation(every)
    queries = [(qid, text, lib.analyze(text), lib.query_vector(text))
               for qid, text in collection.queries.items()]
    table: dict[str, list[float]] = {}
    for coverage in COVERAGES:
        embedded = set(order[: round(coverage * len(order))].tolist())
        scores: dict[str, list[float]] = {}
        for qid, _, query, vector in queries:
            judged = collection.qrels[qid]
            lex = lexical.search(query, limit=DEPTH)
            near = dense.search(vector, limit=len(every) if coverage < 1 else DEPTH)
            keep = np.asarray([k in embedded for k in near.ids.tolist()], dtype=bool)
            near_ids = near.ids[keep][:DEPTH]
            runs = {"lexical": lex.ids.tolist(), "semantic, embedded papers only":
                    near_ids.tolist()}
            pool = np.union1d(lex.ids, near_ids)
            bm25 = lexical.score(query, pool)
            found_all, vectors = dense.vectors(pool)
            cos = np.zeros(len(pool), dtype=np.float32)
            cos[found_all] = vectors @ vector
            found = np.asarray([k in embedded for k in pool.tolist()], dtype=bool)
            by_words = np.isin(pool, lex.ids)
            for rule, impute in RULES.items():
                filled = cos.copy()
                if not found.all():
                    filled[~found] = impute(cos, found, by_words)
                runs[rule] = standardized_fusion(pool, [bm25, filled]).ids.tolist()
            filled = cos.copy()
            if not found.all():
                filled[~found] = _impute_word_matches(cos, found, by_words)
            share = found.mean() if len(found) else 0.0
            runs["hybrid, meaning weighted by the pool's embedded share"] = standardized_fusion(
                pool, [bm25, filled], weights=[1.0, float(share)]).ids.tolist()
            runs["hybrid, meaning weighted by coverage"] = standardized_fusion(
                pool, [bm25, filled], weights=[1.0, coverage]).ids.tolist()
            z = (bm25 - bm25.mean()) / (bm25.std() or 1.0)
            zc = (cos - cos[found].mean()) / (cos[found].std() or 1.0) if found.any() else cos
            own = np.where(found, z + zc, 2 * z)
            runs["hybrid, missing = its own word score (shipped)"] = pool[np.argsort(-own,
                                                                   kind="stable")].tolist()
            for name, keys in runs.items():
                ranked = [names[k] for k in keys[:10]]
                scores.setdefault(name, []).append(ndcg(ranked, judged))
        for name, values in scores.items():
            table.setdefault(name, []).append(float(np.mean(values)))
        print(f"coverage {coverage:.2f} done", file=sys.stderr)
    lines = [
        "# Search quality while the library is partly embedded (SciFact, nDCG@10)",
        "",
        f"`python benchmarks/partial_coverage.py ../shared/data/scifact --library DIR` on "
        f"{machine()}; {len(every):,} papers, {len(queries)} queries, the embedded share "
        "chosen at random (seed 12).",
        "",
        "| ranking | " + " | ".join(f"{100 * c:.0f}%" for c in COVERAGES) + " |",
        "|---|" + "---:|" * len(COVERAGES),
        *[f"| {name} | " + " | ".join(f"{v:.4f}" for v in values) + " |"
          for name, values in table.items()],
        "",
    ]
    publish("\n".join(lines), args.out)


def _ids(lib: object) -> list[str]:
    store = lib.store  # type: ignore[attr-defined]
    return [c.paper.id for batch in store.changes_since(0) for c in batch if c.paper]


if __name__ == "__main__":
    main()
