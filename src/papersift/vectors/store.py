"""On-disk vectors of one encoder: immutable float16 segments plus an atomic manifest.

Layout of a store directory (e.g. ``<library>/vectors/<encoder-name>/``)::

    manifest.json          # encoder, dim, count, applied_seq, segments, tombstones
    seg-000001.npy         # float16 (rows, dim)
    seg-000001.ids.npy     # int64 (rows,)  catalog rowids

Every write puts new files under a temporary name, renames them into place, and rewrites
``manifest.json`` (temp + fsync + rename) last. A file that the manifest does not list is
ignored on open, so a crash at any point leaves the previous state readable, and an
interrupted embedding run resumes by asking :meth:`VectorStore.ids` what is already done.

Rows are keyed by int64 id. An id is live in at most one segment; replacing a vector
(re-embedding a changed paper) is ``remove([id])`` then ``add([id], [vec])``. Removal writes
tombstones into the manifest (per segment); :meth:`VectorStore.compact` folds everything into
one segment without tombstones.

One writer at a time (the library's ``embed`` lock); any number of readers, in this process
and others. A reader takes one :class:`Snapshot` (the segment list of one manifest) and reads
ids and vectors from it, so it never sees them out of step; a writer builds the next snapshot
and publishes it with one assignment (in this process) and one rename (for others, who pick
it up with :meth:`VectorStore.reload`). Segment files are never rewritten, only added, and
removed by :meth:`VectorStore.compact`.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

MANIFEST = "manifest.json"
FORMAT = 1


@dataclass(frozen=True)
class Segment:
    """One immutable segment: its name, row count, checksums and tombstoned ids."""

    name: str
    rows: int
    sha256: str
    ids_sha256: str
    deleted: tuple[int, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rows": self.rows,
            "sha256": self.sha256,
            "ids_sha256": self.ids_sha256,
            "deleted": list(self.deleted),
        }

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> Segment:
        return cls(obj["name"], int(obj["rows"]), obj["sha256"], obj["ids_sha256"],
                   tuple(int(i) for i in obj.get("deleted", [])))


@dataclass(frozen=True)
class Snapshot:
    """The segments of one manifest and the catalog change they include."""

    segments: tuple[Segment, ...]
    applied_seq: int

    @property
    def count(self) -> int:
        return sum(s.rows - len(s.deleted) for s in self.segments)


class VectorStore:
    """The float16 vectors of one encoder under ``directory``, keyed by int64 ids.

    Example::

        store = VectorStore.open(lib / "vectors" / "minilm", encoder="minilm", dim=384)
        todo = np.setdiff1d(all_ids, store.ids())
        store.add(todo[:256], encode(texts[:256]))   # durable once it returns
        store.applied_seq = 42                         # last catalog change included
    """

    def __init__(self, directory: Path, encoder: str, dim: int, segments: list[Segment],
                 applied_seq: int) -> None:
        self.directory = Path(directory)
        self.encoder = encoder
        self.dim = int(dim)
        self._snap = Snapshot(tuple(segments), int(applied_seq))
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._stamp = self._manifest_stamp()

    # ---------------------------------------------------------------- open
    @classmethod
    def open(cls, directory: str | os.PathLike[str], *, encoder: str | None = None,
             dim: int | None = None) -> VectorStore:
        """Open the store in ``directory``, creating it when ``encoder`` and ``dim`` are given.

        Raises ``FileNotFoundError`` for a missing store without ``encoder``/``dim``, and
        ``ValueError`` when they disagree with the manifest on disk.
        """
        path = Path(directory)
        manifest = path / MANIFEST
        if not manifest.exists():
            if encoder is None or dim is None:
                raise FileNotFoundError(f"no vector store at {path}: pass encoder= and dim=")
            path.mkdir(parents=True, exist_ok=True)
            store = cls(path, encoder, dim, [], -1)
            store._publish(store._snap)
            return store
        obj = _read_manifest(manifest)
        store = cls(path, obj["encoder"], obj["dim"],
                    [Segment.from_json(s) for s in obj["segments"]], obj["applied_seq"])
        if encoder is not None and encoder != store.encoder:
            raise ValueError(f"{path} holds vectors of {store.encoder!r}, not {encoder!r}")
        if dim is not None and dim != store.dim:
            raise ValueError(f"{path} holds {store.dim}-dim vectors, not {dim}")
        return store

    def _manifest_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = (self.directory / MANIFEST).stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def reload(self) -> bool:
        """Pick up what another process published; True when the snapshot changed."""
        stamp = self._manifest_stamp()
        if stamp is None or stamp == self._stamp:
            return False
        obj = _read_manifest(self.directory / MANIFEST)
        self._stamp = stamp
        snap = Snapshot(tuple(Segment.from_json(s) for s in obj["segments"]),
                        int(obj["applied_seq"]))
        if snap == self._snap:
            return False
        self._snap = snap
        return True

    # ---------------------------------------------------------------- reads
    def snapshot(self) -> Snapshot:
        """The current segments: read ids and vectors of one snapshot to keep them aligned."""
        return self._snap

    @property
    def count(self) -> int:
        """Number of live vectors."""
        return self._snap.count

    @property
    def applied_seq(self) -> int:
        """The last catalog change included in these vectors (-1 when none)."""
        return self._snap.applied_seq

    @applied_seq.setter
    def applied_seq(self, seq: int) -> None:
        self._publish(Snapshot(self._snap.segments, int(seq)))

    def ids(self, snap: Snapshot | None = None) -> np.ndarray:
        """Live ids (int64) in storage order, aligned with :meth:`vectors` of the same
        snapshot."""
        parts = [ids[self._live(seg, ids)] for seg, ids, _ in self._iter_segments(snap)]
        return np.concatenate(parts) if parts else np.empty(0, np.int64)

    def vectors(self, snap: Snapshot | None = None) -> np.ndarray:
        """Live vectors (float16, ``(count, dim)``), memory-mapped when nothing needs copying."""
        parts = []
        for seg, ids, vecs in self._iter_segments(snap):
            parts.append(vecs if not seg.deleted else vecs[self._live(seg, ids)])
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return np.empty((0, self.dim), np.float16)
        return np.concatenate(parts)

    def items_in(self, snap: Snapshot, names: set[str]) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, vectors)`` of the live rows of the named segments of ``snap``."""
        ids, vecs = [], []
        for seg, seg_ids, seg_vecs in self._iter_segments(snap):
            if seg.name in names:
                live = self._live(seg, seg_ids)
                ids.append(seg_ids[live])
                vecs.append(seg_vecs if live.all() else seg_vecs[live])
        if not ids:
            return np.empty(0, np.int64), np.empty((0, self.dim), np.float16)
        return np.concatenate(ids), np.concatenate(vecs)

    def items(self) -> tuple[np.ndarray, np.ndarray]:
        """``(ids, vectors)`` of the live rows of one snapshot, aligned."""
        snap = self._snap
        return self.ids(snap), self.vectors(snap)

    def verify(self) -> list[str]:
        """Re-hash every segment; return a list of problems (empty when all is well)."""
        problems = []
        for seg in self._snap.segments:
            for suffix, digest in ((".npy", seg.sha256), (".ids.npy", seg.ids_sha256)):
                file = self.directory / (seg.name + suffix)
                if not file.exists():
                    problems.append(f"{file} is missing")
                elif _sha256(file) != digest:
                    problems.append(f"{file} does not match its checksum")
        return problems

    # ---------------------------------------------------------------- writes
    def add(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        """Append vectors as a new segment; durable when this returns.

        An id that is already live raises ``ValueError`` (remove it first to replace it).
        """
        self.replace(np.empty(0, np.int64), ids, vecs, strict=True)

    def replace(self, remove: np.ndarray, ids: np.ndarray, vecs: np.ndarray, *,
                strict: bool = False, applied_seq: int | None = None) -> None:
        """Remove ``remove`` and add ``ids``/``vecs`` in one published snapshot.

        With ``strict``, an added id that is live (and not removed here) raises
        ``ValueError``; otherwise its old vector is replaced.
        """
        ids = np.asarray(ids, dtype=np.int64).ravel()
        vecs = np.asarray(vecs)
        if vecs.ndim != 2 or vecs.shape != (len(ids), self.dim):
            raise ValueError(f"expected shape ({len(ids)}, {self.dim}), got {vecs.shape}")
        if len(np.unique(ids)) != len(ids):
            raise ValueError("duplicate ids in one add()")
        snap = self._snap
        gone = np.asarray(remove, dtype=np.int64).ravel()
        if strict:
            clash = np.setdiff1d(np.intersect1d(ids, self.ids(snap)), gone)
            if len(clash):
                raise ValueError(f"ids already stored (remove them first): {clash[:5].tolist()}")
        segments = list(self._tombstoned(snap, np.union1d(gone, ids)))
        if len(ids):
            segments.append(self._write_segment(ids, vecs.astype(np.float16)))
        seq = snap.applied_seq if applied_seq is None else int(applied_seq)
        self._publish(Snapshot(tuple(segments), seq))

    def remove(self, ids: np.ndarray) -> int:
        """Tombstone the given ids; unknown ids are ignored. Returns how many were removed."""
        snap = self._snap
        segments = self._tombstoned(snap, np.asarray(ids, dtype=np.int64).ravel())
        new = Snapshot(tuple(segments), snap.applied_seq)
        removed = snap.count - new.count
        if removed:
            self._publish(new)
        return removed

    def _tombstoned(self, snap: Snapshot, wanted: np.ndarray) -> list[Segment]:
        out = []
        for seg, seg_ids, _ in self._iter_segments(snap):
            live = seg_ids[self._live(seg, seg_ids)]
            hit = np.intersect1d(live, wanted) if len(wanted) else live[:0]
            if len(hit):
                seg = replace(seg, deleted=tuple(sorted((*seg.deleted, *hit.tolist()))))
            out.append(seg)
        return out

    def compact(self) -> None:
        """Rewrite all live rows as one segment and drop the old files."""
        snap = self._snap
        if len(snap.segments) <= 1 and not any(s.deleted for s in snap.segments):
            return
        ids, vecs = self.ids(snap), np.array(self.vectors(snap))
        segments = (self._write_segment(ids, vecs),) if len(ids) else ()
        self._publish(Snapshot(segments, snap.applied_seq))
        for seg in snap.segments:
            self._cache.pop(seg.name, None)
            for suffix in (".npy", ".ids.npy"):
                (self.directory / (seg.name + suffix)).unlink(missing_ok=True)

    # ---------------------------------------------------------------- internals
    @staticmethod
    def _live(seg: Segment, ids: np.ndarray) -> np.ndarray:
        if not seg.deleted:
            return np.ones(len(ids), dtype=bool)
        return ~np.isin(ids, np.asarray(seg.deleted, dtype=np.int64))

    def _iter_segments(
        self, snap: Snapshot | None = None
    ) -> list[tuple[Segment, np.ndarray, np.ndarray]]:
        out = []
        for seg in (snap or self._snap).segments:
            cached = self._cache.get(seg.name)
            if cached is None:
                vecs = np.load(self.directory / f"{seg.name}.npy", mmap_mode="r")
                ids = np.load(self.directory / f"{seg.name}.ids.npy")
                cached = self._cache[seg.name] = (ids, vecs)
            out.append((seg, *cached))
        return out

    def _next_name(self) -> str:
        """A segment name beyond every listed one and any orphan left by a crash."""
        numbers = [int(p.name[4:10]) for p in self.directory.glob("seg-??????.npy")]
        numbers += [int(s.name[4:]) for s in self._snap.segments]
        return f"seg-{max(numbers, default=0) + 1:06d}"

    def _write_segment(self, ids: np.ndarray, vecs: np.ndarray) -> Segment:
        name = self._next_name()
        digests = [
            atomic_save(self.directory / f"{name}.ids.npy", ids),
            atomic_save(self.directory / f"{name}.npy", vecs),
        ]
        return Segment(name, len(ids), digests[1], digests[0])

    def _publish(self, snap: Snapshot) -> None:
        """Write the manifest of ``snap`` (atomically), then make it this store's view."""
        obj = {
            "format": FORMAT,
            "encoder": self.encoder,
            "dim": self.dim,
            "count": snap.count,
            "applied_seq": snap.applied_seq,
            "segments": [s.to_json() for s in snap.segments],
        }
        atomic_write(self.directory / MANIFEST, json.dumps(obj, indent=1).encode())
        self._snap = snap
        self._stamp = self._manifest_stamp()


def _read_manifest(manifest: Path) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(manifest.read_text())
    if obj.get("format") != FORMAT:
        raise ValueError(f"{manifest}: unknown format {obj.get('format')!r}")
    return obj


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_save(path: Path, array: np.ndarray) -> str:
    """``np.save`` to a temporary name, fsync, rename; return the file's sha256."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as fh:
        np.save(fh, np.ascontiguousarray(array))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return _sha256(path)


def atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory fds
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
