"""How to fuse lexical and dense rankings: nDCG@10 of fusion methods on a BEIR collection.

Every method sees the same two rankings (BM25 top-N and dense top-N, N = ``--depth``) for
the same queries, so the table isolates the fusion function. None has a weight fitted to
the collection: equal weights throughout, and RRF with its customary k = 60.

    python benchmarks/fusion.py ../shared/data/scifact --library /tmp/scifact-lib
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from papersift.evaluate import load_collection, score_run
from papersift.library import Library
from papersift.ranking import Hits, reciprocal_rank_fusion, standardized_fusion

Fusion = Callable[[Hits, Hits, np.ndarray, np.ndarray, np.ndarray], Hits]


def _minmax(x: np.ndarray) -> np.ndarray:
    spread = x.max() - x.min()
    return (x - x.min()) / spread if spread > 0 else np.zeros_like(x)


def methods() -> dict[str, Fusion]:
    """name -> fuse(lexical, dense, pool, bm25 over pool, cosine over pool)."""

    def rrf(lex: Hits, dense: Hits, *_: np.ndarray) -> Hits:
        return reciprocal_rank_fusion([lex, dense], k=60)

    def zscore_own_lists(lex: Hits, dense: Hits, *_: np.ndarray) -> Hits:
        ids = np.concatenate([lex.ids, dense.ids])
        z = [(h.scores - h.scores.mean()) / (h.scores.std() or 1.0) for h in (lex, dense)]
        total: dict[int, float] = {}
        for doc, score in zip(ids.tolist(), np.concatenate(z).tolist(), strict=True):
            total[doc] = total.get(doc, 0.0) + 0.5 * score
        order = sorted(total, key=lambda d: -total[d])
        return Hits(np.asarray(order, dtype=np.int64),
                    np.asarray([total[d] for d in order], dtype=np.float32))

    def minmax_pool(lex: Hits, dense: Hits, pool: np.ndarray, bm25: np.ndarray,
                    cosine: np.ndarray) -> Hits:
        total = 0.5 * _minmax(bm25) + 0.5 * _minmax(cosine)
        order = np.argsort(-total)
        return Hits(pool[order], total[order].astype(np.float32))

    def zscore_pool(lex: Hits, dense: Hits, pool: np.ndarray, bm25: np.ndarray,
                    cosine: np.ndarray) -> Hits:
        return standardized_fusion(pool, [bm25, cosine])

    return {
        "reciprocal rank fusion (k=60)": rrf,
        "z-scores, each over its own list, missing = 0": zscore_own_lists,
        "min-max over the shared pool, both rankers score all": minmax_pool,
        "z-scores over the shared pool, both rankers score all (papersift)": zscore_pool,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--library", type=Path, required=True,
                        help="a library holding the collection's corpus, embedded")
    parser.add_argument("--depth", type=int, default=100)
    args = parser.parse_args()
    collection = load_collection(args.folder)
    lib = Library(args.library)
    if not lib.semantic_ready():
        sys.exit(f"{args.library}: run `papersift -L {args.library} eval {args.folder}` first")
    runs: dict[str, dict[str, list[str]]] = {name: {} for name in methods()}
    runs["lexical alone"], runs["dense alone"] = {}, {}
    for qid, text in collection.queries.items():
        vector = lib.query_vector(text)
        query = lib.analyze(text)
        lex = lib.lexical.search(query, limit=args.depth)
        dense = lib.dense.search(vector, limit=args.depth)
        pool = np.union1d(lex.ids, dense.ids)
        bm25 = lib.lexical.score(query, pool)
        _, vectors = lib.dense.vectors(pool)
        cosine = vectors @ vector
        fused = {name: fuse(lex, dense, pool, bm25, cosine) for name, fuse in methods().items()}
        for name, hits in {"lexical alone": lex, "dense alone": dense, **fused}.items():
            papers = lib.store.papers(hits.ids[:100].tolist())
            runs[name][qid] = [papers[r].id for r in hits.ids[:100].tolist()]
    print(f"`python benchmarks/fusion.py {' '.join(sys.argv[1:])}`\n")
    print(f"{len(collection.queries)} queries, {len(lib):,} documents, depth {args.depth}.\n")
    print("| method | nDCG@10 | Recall@100 | MRR@10 |\n|---|---:|---:|---:|")
    for name, run in runs.items():
        s = score_run(name, run, collection.qrels)
        print(f"| {name} | {s.ndcg_10:.4f} | {s.recall_100:.4f} | {s.mrr_10:.4f} |")


if __name__ == "__main__":
    main()
