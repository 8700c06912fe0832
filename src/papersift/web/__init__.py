"""The web faces of a library: HTML pages, JSON twins, Atom feeds, an arXiv-style API.

Needs the ``server`` extra (FastAPI, uvicorn, Jinja2)::

    pip install "papersift[server]"
"""

from __future__ import annotations

try:
    import fastapi  # noqa: F401
    import jinja2  # noqa: F401
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError(
        f'papersift.web needs {err.name}: pip install "papersift[server]"'
    ) from None

from papersift.web.app import WebSettings, create_app

__all__ = ["WebSettings", "create_app"]
