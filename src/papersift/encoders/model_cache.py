"""The on-disk cache of exported encoder models, with a manifest to trust it by.

Layout, one folder per encoder name under ``<cache_dir>/encoders/``::

    minilm-l6-int8/
        manifest.json           # what was built, from what, and the model file's sha256
        model-<sha12>.onnx      # the exported model, named after its own checksum
        .lock                   # held while building, so two processes build once

A cached model is used only when the manifest's export settings equal the requested ones,
the source weights are the ones it was built from (sha256, re-hashed only when a source file's
size or mtime changed), and the model file's sha256 matches. Otherwise it is rebuilt. Writes
go to a temporary name that is then renamed, model first and manifest last, so a crash or a
concurrent reader only ever sees a complete pair.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["CachedModel", "ExportSettings", "cached_model", "sha256_file"]

MANIFEST_FORMAT = 1
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class ExportSettings:
    """Everything that changes the exported file; a different value means a rebuild."""

    opset: int = 17
    quantize_ops: tuple[str, ...] = ("MatMul",)  # empty: keep float32
    per_channel: bool = True
    weight_type: str = "int8"
    pooling: str = "mean"
    normalize: bool = True
    #: Fuse BERT's attention, layer norms and GELU into onnxruntime's contrib operators
    #: before quantizing (``onnxruntime.transformers.optimizer``).
    fuse: bool = False

    def as_json(self) -> dict[str, Any]:
        """The settings as stored in a manifest (``fuse`` only when set, so that caches
        written before it existed still match their unfused settings)."""
        data = asdict(self)
        data["quantize_ops"] = list(self.quantize_ops)
        if not self.fuse:
            del data["fuse"]
        return data


@dataclass(frozen=True)
class CachedModel:
    """A verified model file, and whether this call had to build it."""

    path: Path
    manifest: dict[str, Any]
    built: bool


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _source_record(path: Path) -> dict[str, Any]:
    stat = path.stat()
    return {"sha256": sha256_file(path), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _source_matches(path: Path, record: dict[str, Any]) -> bool:
    """Whether ``path`` still holds the bytes ``record`` describes (cheap when untouched)."""
    try:
        stat = path.stat()
    except OSError:
        return False
    if stat.st_size != record.get("size"):
        return False
    if stat.st_mtime_ns == record.get("mtime_ns"):
        return True
    return sha256_file(path) == record.get("sha256")


def _read_manifest(folder: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _verify(folder: Path, settings: ExportSettings, sources: list[Path]) -> CachedModel | None:
    """The cached model if the manifest and files check out, else ``None``."""
    manifest = _read_manifest(folder)
    if manifest is None or manifest.get("format") != MANIFEST_FORMAT:
        return None
    if manifest.get("settings") != settings.as_json():
        return None
    recorded = manifest.get("sources", {})
    if set(recorded) != {p.name for p in sources}:
        return None
    if not all(_source_matches(p, recorded[p.name]) for p in sources):
        return None
    model = manifest.get("model", {})
    path = folder / str(model.get("file", ""))
    if not path.is_file() or path.stat().st_size != model.get("size"):
        return None
    if sha256_file(path) != model.get("sha256"):
        return None
    return CachedModel(path=path, manifest=manifest, built=False)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    with (folder / ".lock").open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _build(
    folder: Path,
    settings: ExportSettings,
    sources: list[Path],
    build: Callable[[Path], None],
) -> CachedModel:
    fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=".model-", suffix=".onnx.tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        started = time.perf_counter()
        build(tmp)
        seconds = time.perf_counter() - started
        digest = sha256_file(tmp)
        path = folder / f"model-{digest[:12]}.onnx"
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the cache may be shared
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    manifest = {
        "format": MANIFEST_FORMAT,
        "settings": settings.as_json(),
        "sources": {p.name: _source_record(p) for p in sources},
        "source_folder": str(sources[0].parent) if sources else "",
        "model": {"file": path.name, "sha256": digest, "size": path.stat().st_size},
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_seconds": round(seconds, 2),
    }
    _write_json_atomic(folder / MANIFEST, manifest)
    for stale in folder.glob("model-*.onnx"):
        if stale != path:
            stale.unlink(missing_ok=True)
    return CachedModel(path=path, manifest=manifest, built=True)


def cached_model(
    folder: Path,
    settings: ExportSettings,
    sources: list[Path],
    build: Callable[[Path], None],
) -> CachedModel:
    """Return the verified model in ``folder``, building it with ``build(path)`` if needed.

    ``sources`` are the files the model is derived from (their checksums go in the
    manifest); ``build`` writes a complete model file at the path it is given.
    """
    found = _verify(folder, settings, sources)
    if found is not None:
        return found
    folder.mkdir(parents=True, exist_ok=True)
    with _locked(folder):
        found = _verify(folder, settings, sources)  # another process may have built it
        if found is not None:
            return found
        return _build(folder, settings, sources, build)
