"""What every benchmark prints: the machine it ran on, and where the shared data is."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SAMPLE = DATA / "arxiv-75k.jsonl.gz"


def machine() -> str:
    try:
        model = next(line.split(":", 1)[1].strip() for line in
                     subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()
                     if line.startswith("Model name"))
    except (StopIteration, OSError):
        model = platform.processor() or "unknown CPU"
    return f"{model}, {os.cpu_count()} cores, Python {platform.python_version()}"


def publish(report: str, out: Path | None) -> None:
    """Print a benchmark's report, and write it to ``out`` when given."""
    print(report)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(report)


def vectors_of(library: Path) -> dict[str, Any]:
    """Every paper's current stored vector in a library, by paper id."""
    from papersift.library import Library

    lib = Library(library)
    keys = lib.store.current_keys(lib.dense.name)
    found, vectors = lib.dense.vectors(keys)
    ids = lib.store.ids_of(keys[found].tolist())
    out = {ids[k]: v for k, v in zip(keys[found].tolist(), vectors, strict=True)}
    lib.close()
    return out
