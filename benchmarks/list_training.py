"""How an index's lists are trained: k-means rows per list and iterations, at 1M vectors.

The adaptive index (with the Matryoshka adaptor) is built on the same synthetic base as
``benchmarks/ann.py`` (its generator, calibrated and seeded the same way) once per k-means
setting ``ROWSxITERS`` (rows sampled per list, Lloyd iterations); ``40x10`` is k-means' own
default, which the index used before. For each build: its time, how even the lists are, the
recall@10 and codes scanned per query at the same stage sizes (nprobe swept, 100
re-ranked), the stage sizes the tuner chose, and the single-query time of every tuned index,
timed in interleaved rounds (one thread) against the first setting's, after one untimed
pass over the queries on each (in the run of 2026-12-01, without it, the first round of the
first two indexes read about twice the later rounds: their memory-mapped pages were cold).
The settings are applied through ``papersift.vectors.clustering.LIST_ROWS`` and
``LIST_ITERS``, the constants the index reads.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/list_training.py \\
        --out benchmarks/results/list_training.md
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

from ann import base_options, calibrate, real_split, recall, synthetic_base
from common import machine, publish
from papersift.vectors import clustering, exact_search
from papersift.vectors.adaptive_faiss import FaissAdaptiveIndex, FaissParams
from papersift.vectors.adaptor import Adaptor
from papersift.vectors.tuning import time_interleaved

NPROBES = (16, 24, 32, 40)


def setting(text: str) -> tuple[int, int]:
    """``ROWSxITERS`` as two integers."""
    rows, _, iters = text.partition("x")
    try:
        return int(rows), int(iters)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: expected ROWSxITERS, e.g. 64x20") from None


def sweep(index: FaissAdaptiveIndex, queries: np.ndarray, truth: np.ndarray) -> list[str]:
    """recall@10 / codes scanned per query at each of :data:`NPROBES`, 100 re-ranked."""
    tuned, cells = index.params, []
    for nprobe in NPROBES:
        index.params = FaissParams(nprobe, 100)
        faiss.cvar.indexIVF_stats.reset()
        found = np.array([index.search(q[None, :], 10).ids[0] for q in queries])
        codes = faiss.cvar.indexIVF_stats.ndis / len(queries)
        cells.append(f"{recall(found, truth):.4f} / {codes:,.0f}")
    index.params = tuned
    return cells


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    base_options(ap, adaptor_steps=1000)
    ap.add_argument("--settings", type=setting, nargs="+",
                    default=[(40, 10), (40, 20), (64, 20), (128, 20)],
                    help="ROWSxITERS per build; the first is the reference")
    ap.add_argument("--clusters", type=int, nargs="+", default=[250, 500, 1000, 2000],
                    help="mixture component counts the generator is calibrated over (ann.py's)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved timing passes")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    real = real_split(args.real, args.queries)
    queries, tune_real = real.queries, real.tune
    gen = calibrate(real.fit, tune_real, tuple(args.clusters))
    base = synthetic_base(gen, args.synthetic)
    truth = exact_search(base, np.arange(len(base)), queries, 10).ids
    adaptor = Adaptor.fit(base, steps=args.adaptor_steps)
    print(f"adaptor: {adaptor.info}", flush=True)
    ids = np.arange(len(base), dtype=np.int64)
    rows, indexes = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for n, (per_list, iters) in enumerate(args.settings):
            clustering.LIST_ROWS, clustering.LIST_ITERS = per_list, iters
            start = time.perf_counter()
            built = FaissAdaptiveIndex.build(ids, base, queries=tune_real, adaptor=adaptor)
            seconds = time.perf_counter() - start
            built.save(Path(tmp) / str(n))
            del built
            index = FaissAdaptiveIndex.load(Path(tmp) / str(n))  # served as deployed
            sizes = np.bincount(np.asarray(index.cluster), minlength=index.nlist)
            p = index.params
            rows.append([f"{per_list}x{iters}", f"{seconds:.0f}",
                         f"{sizes.max():,} / {sizes.std() / sizes.mean():.2f}",
                         *sweep(index, queries, truth), f"{p.nprobe}, {p.rerank}"])
            print(" | ".join(rows[-1]), flush=True)
            indexes.append(index)
        # one untimed pass, which also gives each tuned index's results: its memory-mapped
        # pages are read in before timing (they are cold after the later builds)
        found = [np.array([ix.search(q[None, :], 10).ids[0] for q in queries])
                 for ix in indexes]
        times = np.stack([time_interleaved(
            queries, [lambda q, ix=ix: ix.search(q[None, :], 10) for ix in indexes])
            for _ in range(args.rounds)])
    lists = indexes[0].nlist
    head = ["rows a list x iterations", "build s", "largest list / size CV",
            *(f"nprobe {p}: recall@10 / codes" for p in NPROBES), "tuned nprobe, rerank",
            "tuned recall@10", "µs per search (median of rounds)", "time vs first"]
    mid = np.median(times, axis=0)
    table = [head, ["---"] + ["---:"] * (len(head) - 1)]
    table += [[*r, f"{recall(f, truth):.4f}", f"{m * 1e6:.1f}", f"{m / mid[0]:.3f}"]
              for r, f, m in zip(rows, found, mid, strict=True)]
    report = "\n".join([
        "# How the lists are trained", "",
        f"Command: `python benchmarks/list_training.py {shlex.join(sys.argv[1:])}`", "",
        f"Machine: {machine()}. {len(base):,} synthetic vectors (ann.py's generator), "
        f"{lists:,} lists, {len(queries)} held-out real papers as queries; the adaptor "
        f"trained once ({adaptor.info.get('steps')} steps), the index tuned for recall@10 "
        f"0.95 on {len(tune_real)} other real papers; per round, µs "
        f"{' / '.join(' '.join(f'{t * 1e6:.0f}' for t in row) for row in times)}.", "",
        *("| " + " | ".join(r) + " |" for r in table), ""])
    publish(report, args.out)


if __name__ == "__main__":
    main()
