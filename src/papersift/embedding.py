"""The embedding job: encode every paper that has no current vector, newest first.

The paper store knows which papers have a current vector of each encoder (the change
number a vector was made from), so embedding picks the papers that lack one, newest
listing day first: today's papers become searchable by meaning within minutes of a fresh
install, and vectors imported from elsewhere count as done. Each stored chunk is recorded
after its vectors are written, so a run stopped anywhere (Ctrl-C, SIGKILL, a server
shutting down) resumes with what is still missing. Progress is reported after every encoder
batch, so a person sees it move every few seconds, with a rate and an ETA.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np

from papersift.backends.base import Change, DenseRanker, PaperStore
from papersift.encoders import Encoder
from papersift.jobs import JobContext
from papersift.papers import document_text

__all__ = [
    "BATCHES_PER_CHUNK",
    "Progress",
    "chunk_papers",
    "embed_pending",
    "finish",
    "ordered_chunk",
    "pending",
]

log = logging.getLogger("papersift.embedding")

#: ``progress(task, done, total)``: called as long work advances; total may be unknown.
Progress = Callable[[str, int, int | None], None]
#: Encoder batches per stored chunk: chunks stay few and large, progress stays frequent.
#: A run's first chunks are smaller (1, 2, 4, 8 batches), so the newest papers are
#: searchable by meaning after the first batch, not after the first 16.
BATCHES_PER_CHUNK = 16


def pending(store: PaperStore, dense: DenseRanker) -> int:
    """Papers without a current vector."""
    return store.count_unembedded(dense.name)


def embed_pending(store: PaperStore, dense: DenseRanker, encoder: Encoder, ctx: JobContext,
                  *, batch_size: int = 64, progress: Progress | None = None) -> int:
    """Embed what the dense ranker lacks; returns how many papers were embedded."""
    total = pending(store, dense)
    ctx.progress(0, total, unit="papers", message=f"with {encoder.name}")
    done, last_log, chunks = 0, time.monotonic(), 0
    while not ctx.stopping:
        target = store.seq  # read first: papers written after this have a higher seq
        changes = store.unembedded(dense.name, limit=chunk_papers(batch_size, chunks))
        chunks += 1
        if not changes:
            finish(store, dense, target)
            break
        # A batch at a time, so progress moves every few seconds.
        changes, texts = ordered_chunk(encoder, changes)
        parts: list[np.ndarray] = []
        for start in range(0, len(texts), batch_size):
            if ctx.stopping:
                break
            parts.append(encoder.encode(texts[start : start + batch_size],
                                        batch_size=batch_size))
            now = done + sum(len(p) for p in parts)
            ctx.progress(now, max(total, now))
            if progress is not None:
                progress("embed", now, max(total, now))
        if not parts:
            break
        vectors = np.concatenate(parts)
        kept = changes[: len(vectors)]
        keys = np.fromiter((c.key for c in kept), dtype=np.int64, count=len(kept))
        dense.write(keys, vectors)
        store.mark_embedded(dense.name, [(c.key, c.seq) for c in kept])
        done += len(kept)
        if time.monotonic() - last_log >= 60:
            log.info("%s", ctx.state.describe())
            last_log = time.monotonic()
    if done and not ctx.stopping:
        ctx.progress(done, total, message="building the vector index")
        if progress is not None:
            progress("build index", 0, None)
        dense.prepare()
    return done


def chunk_papers(batch_size: int, index: int) -> int:
    """How many papers a run's ``index``-th stored chunk holds (counting from 0): 1, 2, 4
    and 8 batches, then :data:`BATCHES_PER_CHUNK` (Ray embedding cuts the same chunks)."""
    return batch_size * min(BATCHES_PER_CHUNK, 2 ** min(index, 16))


def ordered_chunk(encoder: Encoder, changes: list[Change]) -> tuple[list[Change], list[str]]:
    """A chunk's papers and texts in the order they are encoded, ``batch_size`` at a time:
    longest first, so progress after each batch counts about equal work, and encoders that
    pad a batch to its longest text (the torch reference) pad little. Ray embedding cuts
    the same batches. (The ONNX encoders' vectors do not depend on batches at all.)
    """
    texts = [document_text(c.paper.title, c.paper.abstract) if c.paper else "" for c in changes]
    order = _longest_first(encoder, texts)
    return [changes[i] for i in order], [texts[i] for i in order]


def _longest_first(encoder: Encoder, texts: list[str]) -> list[int]:
    """Positions of ``texts``, longest first: in tokens where the encoder can count them,
    else in characters."""
    token_ids = getattr(encoder, "token_ids", None)
    lengths = [len(t) for t in token_ids(texts)] if token_ids else [len(t) for t in texts]
    return sorted(range(len(texts)), key=lambda i: lengths[i], reverse=True)


def finish(store: PaperStore, dense: DenseRanker, target: int) -> None:
    """Every paper written up to ``target`` has its vector: drop removed papers' vectors and
    record the change number the vectors now include."""
    removed = store.removed_since(max(dense.applied_seq, 0))
    if removed:
        dense.forget(np.asarray(removed, dtype=np.int64))
    dense.mark_applied(target)
