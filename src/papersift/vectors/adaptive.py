"""The staged, nested-prefix index in the spirit of AdANNS-IVF.

Vectors are rotated by :mod:`papersift.vectors.nested` so that prefixes are nested. Then:

1. **clusters** (``nlist ≈ 4·sqrt(n)``) come from spherical k-means on the first ``d_c``
   dimensions (all of them by default: full-length clusters are far purer than prefix ones,
   and they are found once, at build time). A query ranks the centroids on a *short* prefix
   of ``d_p`` dimensions (cheap: ``nlist · d_p`` multiply-adds) and probes ``nprobe`` lists;
2. **candidates** in those lists are scored on a prefix of ``d_s`` dimensions held in RAM
   as int8 codes with a per-dimension scale (``code_dtype="float32"`` keeps them exact, at
   4x the RAM and, measured, no speed gain). Lists are stored contiguously; the probed rows
   are gathered with one ``take`` and scored with one BLAS matrix-vector product;
3. the best ``rerank`` candidates are **re-ranked** on the full-length float32 vectors, which
   stay on disk (memory-mapped), so RAM holds about ``d_s + 9`` bytes per vector. They are
   float32, not float16, because widening float16 in numpy costs ~2.5 ns per element: 100
   re-ranked rows took 107 µs from float16 and 7 µs from float32 (the disk pays 1.5 KB/vector).

Different stages get different capacities, which is the AdANNS insight. ``build`` tunes
``(d_p, nprobe, d_s, rerank)`` on held-out vectors (removed from the build set, tuned
against, then added back) to reach a recall@10 target plus a small safety margin at the
least measured latency (see :mod:`papersift.vectors.tuning`).
Adds go to a small overflow area, assigned to their nearest centroid and probed with it;
it is merged into the lists when it grows. Removes are tombstones.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Self

import numpy as np

from papersift.vectors.clustering import assign, list_centroids
from papersift.vectors.index import Hits, as_queries, checked_new, empty_hits
from papersift.vectors.nested import Rotation, fit_rotation
from papersift.vectors.store import atomic_save, atomic_write

#: A filter allowing at most this many vectors is answered by exact search over them.
SMALL_FILTER = 4096
#: Merge the overflow into the lists once it holds this fraction of the vectors.
MERGE_FRACTION = 0.05


@dataclass(frozen=True)
class Params:
    """Stage sizes: lists probed, prefix length of the candidate scores, rows re-ranked,
    and the prefix length on which centroids are ranked (0: all ``d_c`` dimensions)."""

    nprobe: int
    d_s: int
    rerank: int
    d_p: int = 0

    def scaled(self, budget: float | None, k: int, nlist: int) -> Params:
        """The stage sizes for a ``budget`` (1.0 = as tuned) and ``k`` results.

        The sizes are tuned for the top 10. Asking for more results needs proportionally
        more candidates re-ranked, and more lists probed (the k-th neighbour lies farther
        out), else recall@k falls as k grows: measured on SciFact at k = 100, recall@100
        0.865 without this scaling against 0.932 for exact search.
        """
        b = 1.0 if budget is None else max(float(budget), 1e-3)
        more = max(1.0, k / 10)
        return Params(min(nlist, max(1, round(self.nprobe * b * more**0.5))), self.d_s,
                      max(k, round(self.rerank * b * more)), self.d_p)


@dataclass
class Lists:
    """Rows grouped by cluster: list ``c`` is rows ``offsets[c]:offsets[c+1]``."""

    ids: np.ndarray      # (n,) int64
    codes: np.ndarray    # (n, d_s) int8 (or float32) prefix codes
    full: np.ndarray     # (n, dim) float32 rotated vectors (memory-mapped after load)
    offsets: np.ndarray  # (nlist + 1,) int64
    alive: np.ndarray    # (n,) bool


@dataclass
class Overflow:
    """Rows added since the lists were built, with the cluster each belongs to."""

    ids: np.ndarray
    codes: np.ndarray
    full: np.ndarray
    cluster: np.ndarray
    alive: np.ndarray

    @classmethod
    def empty(cls, d_s: int, dim: int, code_dtype: str = "int8") -> Overflow:
        """An overflow holding nothing."""
        return cls(np.empty(0, np.int64), np.empty((0, d_s), code_dtype),
                   np.empty((0, dim), np.float32), np.empty(0, np.int64), np.empty(0, bool))


class AdaptiveIndex:
    """Staged nested-prefix IVF index; see the module docstring.

    Example::

        index = AdaptiveIndex.build(ids, vecs, recall=0.95)
        hits = index.search(query[None, :], 10)
        index.save(lib / "vectors" / "minilm" / "index")
    """

    kind = "adaptive"
    #: Filters allowing at most this many vectors are searched exactly (see ``search``).
    small_filter = SMALL_FILTER

    def __init__(self, dim: int, *, rotation: Rotation | None = None, d_c: int | None = None,
                 params: Params | None = None, scale: np.ndarray | None = None,
                 code_dtype: str = "int8") -> None:
        if code_dtype not in ("float32", "int8"):
            raise ValueError(f"code_dtype must be 'float32' or 'int8', not {code_dtype!r}")
        self.dim = int(dim)
        self.code_dtype = code_dtype
        self.rotation = rotation or Rotation.identity(dim)
        self.d_c = self.dim if d_c is None else min(int(d_c), self.dim)
        self.params = params or Params(nprobe=8, d_s=min(64, self.dim), rerank=100)
        self.scale = (np.ones(self.params.d_s, np.float32) if scale is None
                      else np.asarray(scale, np.float32))
        self.centroids = np.empty((0, self.d_c), np.float32)
        self.lists = Lists(np.empty(0, np.int64), np.empty((0, self.params.d_s), code_dtype),
                           np.empty((0, dim), np.float32), np.zeros(1, np.int64),
                           np.empty(0, bool))
        self.overflow = Overflow.empty(self.params.d_s, dim, code_dtype)
        self.tuning: dict[str, Any] = {}
        self._no_tombstones: bool | None = None
        self._views: dict[tuple[str, int], np.ndarray] = {}
        self._plain: np.ndarray | None = None
        self._count: int | None = None

    # ------------------------------------------------------------------ build
    @classmethod
    def build(cls, ids: np.ndarray, vecs: np.ndarray, *, recall: float = 0.95,
              queries: np.ndarray | None = None, rotation: Rotation | None = None,
              d_c: int | None = None, nlist: int | None = None, tune_queries: int = 500,
              margin: float = 0.01, code_dtype: str = "int8",
              seed: int = 0) -> AdaptiveIndex:
        """Cluster, lay out and tune an index over ``vecs`` (unit vectors, one per id).

        ``recall`` is the recall@10 target against exact search. The stage sizes are tuned
        for ``recall + margin`` on ``queries`` when given, else on ``tune_queries`` vectors
        held out of the build (not clustered, not in the lists while tuning; added back
        after), so tuning sees the index as a new paper's query would. ``d_c`` is the
        clustering prefix (default: full length); ``rotation`` defaults to one fitted on
        ``vecs``. ``code_dtype="float32"`` keeps the candidate-scoring prefix exact, at 4x
        the RAM (on 200k MiniLM-like vectors: same recall to 0.002, and no faster).
        """
        from papersift.vectors.tuning import tune

        ids = np.asarray(ids, dtype=np.int64)
        if len(np.unique(ids)) != len(ids):
            raise ValueError("ids must be unique")
        rot = rotation or fit_rotation(vecs, seed=seed)
        index = cls(rot.dim, rotation=rot, d_c=d_c, code_dtype=code_dtype)
        if len(ids) < 2:
            index.add(ids, vecs)
            return index
        ids, rotated, n_build = held_out_split(ids, vecs, rot, tune_queries=tune_queries,
                                               queries=queries, seed=seed)
        k = nlist or default_nlist(n_build, len(ids))
        index.centroids = list_centroids(rotated[:n_build, :index.d_c], k, seed=seed)
        cluster = assign(rotated[:, :index.d_c], index.centroids)
        tuning_queries = rotated[n_build:] if queries is None else rot.apply(queries)
        index.tuning = tune(index, ids[:n_build], rotated[:n_build], cluster[:n_build],
                            recall=min(1.0, recall + margin), queries=tuning_queries, seed=seed)
        index.tuning["target"] = recall
        index.lists = Lists(ids[:0], index.lists.codes[:0], rotated[:0], index.lists.offsets,
                            index.lists.alive[:0])  # free the tuning layout first
        index.layout(ids, rotated, index.params.d_s, cluster)
        return index

    def layout(self, ids: np.ndarray, rotated: np.ndarray, d_s: int,
               cluster: np.ndarray | None = None) -> np.ndarray:
        """(Re)build the lists from rotated vectors, keeping ``d_s``-dim prefix codes.

        ``cluster`` (each row's list) is computed when not given. Returns the list position
        of each input row."""
        if cluster is None:
            cluster = assign(rotated[:, :self.d_c], self.centroids)
        order = np.argsort(cluster, kind="stable")
        counts = np.bincount(cluster, minlength=len(self.centroids))
        self.scale = _code_scale(rotated[:, :d_s], self.code_dtype)
        self.params = Params(self.params.nprobe, d_s, self.params.rerank, self.params.d_p)
        self.lists = Lists(
            ids=ids[order],
            codes=_encode(rotated[order, :d_s], self.scale, self.code_dtype),
            full=rotated[order],
            offsets=np.r_[0, np.cumsum(counts)].astype(np.int64),
            alive=np.ones(len(ids), bool),
        )
        self.overflow = Overflow.empty(d_s, self.dim, self.code_dtype)
        self._written()
        where = np.empty(len(ids), np.int64)
        where[order] = np.arange(len(ids))
        return where

    def truncate(self, d_s: int) -> None:
        """Keep only the first ``d_s`` code dimensions (after tuning picked ``d_s``)."""
        self.lists.codes = np.ascontiguousarray(self.lists.codes[:, :d_s])
        self.overflow.codes = np.ascontiguousarray(self.overflow.codes[:, :d_s])
        self.scale = np.ascontiguousarray(self.scale[:d_s])
        self._written()

    # ------------------------------------------------------------------ protocol
    @property
    def count(self) -> int:
        """Number of live vectors (cached; reset by every write)."""
        if self._count is None:
            self._count = int(self.lists.alive.sum() + self.overflow.alive.sum())
        return self._count

    @property
    def nlist(self) -> int:
        """Number of clusters (lists)."""
        return len(self.centroids)

    @property
    def ids(self) -> np.ndarray:
        """Live ids (lists first, then overflow)."""
        return np.concatenate([self.lists.ids[self.lists.alive],
                               self.overflow.ids[self.overflow.alive]])

    def add(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        """Add vectors without rebuilding: each goes to its nearest centroid's overflow."""
        ids, vecs = checked_new(ids, vecs, self.dim, self.ids)
        if not len(ids):
            return
        rotated = self.rotation.apply(vecs)
        cluster = (assign(rotated[:, :self.d_c], self.centroids) if self.nlist
                   else np.full(len(ids), -1, np.int64))
        o = self.overflow
        self.overflow = Overflow(
            np.r_[o.ids, ids],
            np.concatenate([o.codes, _encode(rotated[:, :self.params.d_s], self.scale,
                                             self.code_dtype)]),
            np.concatenate([o.full, rotated]), np.r_[o.cluster, cluster],
            np.r_[o.alive, np.ones(len(ids), bool)])
        self._written()
        if self.nlist and len(self.overflow.ids) > MERGE_FRACTION * max(len(self.lists.ids), 1):
            self.merge()

    def remove(self, ids: np.ndarray) -> int:
        """Tombstone ids (unknown ones ignored); return how many were removed."""
        wanted = np.asarray(ids, dtype=np.int64)
        removed = 0
        for part in (self.lists, self.overflow):
            hit = part.alive & np.isin(part.ids, wanted)
            if hit.any():
                if not part.alive.flags.writeable:
                    part.alive = part.alive.copy()
                part.alive[hit] = False
                removed += int(hit.sum())
        self._written()
        return removed

    def merge(self) -> None:
        """Fold the overflow into the lists and drop tombstoned rows (no re-clustering)."""
        lists, o = self.lists, self.overflow
        cluster_main = np.repeat(np.arange(self.nlist), np.diff(lists.offsets))
        keep, keep_o = lists.alive, o.alive
        cluster = np.r_[cluster_main[keep], o.cluster[keep_o]]
        order = np.argsort(cluster, kind="stable")
        self.lists = Lists(
            ids=np.r_[lists.ids[keep], o.ids[keep_o]][order],
            codes=np.concatenate([lists.codes[keep], o.codes[keep_o]])[order],
            full=np.concatenate([lists.full[keep], o.full[keep_o]])[order],
            offsets=np.r_[0, np.cumsum(np.bincount(cluster, minlength=self.nlist))].astype(
                np.int64),
            alive=np.ones(len(cluster), bool))
        self.overflow = Overflow.empty(self.params.d_s, self.dim, self.code_dtype)
        self._written()

    def search(self, queries: np.ndarray, k: int, *, allowed: np.ndarray | None = None,
               budget: float | None = None) -> Hits:
        """Approximate top ``k`` by inner product; ``budget`` scales nprobe and rerank.

        With ``allowed``, only allowed vectors are returned: a filter of at most
        :attr:`small_filter` vectors is searched exactly; a larger one probes more lists (in
        proportion to how selective it is) until enough allowed candidates are found.
        """
        q = as_queries(queries, self.dim)
        if self.count == 0 or k <= 0:
            return empty_hits(len(q), max(k, 0))
        rotated = self.rotation.apply(q)
        filt = _Filter(allowed, self) if allowed is not None else None
        params = self.params.scaled(budget, k, max(self.nlist, 1))
        out = empty_hits(len(q), k)
        for i, qr in enumerate(rotated):
            ids, scores = self._search_one(qr, k, params, filt)
            out.ids[i, :len(ids)] = ids
            out.scores[i, :len(ids)] = scores
        return out

    # ------------------------------------------------------------------ one query
    def _search_one(self, qr: np.ndarray, k: int, p: Params,
                    filt: _Filter | None) -> tuple[np.ndarray, np.ndarray]:
        if filt is not None and filt.small:
            return self._exact_rows(qr, k, filt)
        if filt is None and self.nlist and not len(self.overflow.ids) and self._all_alive():
            return self._search_plain(qr, k, p)
        nprobe = p.nprobe
        if filt is not None:
            nprobe = min(self.nlist, int(np.ceil(nprobe / max(filt.selectivity, 1e-9))))
        while True:
            pos, scores = self._candidates(qr, nprobe, p.d_s, filt, p.d_p)
            valid = int(np.isfinite(scores).sum())
            if valid >= k or nprobe >= self.nlist:
                break
            nprobe = min(self.nlist, nprobe * 2)
        return self._rerank(qr, pos, scores, k, p.rerank)

    def _search_plain(self, qr: np.ndarray, k: int, p: Params) -> tuple[np.ndarray, np.ndarray]:
        """The common case (no filter, no overflow, no tombstones) with as few numpy calls
        as possible: at ~10 µs each they, not the arithmetic, bound small searches."""
        lists, d_s = self.lists, p.d_s
        d_p = p.d_p or self.d_c
        centroid_scores = self._view("centroids", d_p) @ qr[:d_p]
        # a threshold from np.partition, then flatnonzero: faster than argpartition, and
        # the chosen lists / rows come out in memory order
        probe = _top(centroid_scores, p.nprobe)
        starts, ends = lists.offsets[probe], lists.offsets[probe + 1]
        pos = _ranges(starts, ends)
        codes = np.take(self._view("codes", d_s), pos, axis=0)
        scores = np.asarray(codes, np.float32) @ (qr[:d_s] * self.scale[:d_s])
        pos = pos[_top(scores, p.rerank)]
        full = np.take(self._full_plain(), pos, axis=0) @ qr
        if len(full) > k:
            part = np.argpartition(full, -k)[-k:]
            pos, full = pos[part], full[part]
        order = np.argsort(-full, kind="stable")
        return lists.ids[pos[order]], full[order]

    def _full_plain(self) -> np.ndarray:
        """``lists.full`` as a plain ndarray (a memory map's subclass makes every index slow)."""
        if self._plain is None:
            self._plain = np.asarray(self.lists.full)
        return self._plain

    def _candidates(self, qr: np.ndarray, nprobe: int, d_s: int, filt: _Filter | None,
                    d_p: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Positions (list rows, then ``len(lists)+i`` for overflow row ``i``) and prefix
        scores of the members of the ``nprobe`` nearest lists; excluded rows score -inf."""
        lists, o = self.lists, self.overflow
        qs = qr[:d_s] * self.scale[:d_s]
        if self.nlist:
            probe = self.probe(qr, nprobe, d_p)
            pos = _ranges(lists.offsets[probe], lists.offsets[probe + 1])
            scores = np.asarray(np.take(self._view("codes", d_s), pos, axis=0), np.float32) @ qs
        else:
            probe = np.empty(0, np.int64)
            scores, pos = np.empty(0, np.float32), np.empty(0, np.int64)
        if len(o.ids):
            extra = np.flatnonzero((o.cluster < 0) | np.isin(o.cluster, probe))
            scores = np.r_[scores, o.codes[extra, :d_s].astype(np.float32) @ qs]
            pos = np.r_[pos, extra + len(lists.ids)]
        scores = scores.astype(np.float32, copy=False)
        dead = None if self._all_alive() and not len(o.ids) else ~self._alive_at(pos)
        if filt is not None:
            disallowed = ~filt.test(self._ids_at(pos))
            dead = disallowed if dead is None else dead | disallowed
        if dead is not None and dead.any():
            scores[dead] = -np.inf
        return pos, scores

    def probe(self, qr: np.ndarray, nprobe: int, d_p: int | None = None) -> np.ndarray:
        """The ``nprobe`` lists whose centroids score best on the first ``d_p`` dimensions
        (default: the tuned ``params.d_p``) of the rotated query ``qr``, best first."""
        d = d_p or self.params.d_p or self.d_c
        return _probe(self._view("centroids", d) @ qr[:d], nprobe)

    def _view(self, name: str, width: int) -> np.ndarray:
        """A C-contiguous prefix of ``centroids`` or the list ``codes`` (cached), so that
        gathers and products run on packed rows."""
        array = self.centroids if name == "centroids" else self.lists.codes
        if array.shape[1] == width:
            return array
        key = (name, width)
        if key not in self._views:
            self._views[key] = np.ascontiguousarray(array[:, :width])
        return self._views[key]

    def _written(self) -> None:
        """Forget what was cached about the arrays (after any write)."""
        self._no_tombstones = None
        self._count = None
        self._views.clear()
        self._plain = None

    def _rerank(self, qr: np.ndarray, pos: np.ndarray, scores: np.ndarray, k: int,
                rerank: int) -> tuple[np.ndarray, np.ndarray]:
        """Re-score the best ``rerank`` candidates at full length; return the top ``k``."""
        if len(pos) > rerank:
            best = np.argpartition(-scores, rerank - 1)[:rerank]
            pos, scores = pos[best], scores[best]
        pos = pos[np.isfinite(scores)]
        full = self._full_at(pos) @ qr
        if len(full) > k:
            part = np.argpartition(full, -k)[-k:]
            pos, full = pos[part], full[part]
        order = np.argsort(-full, kind="stable")
        return self._ids_at(pos[order]), full[order]

    def _exact_rows(self, qr: np.ndarray, k: int, filt: _Filter) -> tuple[np.ndarray, np.ndarray]:
        """Exact search over the (few) allowed live rows."""
        pos = filt.positions()
        pos = pos[self._alive_at(pos)]
        return self._rerank(qr, pos, np.zeros(len(pos), np.float32), k, len(pos) + 1)

    def _alive_at(self, pos: np.ndarray) -> np.ndarray:
        n = len(self.lists.ids)
        if not len(self.overflow.ids) and self._all_alive():
            return np.ones(len(pos), bool)
        main = pos < n
        out = np.empty(len(pos), bool)
        out[main] = self.lists.alive[pos[main]]
        out[~main] = self.overflow.alive[pos[~main] - n]
        return out

    def _all_alive(self) -> bool:
        """Whether no list row is tombstoned (cached; reset by every write)."""
        if self._no_tombstones is None:
            self._no_tombstones = bool(self.lists.alive.all())
        return self._no_tombstones

    def _ids_at(self, pos: np.ndarray) -> np.ndarray:
        n = len(self.lists.ids)
        return np.where(pos < n, self.lists.ids[np.minimum(pos, max(n - 1, 0))] if n else -1,
                        self.overflow.ids[np.clip(pos - n, 0, None)]
                        if len(self.overflow.ids) else -1)

    def _full_at(self, pos: np.ndarray) -> np.ndarray:
        n = len(self.lists.ids)
        main = pos < n
        if main.all():
            return np.take(self._full_plain(), pos, axis=0)
        out = np.empty((len(pos), self.dim), np.float32)
        out[main] = self.lists.full[pos[main]]
        out[~main] = self.overflow.full[pos[~main] - n]
        return out

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | os.PathLike[str]) -> None:
        """Write every array as ``.npy`` (temp name, then rename) and ``index.json`` last."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        if len(self.overflow.ids) or not self.lists.alive.all():
            self.merge() if self.nlist else None
        self.rotation.save(path / "rotation.npy")
        arrays = {"centroids": self.centroids, "scale": self.scale, **asdict(self.lists),
                  **{f"overflow_{k}": v for k, v in asdict(self.overflow).items()}}
        for name, array in arrays.items():
            atomic_save(path / f"{name}.npy", array)
        meta = {"kind": self.kind, "dim": self.dim, "d_c": self.d_c,
                "code_dtype": self.code_dtype,
                "params": asdict(self.params), "count": self.count, "tuning": self.tuning,
                "ram_bytes_per_vector": round(self.memory_bytes(as_loaded=True)
                                              / max(self.count, 1), 1)}
        atomic_write(path / "index.json", json.dumps(meta, indent=1).encode())

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> Self:
        """Open a saved index; the full-length vectors stay memory-mapped on disk."""
        path = Path(directory)
        meta = json.loads((path / "index.json").read_text())
        index = cls(meta["dim"], rotation=Rotation.load(path / "rotation.npy"), d_c=meta["d_c"],
                    code_dtype=meta.get("code_dtype", "int8"),
                    params=Params(**meta["params"]), scale=np.load(path / "scale.npy"))
        index.centroids = np.load(path / "centroids.npy")
        index.lists = Lists(**{f: np.load(path / f"{f}.npy", mmap_mode="r" if f == "full" else None)
                               for f in Lists.__dataclass_fields__})
        index.overflow = Overflow(**{f: np.load(path / f"overflow_{f}.npy")
                                     for f in Overflow.__dataclass_fields__})
        index.tuning = meta.get("tuning", {})
        index._written()
        return index

    def memory_bytes(self, *, as_loaded: bool = False) -> int:
        """Bytes of the arrays held in RAM: everything but the full-length vectors once they
        are memory-mapped (after :meth:`load`), which live on disk and in the page cache.
        ``as_loaded``: what it would hold once saved and loaded again (after a build)."""
        held = [self.centroids, self.scale, self.rotation.matrix, self.lists.ids,
                self.lists.codes, self.lists.offsets, self.lists.alive, *self._views.values(),
                *(v for v in asdict(self.overflow).values())]
        if not as_loaded and not isinstance(self.lists.full, np.memmap):
            held.append(self.lists.full)
        return int(sum(a.nbytes for a in held))


class _Filter:
    """An ``allowed`` filter resolved against one index (see :mod:`papersift.vectors.index`)."""

    def __init__(self, allowed: np.ndarray, index: AdaptiveIndex) -> None:
        allowed = np.asarray(allowed)
        self.index = index
        self.is_mask = allowed.dtype == np.bool_
        if self.is_mask:
            self.mask = allowed
            self.allowed_ids = np.flatnonzero(allowed).astype(np.int64)
        elif np.issubdtype(allowed.dtype, np.integer):
            self.allowed_ids = np.unique(allowed.astype(np.int64))
        else:
            raise TypeError("allowed must be a boolean mask indexed by id or an array of ids")
        self.selectivity = len(self.allowed_ids) / max(index.count, 1)
        self.small = len(self.allowed_ids) <= index.small_filter

    def test(self, ids: np.ndarray) -> np.ndarray:
        """Whether each id is allowed."""
        if self.is_mask:
            inside = (ids >= 0) & (ids < len(self.mask))
            out = np.zeros(len(ids), bool)
            out[inside] = self.mask[ids[inside]]
            return out
        found = np.searchsorted(self.allowed_ids, ids)
        found = np.minimum(found, max(len(self.allowed_ids) - 1, 0))
        if not len(self.allowed_ids):
            return np.zeros(len(ids), bool)
        return self.allowed_ids[found] == ids

    def positions(self) -> np.ndarray:
        """Positions (as in ``AdaptiveIndex._candidates``) of the allowed ids."""
        n = len(self.index.lists.ids)
        main = np.flatnonzero(np.isin(self.index.lists.ids, self.allowed_ids))
        extra = np.flatnonzero(np.isin(self.index.overflow.ids, self.allowed_ids)) + n
        return np.r_[main, extra].astype(np.int64)


def _probe(centroid_scores: np.ndarray, nprobe: int) -> np.ndarray:
    """The ``nprobe`` best lists, best first."""
    if nprobe >= len(centroid_scores):
        return np.argsort(-centroid_scores)
    best = np.argpartition(-centroid_scores, nprobe - 1)[:nprobe]
    return best[np.argsort(-centroid_scores[best])]


def _ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Concatenation of ``arange(s, e)`` for each pair, without a Python loop: a cumulative
    sum of ones that jumps from the end of one range to the start of the next."""
    keep = ends > starts
    starts, ends = starts[keep], ends[keep]
    if not len(starts):
        return np.empty(0, np.int64)
    cum = np.cumsum(ends - starts)
    step = np.ones(int(cum[-1]), np.int64)
    step[0] = starts[0]
    step[cum[:-1]] = starts[1:] - ends[:-1] + 1
    return np.cumsum(step)


def _top(scores: np.ndarray, n: int) -> np.ndarray:
    """Ascending indices of (at least, with ties) the ``n`` largest ``scores``."""
    if n >= len(scores):
        return np.arange(len(scores))
    return np.flatnonzero(scores >= np.partition(scores, -n)[-n])


def _code_scale(x: np.ndarray, code_dtype: str) -> np.ndarray:
    """Per-dimension scale so that ``x / scale`` fits int8 (ones for float32 codes)."""
    if code_dtype == "float32":
        return np.ones(x.shape[1], np.float32)
    peak = np.max(np.abs(x), axis=0) if len(x) else np.ones(x.shape[1], np.float32)
    return (np.maximum(peak, 1e-6) / 127.0).astype(np.float32)


def _encode(x: np.ndarray, scale: np.ndarray, code_dtype: str) -> np.ndarray:
    """Prefix codes of rows ``x``: float32 as they are, or int8 at ``scale``."""
    if code_dtype == "float32":
        return np.ascontiguousarray(x, np.float32)
    return np.clip(np.rint(x / scale), -127, 127).astype(np.int8)


def held_out_split(ids: np.ndarray, vecs: np.ndarray, rot: Rotation, *, tune_queries: int,
                   queries: np.ndarray | None, seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Rotate the vectors with up to ``tune_queries`` random rows (none when outside
    ``queries`` are given) moved last, held out of the build to tune on.

    Returns the reordered ids, the rotated rows and how many come before the held-out ones.
    Held-out rows go last so the build set is a view, not a copy of a large matrix.
    """
    n_held = 0 if queries is not None else min(tune_queries, len(ids) // 10)
    held = np.random.default_rng(seed + 1).choice(len(ids), n_held, replace=False)
    order = np.r_[np.setdiff1d(np.arange(len(ids)), held), held].astype(np.int64)
    return ids[order], _rotate_chunked(vecs, rot, order), len(ids) - n_held


def default_nlist(n_build: int, n: int) -> int:
    """About 4 sqrt(n) clusters, and at least 4 vectors per cluster."""
    return max(1, min(n_build // 4, round(4 * np.sqrt(n))))


def _rotate_chunked(vecs: np.ndarray, rotation: Rotation,
                   rows: np.ndarray | None = None) -> np.ndarray:
    """Rows of ``vecs`` (``rows`` in that order, default all) rotated, float32, converted a
    chunk at a time (the input may be float16 or memory-mapped)."""
    rows = np.arange(len(vecs)) if rows is None else rows
    out = np.empty((len(rows), rotation.dim), np.float32)
    for start in range(0, len(rows), 65536):
        out[start:start + 65536] = rotation.apply(vecs[rows[start:start + 65536]])
    return out
