"""The atlas: a map of the library (2-D layout, topics in areas, labels) and its trends.

- :mod:`~papersift.atlas.layout`: UMAP of the vectors into the unit square; new papers
  placed by their nearest neighbours.
- :mod:`~papersift.atlas.topics`: spherical k-means topics nested in areas.
- :mod:`~papersift.atlas.terms`: each cluster's distinctive terms (class-based TF-IDF).
- :mod:`~papersift.atlas.trends`: papers per week per group, rising topics.
- :mod:`~papersift.atlas.store`: the map on disk under ``<library>/map/``.
- :mod:`~papersift.atlas.render`: a publication-quality picture (matplotlib).
- :mod:`~papersift.atlas.library_map`: the glue to a :class:`~papersift.library.Library`.

The layout and the picture need the ``map`` extra (umap-learn, scikit-learn, matplotlib);
reading a stored map and the trends need numpy alone.
"""

from papersift.atlas.store import Area, MapError, PaperMap, Topic

__all__ = ["EXTRA_HINT", "Area", "MapError", "PaperMap", "Topic"]

#: What to install when an optional package of the map is missing.
EXTRA_HINT = 'pip install "papersift[map]"'
