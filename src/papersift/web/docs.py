"""The API docs at ``/docs``: Swagger UI served from this server, never from a CDN.

Swagger UI's files come from the ``swagger-ui-bundle-v2`` package (Apache-2.0, part of the
``server`` extra); the page and its start-up script are ours, so the page passes the
site's Content-Security-Policy (no inline script) and works on a machine without internet.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["install", "swagger_files"]

ASSETS = "/static/swagger-ui"

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{assets}/swagger-ui.css">
<link rel="icon" type="image/png" href="{assets}/favicon-32x32.png">
</head>
<body>
<div id="swagger-ui" data-openapi="{openapi}"></div>
<script src="{assets}/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body>
</html>
"""

_MISSING = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
</head><body><h1>{title}</h1><p>Swagger UI is not installed here
(<code>pip install 'papersift[server]'</code>); the schema is at
<a href="{openapi}">{openapi}</a>.</p></body></html>
"""


def swagger_files() -> Path | None:
    """Where the installed Swagger UI files are, or None when the package is missing."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return None
    path = Path(str(swagger_ui_path))
    return path if (path / "swagger-ui-bundle.js").exists() else None


def install(app: FastAPI) -> None:
    """Serve Swagger UI's files under ``/static/swagger-ui`` and the docs page at ``/docs``
    (create the app with ``docs_url=None`` so FastAPI's CDN page is not added)."""
    files = swagger_files()
    openapi = app.openapi_url or "/openapi.json"
    title = f"{app.title} docs"
    page = (_PAGE if files else _MISSING).format(title=title, assets=ASSETS, openapi=openapi)
    if files is not None:
        app.mount(ASSETS, StaticFiles(directory=str(files)), name="swagger-ui")

    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs() -> HTMLResponse:
        return HTMLResponse(page)
