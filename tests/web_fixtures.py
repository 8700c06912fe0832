"""Small real libraries for the web tests: arXiv listings, Daily Papers, one XSS paper."""

from __future__ import annotations

import gzip
import json
from datetime import date
from itertools import islice
from pathlib import Path

from papersift.library import Library
from papersift.papers import Links, Paper, normalize_id, normalize_text

XSS_ID = "2503.99999"
XSS_TITLE = 'Attack <script>alert("title")</script> & <b>bold</b> "quotes"'
XSS_ABSTRACT = (
    "We test escaping of gaussian splatting abstracts. <script>alert(1)</script> "
    "<img src=x onerror=alert(2)> The bound is $\\mathcal{O}(T^{-1/2})$ & more."
)


def arxiv_papers(path: Path, n: int) -> list[Paper]:
    """The first ``n`` papers of the 75k arXiv listing dump."""
    papers = []
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in islice(lines, n):
            row = json.loads(line)
            papers.append(Paper(
                id=row["id"], title=normalize_text(row["title"]),
                abstract=normalize_text(row["abstract"]), authors=tuple(row["authors"]),
                published=date.fromisoformat(row["listing_date"]),
                categories=tuple(row["categories"]), comment=row.get("comment"),
                links=Links(abs=row.get("abs_url"), pdf=row.get("pdf_url")),
            ).with_defaults())
    return papers


def daily_papers(path: Path, n: int) -> list[Paper]:
    """The first ``n`` Hugging Face Daily Papers entries (with upvotes)."""
    rows = json.loads(path.read_text(encoding="utf-8"))
    papers = []
    for key, row in islice(rows.items(), n):
        ident, version = normalize_id(key)
        papers.append(Paper(
            id=ident, version=version, title=normalize_text(row["title"]),
            abstract=normalize_text(row["abstract"]), authors=tuple(row.get("authors") or ()),
            published=date.fromisoformat(row["publication_date"][:10]),
            upvotes=int(row.get("upvotes") or 0),
        ).with_defaults())
    return papers


def xss_paper(published: date) -> Paper:
    """A paper whose title and abstract try to inject markup and script."""
    return Paper(
        id=XSS_ID, title=XSS_TITLE, abstract=XSS_ABSTRACT,
        authors=("Mallory <script>alert(3)</script>", "Alice Example"),
        published=published, categories=("cs.CR", "cs.CV"), upvotes=7,
        organization="<i>Evil</i> Org",
    ).with_defaults()


def build_library(root: Path, arxiv: Path, daily: Path, *, n_arxiv: int = 300,
                  n_daily: int = 200) -> Library:
    """A library in ``root`` with real papers and the XSS paper (on the newest arXiv day)."""
    library = Library(root)
    listing = arxiv_papers(arxiv, n_arxiv)
    newest = max(p.published for p in listing if p.published)
    library.add([*listing, *daily_papers(daily, n_daily), xss_paper(newest)])
    return library


_BUILT: dict[tuple[str, ...], Path] = {}


def library_copy(cache_dir: Path, target: Path, arxiv: Path, daily: Path) -> Library:
    """A fresh copy of the test library (built once per session, copied per test)."""
    import shutil

    key = (str(arxiv), str(daily))
    if key not in _BUILT:
        build_library(cache_dir / "library", arxiv, daily).close()
        _BUILT[key] = cache_dir / "library"
    shutil.copytree(_BUILT[key], target)
    return Library(target)


class RunningServer:
    """uvicorn serving an app on a free loopback port, in a background thread."""

    def __init__(self, app: object) -> None:
        import socket
        import threading

        import uvicorn

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = int(sock.getsockname()[1])
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")  # type: ignore[arg-type]
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> RunningServer:
        import time

        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def feed_library_copy(cache_dir: Path, target: Path, arxiv: Path, vectors: Path,
                      n: int = 2000, **options: object) -> Library:
    """A copy of a library of the first ``n`` arXiv papers with their precomputed vectors
    (the shared sample's, imported: nothing is embedded), built once per session."""
    import shutil

    key = ("feed", str(arxiv), str(n))
    if key not in _BUILT:
        library = Library(cache_dir / "feed-library")
        library.add(arxiv_papers(arxiv, n))
        library.import_vectors(vectors, encoder="minilm-l6-int8")
        library.close()
        _BUILT[key] = cache_dir / "feed-library"
    shutil.copytree(_BUILT[key], target)
    return Library(target, **options)  # type: ignore[arg-type]
