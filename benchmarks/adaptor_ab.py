"""The rotation's and the adaptor's index against FAISS IVF-Flat, timed query by query.

``benchmarks/ann.py`` interleaves whole methods (each point timed for about a second a
round), which leaves single points about 15% apart from run to run at 1M. This script builds
only what issue 13's speed target compares: the adaptive index on the rotated prefix, the
same with the Matryoshka adaptor (trained as ``papersift index --adaptor`` trains it) and
IVF-Flat, on ``ann.py``'s synthetic base. It then times a few operating points of each with
``tuning.time_interleaved``: every search runs one chunk of the queries in turn, five
chunks, and the whole timing is repeated ``--reps`` times, the order reversed every other
time. A point's time is the median over the repetitions, and each index's p50 at recall@10
0.95 is interpolated as in ``ann.py``. Each adaptive index is also timed probing the other
way (a second copy of it: every query ``nprobe`` lists where the build chose per-query
probing, per-query probing where it chose a fixed count), so the two ways of probing are
compared on the same lists and codes.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python benchmarks/adaptor_ab.py \\
        --out benchmarks/results/adaptor_ab.md
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np

from ann import (
    Method,
    MixtureGenerator,
    Point,
    base_options,
    faiss_ivf,
    interpolated,
    real_split,
    recall,
    synthetic_base,
)
from common import machine, publish
from papersift.vectors import exact_search
from papersift.vectors.adaptive_faiss import FaissAdaptiveIndex
from papersift.vectors.adaptor import Adaptor
from papersift.vectors.tuning import time_interleaved

BUDGETS = (0.5, 0.6, 0.75, 0.9, 1.0, 1.25, 1.5)
NPROBES = (16, 20, 24, 32)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    base_options(ap, adaptor_steps=1000)
    ap.add_argument("--components", type=int, default=2000,
                    help="mixture components of the generator (what ann.py's calibration "
                         "chose for the shared 75k vectors)")
    ap.add_argument("--spread", type=float, default=1.05, help="the generator's spread (idem)")
    ap.add_argument("--reps", type=int, default=4, help="interleaved timings to take medians of")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    real = real_split(args.real, args.queries)
    queries, tune_real = real.queries, real.tune
    gen = MixtureGenerator(real.fit, clusters=args.components)
    gen.spread = args.spread
    base = synthetic_base(gen, args.synthetic)
    truth = exact_search(base, np.arange(len(base)), queries, 10).ids
    ids = np.arange(len(base), dtype=np.int64)
    adaptor = Adaptor.fit(base, steps=args.adaptor_steps)
    labels: list[tuple[str, str]] = []
    searches: list[Callable[[np.ndarray], np.ndarray]] = []
    stages = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, with_adaptor in (("rotation", None), ("adaptor", adaptor)):
            built = FaissAdaptiveIndex.build(ids, base, queries=tune_real, adaptor=with_adaptor)
            built.save(Path(tmp) / name)
            del built
            index = FaissAdaptiveIndex.load(Path(tmp) / name)  # served as deployed
            probing = index.tuning.get("probing", "fixed")
            stages[name] = (f"{index.d_s}-dim codes, nprobe {index.params.nprobe}, "
                            f"rerank {index.params.rerank}, {probing} probing")
            # the same index probing the other way: a second copy of it, loaded the same way
            other = FaissAdaptiveIndex.load(Path(tmp) / name)
            other.fit_probing(None if other.gaps is not None else tune_real)
            twin = f"{name}, {'fixed' if probing != 'fixed' else 'per query'} probing"
            for label, ix in ((name, index), (twin, other)):
                for budget in BUDGETS:
                    labels.append((label, f"budget {budget}"))
                    searches.append(lambda q, ix=ix, b=budget: ix.search(q[None, :], 10,
                                                                           budget=b).ids)
            print(f"built {name}: {stages[name]}", flush=True)
        ivf, _ = faiss_ivf(base)
        params = {n: faiss.SearchParametersIVF(nprobe=n) for n in NPROBES}  # kept referenced
        for n in NPROBES:
            labels.append(("IVF-Flat", f"nprobe {n}"))
            searches.append(lambda q, n=n: ivf.search(q[None, :], 10, params=params[n])[1])
        # one untimed pass, which also gives each point's results
        recalls = [recall(np.vstack([s(q) for q in queries]), truth) for s in searches]
        reps = []
        for rep in range(args.reps):
            order = list(range(len(searches)))[::-1 if rep % 2 else 1]
            back = np.empty(len(searches))
            back[order] = time_interleaved(queries, [searches[i] for i in order], rounds=5)
            reps.append(back)
            print(f"timing {rep + 1}/{args.reps}: "
                  + " ".join(f"{t * 1e6:.0f}" for t in back), flush=True)

    def at_095(times: np.ndarray) -> dict[str, float]:
        methods: dict[str, Method] = {}
        for (name, setting), r, t in zip(labels, recalls, times, strict=True):
            methods.setdefault(name, Method(name, 0, 0)).points.append(
                Point(setting, r, t * 1e3, t * 1e3))
        return {name: interpolated(m, 0.95) for name, m in methods.items()}

    med = at_095(np.median(np.array(reps), axis=0))
    each = [at_095(r) for r in reps]
    names = list(med)
    rows = ["| p50 ms at recall@10 0.95 | " + " | ".join(f"{med[n]:.3f}" for n in names) + " |",
            "| vs IVF-Flat | " + " | ".join(f"{med['IVF-Flat'] / med[n]:.2f}x" for n in names)
            + " |",
            "| vs IVF-Flat in each timing | " + " | ".join(
                ", ".join(f"{e['IVF-Flat'] / e[n]:.2f}" for e in each) for n in names) + " |"]
    points = [f"| {name} | {setting} | {r:.4f} | "
              + " | ".join(f"{t[i] * 1e6:.0f}" for t in reps) + " |"
              for i, ((name, setting), r) in enumerate(zip(labels, recalls, strict=True))]
    report = "\n".join([
        "# The rotation's and the adaptor's index against IVF-Flat, timed query by query", "",
        f"Command: `python benchmarks/adaptor_ab.py {shlex.join(sys.argv[1:])}`", "",
        f"Machine: {machine()}. {len(base):,} synthetic vectors (ann.py's generator, "
        f"{args.components} components, spread {args.spread}), {len(queries)} held-out real "
        f"papers as queries; the adaptive indexes tuned for recall@10 0.95 on "
        f"{len(tune_real)} other real papers (rotation: {stages['rotation']}; adaptor: "
        f"{stages['adaptor']}); the adaptor trained in {adaptor.info.get('seconds')} s.", "",
        "| | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names), *rows, "",
        "| index | point | recall@10 | "
        + " | ".join(f"µs, timing {i + 1}" for i in range(len(reps))) + " |",
        "|---|---|---:|" + "---:|" * len(reps),
        *points, ""])
    publish(report, args.out)


if __name__ == "__main__":
    main()
