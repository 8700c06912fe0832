"""The vector side of papersift: stored embeddings, nested rotation and nearest-neighbour indexes.

The library keeps exact search below :data:`ADAPTIVE_THRESHOLD` vectors (a full pass is a few
milliseconds there and needs no tuning) and the adaptive staged index above it.
"""

from __future__ import annotations

import numpy as np

from papersift.vectors.adaptive import AdaptiveIndex, Params
from papersift.vectors.exact import ExactIndex, exact_search
from papersift.vectors.index import Hits, VectorIndex
from papersift.vectors.nested import Rotation, fit_rotation, prefix_recall
from papersift.vectors.store import VectorStore

#: Collections at least this large get the adaptive index; smaller ones exact search.
ADAPTIVE_THRESHOLD = 20_000

__all__ = [
    "ADAPTIVE_THRESHOLD",
    "AdaptiveIndex",
    "ExactIndex",
    "Hits",
    "Params",
    "Rotation",
    "VectorIndex",
    "VectorStore",
    "build_index",
    "choose_index",
    "exact_search",
    "fit_rotation",
    "prefix_recall",
]


def choose_index(n: int) -> type[ExactIndex] | type[AdaptiveIndex]:
    """The index class for a collection of ``n`` vectors."""
    return AdaptiveIndex if n >= ADAPTIVE_THRESHOLD else ExactIndex


def build_index(ids: np.ndarray, vecs: np.ndarray, *, recall: float = 0.95,
                threshold: int = ADAPTIVE_THRESHOLD) -> ExactIndex | AdaptiveIndex:
    """Build the right index for ``vecs`` (exact below ``threshold`` rows, else adaptive
    tuned to ``recall``@10)."""
    if len(ids) < threshold:
        index = ExactIndex(vecs.shape[1])
        index.add(ids, vecs)
        return index
    return AdaptiveIndex.build(ids, vecs, recall=recall)
