"""The embedded backend: a library directory holding everything one machine needs.

```
<library>/catalog.sqlite          the paper store and the user store (papersift.catalog)
<library>/lexical/                the tantivy index (papersift.lexical)
<library>/vectors/<encoder>/      one encoder's vectors and index (papersift.semantic)
<library>/locks/                  named locks shared by the processes using the library
```
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from papersift.backends.base import (
    CommunityStore,
    DenseRanker,
    LexicalRanker,
    PaperStore,
    UserStore,
)
from papersift.catalog import Catalog
from papersift.lexical import LexicalIndex
from papersift.semantic import SemanticIndex
from papersift.settings import Settings

__all__ = ["EmbeddedBackend", "open_directory"]


@dataclass
class EmbeddedBackend:
    """A paper store, its lexical ranker, and its dense rankers (one per encoder)."""

    location: str
    store: PaperStore
    users: UserStore
    community: CommunityStore
    lexical: LexicalRanker
    settings: Settings
    root: Path
    _dense: dict[str, DenseRanker] = field(default_factory=dict)

    def dense(self, name: str, dim: int) -> DenseRanker:
        """The vectors of encoder ``name`` (created empty when there are none yet)."""
        if name not in self._dense:
            self._dense[name] = SemanticIndex(
                self.root / "vectors" / name, name=name, dim=dim, store=self.store,
                exact_below=self.settings.exact_below, recall=self.settings.recall_target,
            )
        return self._dense[name]

    def stored_encoders(self) -> dict[str, int]:
        """Encoders with vectors stored here, and their dimensions (read without loading
        any model)."""
        found: dict[str, int] = {}
        folder = self.root / "vectors"
        for manifest in sorted(folder.glob("*/manifest.json")) if folder.is_dir() else []:
            try:
                found[manifest.parent.name] = int(json.loads(manifest.read_text())["dim"])
            except (ValueError, KeyError, OSError):
                continue
        return found

    def close(self) -> None:
        self.store.close()


def open_directory(path: str, *, settings: Settings | None = None) -> EmbeddedBackend:
    root = Path(path)
    root.mkdir(parents=True, exist_ok=True)
    store = Catalog(root / "catalog.sqlite")
    return EmbeddedBackend(location=str(root), store=store, users=store, community=store,
                           lexical=LexicalIndex(root / "lexical"),
                           settings=settings or Settings(), root=root)
