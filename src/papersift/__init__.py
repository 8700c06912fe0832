"""papersift: self-hosted research paper discovery.

>>> import papersift
>>> lib = papersift.open("papersift-data")                       # doctest: +SKIP
>>> lib.search("matryoshka embeddings", mode="hybrid")            # doctest: +SKIP
"""

from __future__ import annotations

__version__ = "0.1.0"

from papersift.library import Library, open
from papersift.papers import Paper
from papersift.ranking import Filters, SearchResult
from papersift.settings import Settings

__all__ = ["Filters", "Library", "Paper", "SearchResult", "Settings", "__version__", "open"]
