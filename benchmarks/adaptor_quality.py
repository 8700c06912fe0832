"""Search quality with the adaptive index on Matryoshka adaptor codes, against exact search.

Copies an embedded library of a BEIR collection (``papersift -L LIB eval FOLDER`` makes
one), builds its vector index as ``papersift index --adaptor`` does but whatever its size
(small collections otherwise use exact search), and scores the dense modes with that index
and with exact search on the same vectors. Prints a table of nDCG@10 per mode.

    python benchmarks/adaptor_quality.py ../shared/data/scifact --library SCIFACT_LIB
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from common import machine, publish
from papersift.evaluate import run_eval
from papersift.library import Library
from papersift.settings import Settings

MODES = ("semantic", "hybrid")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a BEIR folder")
    parser.add_argument("--library", type=Path, required=True,
                        help="a library holding the folder's corpus, embedded")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not (args.library / "vectors").is_dir():
        sys.exit(f"{args.library}: no vectors; run `papersift -L {args.library} eval "
                 f"{args.folder}` first")
    adaptive, exact = Settings(exact_below=0), Settings(exact_below=2**62)
    with tempfile.TemporaryDirectory(prefix="adaptor-quality-") as scratch:
        copy = Path(scratch) / "library"
        shutil.copytree(args.library, copy)
        lib = Library(copy, settings=adaptive)
        built = lib.build_index(adaptor=True)
        lib.close()
        scores = {name: {s.mode: s.ndcg_10 for s in run_eval(args.folder, library=copy,
                                                             modes=MODES, settings=settings)}
                  for name, settings in (("exact", exact), ("adaptor", adaptive))}
    lines = [f"command: `{shlex.join(['python', 'benchmarks/adaptor_quality.py', *sys.argv[1:]])}`",
             f"machine: {machine()}", f"index: {built}", "",
             "| mode | exact nDCG@10 | adaptive index on adaptor codes | difference |",
             "|---|---:|---:|---:|"]
    lines += [f"| {mode} | {scores['exact'][mode]:.4f} | {scores['adaptor'][mode]:.4f} | "
              f"{scores['adaptor'][mode] - scores['exact'][mode]:+.4f} |" for mode in MODES]
    publish("\n".join(lines), args.out)


if __name__ == "__main__":
    main()
