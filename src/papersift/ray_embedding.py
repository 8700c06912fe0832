"""The embedding job with its encoding spread over a Ray cluster (``papersift embed --ray``).

Only the encoding moves. This process (the *driver*) still runs the ``embed`` job under
the job's lock, asks the store which papers lack a current vector (newest listing day
first), and writes every vector and every "embedded" record itself, so the library needs
no network access and one process embeds at a time, as with local embedding.

Same vectors as local embedding. The ONNX encoders run each text alone, so a vector
depends on its text and the model file only (:mod:`papersift.encoders.onnx_runtime`): the
workers run the driver's own model file and tokenizer (shipped once through Ray's object
store and checked by sha256), so they need no model cache, no export and no download, and
the vectors are the bits this machine would compute, however a run is cut. The driver still
forms local embedding's chunks (:func:`~papersift.embedding.chunk_papers` papers in the
store's order, the first small, each sorted longest first by
:func:`papersift.embedding.ordered_chunk`) and cuts them into ``batch_size`` slices; one Ray
Data row is one such slice, and a worker encodes it in one encoder call.

Resumable the same way. Finished batches come back as they finish; a chunk is written as
soon as it and every chunk before it are complete, so the papers embedded at any moment
are a prefix of the store's order in whole chunks. A run killed anywhere resumes with what
is missing, and the vectors are those of an uninterrupted run.

Each worker is a Ray Data actor that loads the encoder once and keeps it for the whole
pass; a pass covers up to ``PASS_PAPERS`` papers (one Ray Data execution), so a long
backlog loads the model once per pass per worker (about a second each time).

Ray is an optional dependency (``pip install "papersift[ray]"``): nothing here imports
it until a Ray run starts.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from papersift.backends.base import Change, DenseRanker, PaperStore
from papersift.embedding import Progress, chunk_papers, finish, ordered_chunk, pending
from papersift.encoders import Encoder, EncoderError
from papersift.errors import LibraryError
from papersift.jobs import JobContext

__all__ = [
    "PASS_PAPERS",
    "BatchEncoder",
    "EncoderBundle",
    "RayOptions",
    "RayUnavailable",
    "embed_with_ray",
    "import_ray",
]

log = logging.getLogger("papersift.ray_embedding")

#: Papers per Ray Data execution; the driver holds one pass's texts at a time.
PASS_PAPERS = 65_536
#: Ray's switch for single-machine mode (every server on 127.0.0.1), named for macOS/Windows.
SINGLE_MACHINE = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
RAY_HINT = 'pip install "papersift[ray]" (on this machine and on every Ray worker)'


class RayUnavailable(LibraryError):
    """The Ray cluster cannot be reached or cannot run the encoder (the message says why)."""


@dataclass(frozen=True, slots=True)
class RayOptions:
    """Where and how wide to encode.

    ``address``: ``auto`` (the cluster this machine belongs to: ``RAY_ADDRESS`` or the one
    ``ray start`` left here), ``local`` (start a private Ray instance on loopback for this
    run, with ``local_cpus`` CPUs, default all), or a cluster address (``host:6379``,
    ``ray://host:10001``). A process already connected to Ray (``ray.init`` done) uses its
    connection and leaves it open. ``workers``: encoder actors (default: one per
    ``worker_cpus`` CPUs of the cluster); ``worker_cpus``: CPUs and encoder threads each.
    """

    address: str = "auto"
    workers: int | None = None
    worker_cpus: int = 1
    local_cpus: int | None = None


def import_ray() -> ModuleType:
    """The ``ray`` module, or an ImportError that says how to install it."""
    try:
        import ray
        import ray.data
    except ImportError as error:
        raise ImportError(f"embedding with --ray needs Ray, which is not installed "
                          f"({error}): {RAY_HINT}") from error
    return ray


@dataclass(frozen=True)
class EncoderBundle:
    """What a worker needs to encode exactly as this machine does: the encoder's ONNX
    model and tokenizer files as bytes, with the model's sha256 to check them by."""

    name: str
    dim: int
    max_tokens: int
    model: bytes
    tokenizer: bytes
    sha256: str

    @classmethod
    def of(cls, encoder: Encoder) -> EncoderBundle:
        """The bundle of a loaded ONNX encoder (the bundled MiniLM ones)."""
        model_path = getattr(encoder, "model_path", None)
        tokenizer_path = getattr(encoder, "tokenizer_path", None)
        if model_path is None or tokenizer_path is None:
            raise EncoderError(
                f"--ray ships the encoder's ONNX model to the workers, and {encoder.name!r} "
                "is not an ONNX encoder: use the bundled one (minilm or minilm-fp32), or "
                "embed without --ray")
        model = Path(model_path).read_bytes()
        return cls(name=encoder.name, dim=encoder.dim, max_tokens=encoder.max_tokens,
                   model=model, tokenizer=Path(tokenizer_path).read_bytes(),
                   sha256=hashlib.sha256(model).hexdigest())

    def load(self, threads: int) -> Encoder:
        """The encoder, on this (worker) machine, running ``threads`` texts at once (one
        thread each)."""
        from papersift.encoders.onnx_runtime import OnnxEncoder

        if hashlib.sha256(self.model).hexdigest() != self.sha256:
            raise EncoderError(f"the {self.name} model arrived damaged (sha256 differs)")
        # onnxruntime and tokenizers read the files once; the folder can go right after.
        with tempfile.TemporaryDirectory(prefix="papersift-encoder-") as folder:
            model, tokenizer = Path(folder) / "model.onnx", Path(folder) / "tokenizer.json"
            model.write_bytes(self.model)
            tokenizer.write_bytes(self.tokenizer)
            return OnnxEncoder(model, tokenizer, name=self.name, dim=self.dim,
                               max_tokens=self.max_tokens, threads=threads)


class BatchEncoder:
    """The Ray Data transform run by each worker actor: the encoder is loaded once, when
    the actor starts; each call encodes rows of ``{chunk, part, texts}``, one encoder
    batch per row, into ``{chunk, part, vectors}`` (float32 bytes, row-major)."""

    def __init__(self, bundle: list[Any], threads: int) -> None:
        # The bundle's reference comes wrapped in a list, so that Ray passes the reference
        # (the actor fetches the bytes once) instead of copying them into each actor's
        # creation arguments.
        ray = import_ray()
        found = ray.get(bundle[0]) if isinstance(bundle[0], ray.ObjectRef) else bundle[0]
        self.encoder = found.load(threads)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = []
        for texts in batch["texts"]:
            rows = [str(text) for text in texts]
            encoded = self.encoder.encode(rows, batch_size=max(len(rows), 1))
            vectors.append(np.ascontiguousarray(encoded, dtype=np.float32).tobytes())
        return {"chunk": batch["chunk"], "part": batch["part"],
                "vectors": np.array(vectors, dtype=object)}


class _InOrder:
    """Finished batches of one pass, written a whole chunk at a time, chunks in order."""

    def __init__(self, chunks: list[list[Change]], batch_size: int, dim: int,
                 write: Callable[[list[Change], np.ndarray], None]) -> None:
        self.chunks, self.batch_size, self.dim, self.write = chunks, batch_size, dim, write
        self.parts: dict[int, dict[int, np.ndarray]] = {}
        self.next = 0  # the first chunk not written yet

    def add(self, chunk: int, part: int, vectors: np.ndarray) -> int:
        """Keep one finished batch; returns how many papers were written because of it."""
        expected = len(self.chunks[chunk][part * self.batch_size:][: self.batch_size])
        if vectors.shape != (expected, self.dim):
            raise RayUnavailable(f"a Ray worker returned {vectors.shape[0]} vectors of "
                                 f"{vectors.shape[1]} dimensions for a batch of {expected}")
        self.parts.setdefault(chunk, {})[part] = vectors
        written = 0
        while self.next < len(self.chunks) and self._complete(self.next):
            parts = self.parts.pop(self.next)
            self.write(self.chunks[self.next], np.concatenate([parts[p] for p in sorted(parts)]))
            written += len(self.chunks[self.next])
            self.next += 1
        return written

    def _complete(self, chunk: int) -> bool:
        batches = -(-len(self.chunks[chunk]) // self.batch_size)
        return len(self.parts.get(chunk, ())) == batches

    @property
    def finished(self) -> bool:
        return self.next == len(self.chunks)


@contextmanager
def connected(options: RayOptions) -> Iterator[ModuleType]:
    """Ray, connected as ``options`` say for the length of the block."""
    # papersift never reports usage anywhere; Ray would ask to, for a cluster it starts.
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if options.address == "local":
        # A private instance: Ray's single-machine mode binds every server to 127.0.0.1
        # (otherwise Ray listens on all interfaces). Ray reads it when it is imported.
        os.environ.setdefault(SINGLE_MACHINE, "0")
    ray = import_ray()
    if ray.is_initialized():  # the caller connected (a notebook, a test): theirs to close
        yield ray
        return
    settings: dict[str, Any] = {"logging_level": logging.WARNING, "log_to_driver": False}
    if options.address == "local":
        # Token authentication stays on; Ray's note saying how to turn it off is not for
        # the people running papersift.
        logging.getLogger("ray._private.authentication.authentication_token_setup").setLevel(
            logging.ERROR)
        settings.update(address="local", num_cpus=options.local_cpus, include_dashboard=False)
    else:
        _answers(options.address)
        settings["address"] = options.address
    try:
        ray.init(**settings)
    except (ConnectionError, RuntimeError, ValueError) as error:
        where = "a local Ray instance" if options.address == "local" else (
            f"the Ray cluster at {options.address!r}")
        raise RayUnavailable(
            f"cannot reach {where}: {str(error).splitlines()[0]} (start one with "
            "`ray start --head`, then pass its address, or use --ray local)") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def _answers(address: str, timeout: float = 5.0) -> None:
    """Fail at once when nothing listens at a ``host:port`` address (Ray itself would retry
    for minutes); ``auto`` and ``ray://`` addresses are left to Ray."""
    host, _, port = address.rpartition(":")
    if "://" in address or not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as error:
        raise RayUnavailable(
            f"nothing answers at the Ray address {address!r} ({error.strerror or error}): "
            "start the head with `ray start --head` and pass the address it prints") from None


def _quiet(ray: ModuleType) -> None:
    """No progress bars or execution plans from Ray Data: the job reports progress."""
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # "disabled"


def embed_with_ray(store: PaperStore, dense: DenseRanker, encoder: Encoder, ctx: JobContext,
                   *, options: RayOptions, batch_size: int = 64,
                   progress: Progress | None = None) -> int:
    """Embed what the dense ranker lacks, encoding on a Ray cluster; returns how many
    papers were embedded. Runs inside the ``embed`` job (the caller holds its lock)."""
    bundle = EncoderBundle.of(encoder)
    total = pending(store, dense)

    def report(now: int) -> None:
        ctx.progress(now, max(total, now))
        if progress is not None:
            progress("embed", now, max(total, now))

    ctx.progress(0, total, unit="papers", message=f"with {encoder.name} on Ray")
    done = 0
    with connected(options) as ray:
        _quiet(ray)
        workers = _workers(ray, options)
        ctx.progress(0, total, message=f"with {encoder.name} on Ray, {workers} workers")
        shipped = ray.put(bundle)
        index = 0  # the run's chunks are cut as local embedding cuts them (small first)
        while not ctx.stopping:
            target = store.seq  # read first: papers written after this have a higher seq
            sizes = [chunk_papers(batch_size, index)]
            while sum(sizes) < PASS_PAPERS:
                sizes.append(chunk_papers(batch_size, index + len(sizes)))
            changes = store.unembedded(dense.name, limit=sum(sizes))
            if not changes:
                finish(store, dense, target)
                break
            chunks, start = [], 0
            for size in sizes:
                if start >= len(changes):
                    break
                chunks.append(ordered_chunk(encoder, changes[start : start + size]))
                start += size
            index += len(chunks)
            done += _run_pass(ray, chunks, store, dense, ctx, report, start=done,
                              shipped=shipped, workers=workers, threads=options.worker_cpus,
                              batch_size=batch_size)
    if done and not ctx.stopping:
        ctx.progress(done, total, message="building the vector index")
        dense.prepare()
    return done


def _workers(ray: ModuleType, options: RayOptions) -> int:
    if options.workers is not None:
        return max(options.workers, 1)
    cpus = float(ray.cluster_resources().get("CPU", 1))
    return max(int(cpus // max(options.worker_cpus, 1)), 1)


def _run_pass(ray: ModuleType, chunks: list[tuple[list[Change], list[str]]],
              store: PaperStore, dense: DenseRanker, ctx: JobContext,
              report: Callable[[int], None], *, start: int, shipped: Any, workers: int,
              threads: int, batch_size: int) -> int:
    """Encode one pass's chunks on the cluster and write them in order; returns how many
    papers were written (fewer when the job is asked to stop)."""
    def write(changes: list[Change], vectors: np.ndarray) -> None:
        keys = np.fromiter((c.key for c in changes), dtype=np.int64, count=len(changes))
        dense.write(keys, vectors)
        store.mark_embedded(dense.name, [(c.key, c.seq) for c in changes])

    rows = [{"chunk": c, "part": p, "texts": texts[first : first + batch_size]}
            for c, (_, texts) in enumerate(chunks)
            for p, first in enumerate(range(0, len(texts), batch_size))]
    dataset = ray.data.from_items(rows, override_num_blocks=len(rows)).map_batches(
        BatchEncoder, batch_size=1, batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=threads,
        fn_constructor_kwargs={"bundle": [shipped], "threads": threads})
    writer = _InOrder([changes for changes, _ in chunks], batch_size, dense.dim, write)
    encoded = written = 0
    started = time.monotonic()
    for row in dataset.iter_rows():
        vectors = np.frombuffer(row["vectors"], dtype=np.float32).reshape(-1, dense.dim)
        written += writer.add(int(row["chunk"]), int(row["part"]), vectors)
        encoded += len(vectors)
        report(start + encoded)
        if ctx.stopping:
            return written
    if not writer.finished:
        raise RayUnavailable(f"the Ray run ended with {writer.next} of {len(chunks)} chunks "
                             "complete; run it again to embed the rest")
    log.info("Ray pass: %d papers in %.1f s on %d workers", written,
             time.monotonic() - started, workers)
    return written
