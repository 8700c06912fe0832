"""Nested prefixes on real vectors: raw MiniLM, the PCA rotation and the Matryoshka adaptor.

For each prefix length (16, 32, 64, 128) and each way of making codes, on held-out queries
(rows of the 75k sample left out of every fit and of the base):

- recall@10 of exact search on the codes against exact search on the full vectors;
- the share of the full top 10 inside the codes' top 100 (what a candidate stage that
  re-ranks 100 candidates at full length can find).

Codes compared: raw MiniLM prefixes; the PCA rotation (today's nested prefixes); the same
rotation with each stored vector's prefix normalised (the adaptor's fallback without
torch); the trained adaptor. With ``--unseen`` the adaptor and rotation are also fitted on
one half of the base and measured on the other half, as a check that the adaptor learned
the space rather than the rows it was trained on.

    python benchmarks/nested.py --out benchmarks/results/nested.md
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from common import DATA, machine, publish
from papersift.vectors import Rotation, fit_rotation, prefix_recall
from papersift.vectors.adaptor import LADDER, Adaptor
from papersift.vectors.nested import Codes


def load(path: Path, queries: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Unit float32 (base, held-out queries) from a float16 matrix, rows chosen at random."""
    x = np.load(path).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    order = np.random.default_rng(seed).permutation(len(x))
    return x[order[queries:]], x[order[:queries]]


def rows(name: str, base: np.ndarray, queries: np.ndarray, codes: Codes) -> list[str]:
    found = prefix_recall(base, queries, codes=codes, prefixes=LADDER)
    return [f"| {name} | " + " | ".join(f"{found[m][1]:.3f}" for m in LADDER) + " | "
            + " | ".join(f"{found[m][0]:.3f}" for m in LADDER) + " |"]


def header(title: str) -> list[str]:
    lengths = " | ".join(str(m) for m in LADDER)
    return [f"### {title}", "",
            f"| codes | top-10 in top-100 at {lengths} | recall@10 at {lengths} |",
            "|---|" + "---:|" * (2 * len(LADDER))]


def train(base: np.ndarray, args: argparse.Namespace) -> tuple[Adaptor, float]:
    started = time.perf_counter()
    adaptor = Adaptor.fit(base, steps=args.steps, anchors=args.anchors, seed=args.seed,
                          progress=lambda s, n, loss: print(f"  step {s}/{n} loss {loss:.4f}",
                                                            flush=True))
    return adaptor, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=Path, default=DATA / "arxiv-75k-minilm.f16.npy")
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--anchors", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--unseen", action="store_true",
                        help="also fit on one half of the base, measure on the other")
    parser.add_argument("--save", type=Path, help="write the trained adaptor to this folder")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not args.vectors.exists():
        sys.exit(f"{args.vectors} is missing: put the shared data folder beside the checkout")
    base, queries = load(args.vectors, args.queries, args.seed)
    adaptor, seconds = train(base, args)
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)
        adaptor.save(args.save)
    rotation = fit_rotation(base)
    lines = [f"command: `{shlex.join(['python', 'benchmarks/nested.py', *sys.argv[1:]])}`",
             f"machine: {machine()}",
             f"data: {args.vectors.name}, {len(base):,} base rows, {len(queries):,} held-out "
             f"rows as queries (in no fit and not in the base)",
             f"adaptor: {adaptor.info} ({seconds:.0f} s to train)", "",
             *header(f"Fitted on the base ({len(base):,} rows)"),
             *rows("raw MiniLM prefixes", base, queries, Rotation.identity(base.shape[1])),
             *rows("PCA rotation (before)", base, queries, rotation),
             *rows("PCA rotation, stored prefixes normalised", base, queries,
                   Adaptor.from_rotation(rotation)),
             *rows("adaptor (trained)", base, queries, adaptor), ""]
    if args.unseen:
        half = len(base) // 2
        fit_half, eval_half = base[:half], base[half:]
        other, other_s = train(fit_half, args)
        rot_half = fit_rotation(fit_half)
        lines += [*header(f"Fitted on {half:,} rows, measured on the other {len(eval_half):,}"),
                  *rows("PCA rotation", eval_half, queries, rot_half),
                  *rows("PCA rotation, stored prefixes normalised", eval_half, queries,
                        Adaptor.from_rotation(rot_half)),
                  *rows(f"adaptor ({other_s:.0f} s to train)", eval_half, queries, other), ""]
    publish("\n".join(lines), args.out)


if __name__ == "__main__":
    main()
