"""Bits per code number in the candidate stage: FAISS's scalar quantizers on 128-dim codes.

The adaptive index scores candidates on ``d_s``-dim codes held in a FAISS
``IndexIVFScalarQuantizer`` with 8-bit uniform codes (``QT_8bit_uniform``). Fewer bits per
number would cut resident memory (the codes are most of it); this measures what they cost:
per quantizer, single-query time of the IVF scan (one thread, the same lists and nprobe for
all) and the share of the full top 10 found among its top 100 candidates, on the 75k real
vectors' 128-dim codes (the PCA rotation with normalised prefixes), held-out papers as
queries. Each quantizer is timed twice; the second pass is reported.

    python benchmarks/code_bits.py --out benchmarks/results/code_bits.md
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import faiss
import numpy as np

from common import DATA, machine, publish
from papersift.vectors import exact_search, fit_rotation
from papersift.vectors.adaptor import Adaptor

QUANTIZERS = {
    "8-bit uniform (the index's)": faiss.ScalarQuantizer.QT_8bit_uniform,
    "8-bit per dimension": faiss.ScalarQuantizer.QT_8bit,
    "6-bit per dimension": faiss.ScalarQuantizer.QT_6bit,
    "4-bit per dimension": faiss.ScalarQuantizer.QT_4bit,
    "4-bit uniform": faiss.ScalarQuantizer.QT_4bit_uniform,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=Path, default=DATA / "arxiv-75k-minilm.f16.npy")
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--dims", type=int, default=128)
    parser.add_argument("--nlist", type=int, default=1090)
    parser.add_argument("--nprobe", type=int, default=28)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not args.vectors.exists():
        sys.exit(f"{args.vectors} is missing: put the shared data folder beside the checkout")
    faiss.omp_set_num_threads(1)
    x = np.load(args.vectors).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    order = np.random.default_rng(0).permutation(len(x))
    base, queries = x[order[args.queries:]], x[order[:args.queries]]
    truth = exact_search(base, np.arange(len(base)), queries, 10).ids
    codes = Adaptor.from_rotation(fit_rotation(base))
    docs, qcodes = codes.docs(base, args.dims), codes.queries(queries, args.dims)
    lines = [f"command: `{shlex.join(['python', 'benchmarks/code_bits.py', *sys.argv[1:]])}`",
             f"machine: {machine()}, faiss {faiss.__version__}, one thread",
             f"data: {args.vectors.name}, {len(base):,} base rows, {len(queries)} held-out "
             f"queries; {args.dims}-dim codes, {args.nlist} lists, nprobe {args.nprobe}", "",
             "| quantizer | code bytes | µs per query | vs 8-bit uniform "
             "| full top 10 in top 100 |",
             "|---|---:|---:|---:|---:|"]
    reference = None
    for name, kind in QUANTIZERS.items():
        ivf = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(args.dims), args.dims, args.nlist,
                                            kind, faiss.METRIC_INNER_PRODUCT)
        ivf.train(docs)
        ivf.add(docs)
        ivf.nprobe = args.nprobe
        for _ in range(2):
            found, started = [], time.perf_counter()
            for i in range(len(qcodes)):
                found.append(ivf.search(qcodes[i:i + 1], 100)[1][0])
            micros = (time.perf_counter() - started) / len(qcodes) * 1e6
        reference = reference or micros
        share = np.mean([len(np.intersect1d(t, f)) / 10 for t, f in zip(truth, found,
                                                                        strict=True)])
        lines.append(f"| {name} | {ivf.code_size} | {micros:.1f} | {micros / reference:.2f}x "
                     f"| {share:.3f} |")
        print(lines[-1], flush=True)
    publish("\n".join(lines), args.out)


if __name__ == "__main__":
    main()
