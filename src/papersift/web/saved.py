"""A member's papers: ratings, saving into collections, collections (notes, exports,
imports) and the "my papers" page.

Every change needs a signed-in member (session with CSRF token, or an API token) and takes
a token from the member's bucket (``ratings_per_minute``). HTML forms redirect back to the
page they came from; the ``/api`` calls answer JSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from papersift.people import PersonError, User
from papersift.web import auth
from papersift.web.app import WebState, state
from papersift.web.models import paper_out
from papersift.web.params import paper_path
from papersift.web.people_models import (
    CollectionOut,
    CollectionPage,
    ImportOut,
    MyPapersPage,
    RatingIn,
    RatingOut,
    SaveIn,
    collection_out,
    user_out,
)

router = APIRouter()
Web = Annotated[WebState, Depends(state)]
Csrf = Annotated[str | None, Form()]
Next = Annotated[str | None, Query(max_length=500, description="Where to go back to.")]
MAX_UPLOAD = 5_000_000


def member(web: WebState, request: Request, csrf: str | None = None) -> User:
    """The member making a change, with a token taken from their bucket."""
    found = auth.require_change(web, request, csrf)
    assert found.user is not None
    per_minute = web.settings.ratings_per_minute
    wait = web.library.take_token(f"member:{found.user.id}", max(int(per_minute), 1),
                                  per_minute)
    if wait > 0:
        raise HTTPException(429, "too many changes at once; try again shortly",
                            headers={"Retry-After": str(int(wait) + 1)})
    return found.user


def _back(next_path: str | None, fallback: str) -> RedirectResponse:
    path = next_path if next_path and next_path.startswith("/") and not next_path.startswith(
        ("//", "/\\")) else fallback
    return RedirectResponse(path, status_code=303)


@contextmanager
def _answering() -> Iterator[None]:
    """A person's mistake answers 400 with its message; an unknown paper or collection 404."""
    try:
        yield
    except PersonError as error:
        raise HTTPException(400, str(error)) from None
    except KeyError as error:
        raise HTTPException(404, f"not found: {error.args[0]}") from None


# -- ratings and saves ------------------------------------------------------------------
@router.post("/papers/{paper_id:path}/rate", include_in_schema=False)
def rate_form(request: Request, web: Web, paper_id: str, value: Annotated[int, Form()],
              csrf: Csrf = None, next: Next = None) -> Response:
    """Thumbs up (1), down (-1) or undo (0) from a plain form."""
    user = member(web, request, csrf)
    with _answering():
        web.library.rate(user, paper_id, value)
    return _back(next, paper_path(paper_id))


@router.post("/api/papers/{paper_id:path}/rating", response_model=RatingOut, tags=["people"])
def rate_api(request: Request, web: Web, paper_id: str, body: RatingIn) -> RatingOut:
    """Rate a paper for your feed only (private): 1 up, -1 down, 0 none."""
    user = member(web, request)
    with _answering():
        web.library.rate(user, paper_id, body.value)
    return RatingOut(id=paper_id, rating=body.value)


@router.post("/papers/{paper_id:path}/save", include_in_schema=False)
def save_form(request: Request, web: Web, paper_id: str, csrf: Csrf = None,
              collection: Annotated[str | None, Form()] = None,
              note: Annotated[str | None, Form(max_length=2000)] = None,
              remove: Annotated[str | None, Form()] = None, next: Next = None) -> Response:
    """Save a paper (into "Saved" unless a collection is chosen), or remove it."""
    user = member(web, request, csrf)
    target = int(collection) if collection and collection.isdigit() else None
    if remove and target is not None:
        web.library.unsave(user, paper_id, target)
    else:
        with _answering():
            web.library.save(user, paper_id, collection_id=target, note=note)
    return _back(next, paper_path(paper_id))


@router.post("/api/papers/{paper_id:path}/save", response_model=CollectionOut, tags=["people"])
def save_api(request: Request, web: Web, paper_id: str, body: SaveIn) -> CollectionOut:
    """Save a paper into a collection (default: your "Saved" collection), with a note."""
    user = member(web, request)
    with _answering():
        saved = web.library.save(user, paper_id, collection_id=body.collection, note=body.note)
    return collection_out(saved)


# -- my papers --------------------------------------------------------------------------
def _mine(web: WebState, user: User) -> MyPapersPage:
    found = web.library.activity(user)
    return MyPapersPage(user=user_out(user),
                        collections=[collection_out(c) for c in found.collections],
                        liked=[paper_out(p) for p in found.liked],
                        disliked=[paper_out(p) for p in found.disliked],
                        upvoted=[paper_out(p) for p in found.upvoted])


@router.get("/me", response_class=HTMLResponse, include_in_schema=False)
def my_papers(request: Request, web: Web) -> HTMLResponse:
    """My papers (HTML): collections, liked and upvoted papers."""
    found = auth.need_user(web, request)
    assert found.user is not None
    return web.render(request, "my_papers.html", page=_mine(web, found.user), nav="me")


@router.get("/api/me/papers", response_model=MyPapersPage, tags=["people"])
def my_papers_api(request: Request, web: Web) -> MyPapersPage:
    """Your collections and the papers you rated or upvoted. HTML: `/me`."""
    found = auth.need_user(web, request)
    assert found.user is not None
    return _mine(web, found.user)


# -- collections ------------------------------------------------------------------------
@router.post("/collections", include_in_schema=False)
def create_form(request: Request, web: Web, name: Annotated[str, Form(max_length=300)],
                csrf: Csrf = None) -> Response:
    user = member(web, request, csrf)
    with _answering():
        made = web.library.create_collection(user, name)
    return RedirectResponse(f"/collections/{made.id}", status_code=303)


@router.post("/api/collections", response_model=CollectionOut, status_code=201,
             tags=["people"])
def create_api(request: Request, web: Web,
               name: Annotated[str, Query(max_length=300)]) -> CollectionOut:
    """Create a collection (or get yours of that name)."""
    user = member(web, request)
    with _answering():
        return collection_out(web.library.create_collection(user, name))


@router.get("/api/collections", response_model=list[CollectionOut], tags=["people"])
def list_api(request: Request, web: Web) -> list[CollectionOut]:
    """Your collections, the most recently changed first. HTML: `/me`."""
    found = auth.need_user(web, request)
    assert found.user is not None
    return [collection_out(c) for c in web.library.collections(found.user)]


def _view(web: WebState, user: User, collection_id: int) -> CollectionPage:
    found = web.library.collection(user, collection_id)
    if found is None:
        raise HTTPException(404, f"you have no collection {collection_id}")
    return CollectionPage.of(found)


@router.get("/collections/{collection_id}", response_class=HTMLResponse,
            include_in_schema=False)
def collection_page(request: Request, web: Web, collection_id: int) -> HTMLResponse:
    """A collection (HTML): papers with notes, export, import, rename, delete."""
    found = auth.need_user(web, request)
    assert found.user is not None
    return web.render(request, "collection.html", page=_view(web, found.user, collection_id),
                      nav="me")


@router.get("/api/collections/{collection_id}", response_model=CollectionPage,
            tags=["people"])
def collection_api(request: Request, web: Web, collection_id: int) -> CollectionPage:
    """One of your collections with its papers and notes. HTML: `/collections/{id}`."""
    found = auth.need_user(web, request)
    assert found.user is not None
    return _view(web, found.user, collection_id)


@router.get("/api/collections/{collection_id}/export", tags=["people"],
            responses={200: {"content": {"application/x-bibtex": {},
                                         "application/x-research-info-systems": {},
                                         "application/json": {}}}})
def export_api(request: Request, web: Web, collection_id: int,
               format: Annotated[str, Query(pattern="^(bibtex|ris|json)$")] = "bibtex"
               ) -> Response:
    """Download a collection as BibTeX, RIS or JSON (also linked from its page)."""
    found = auth.need_user(web, request)
    assert found.user is not None
    try:
        done = web.library.export_collection(found.user, collection_id, format)
    except KeyError:
        raise HTTPException(404, f"you have no collection {collection_id}") from None
    return Response(done.text, media_type=done.media_type,
                    headers={"Content-Disposition": f'attachment; filename="{done.filename}"',
                             "Cache-Control": "no-store"})


@router.post("/collections/{collection_id}/import", response_class=HTMLResponse,
             include_in_schema=False)
def import_form(request: Request, web: Web, collection_id: int, csrf: Csrf = None,
                text: Annotated[str | None, Form(max_length=MAX_UPLOAD)] = None,
                file: Annotated[UploadFile | None, File()] = None) -> HTMLResponse:
    """Import a BibTeX file or a list of arXiv ids (pasted or uploaded)."""
    user = member(web, request, csrf)
    body = text or ""
    if file is not None and file.filename:
        raw = file.file.read(MAX_UPLOAD + 1)
        if len(raw) > MAX_UPLOAD:
            raise HTTPException(413, "the file is over 5 MB; split it")
        body = raw.decode("utf-8", errors="replace")
    report = _import(web, user, collection_id, body, "auto")
    return web.render(request, "collection.html", page=_view(web, user, collection_id),
                      imported=report, nav="me")


@router.post("/api/collections/{collection_id}/import", response_model=ImportOut,
             tags=["people"])
def import_api(request: Request, web: Web, collection_id: int,
               text: Annotated[str, Form(max_length=MAX_UPLOAD,
                                         description="BibTeX, or arXiv ids")],
               format: Annotated[str, Query(pattern="^(auto|bibtex|ids)$")] = "auto"
               ) -> ImportOut:
    """Save the papers a BibTeX file or a list of arXiv ids names; entries not in this
    library are listed with their line."""
    user = member(web, request)
    return _import(web, user, collection_id, text, format)


def _import(web: WebState, user: User, collection_id: int, text: str, fmt: str) -> ImportOut:
    try:
        return ImportOut.of(web.library.import_collection(user, collection_id, text, fmt))
    except PersonError as error:
        raise HTTPException(400, str(error)) from None
    except KeyError:
        raise HTTPException(404, f"you have no collection {collection_id}") from None


@router.post("/collections/{collection_id}/edit", include_in_schema=False)
def edit_form(request: Request, web: Web, collection_id: int, csrf: Csrf = None,
              name: Annotated[str | None, Form(max_length=300)] = None,
              delete: Annotated[str | None, Form()] = None) -> Response:
    """Rename or delete a collection."""
    user = member(web, request, csrf)
    if delete:
        web.library.delete_collection(user, collection_id)
        return RedirectResponse("/me", status_code=303)
    with _answering():
        web.library.rename_collection(user, collection_id, name or "")
    return RedirectResponse(f"/collections/{collection_id}", status_code=303)


@router.patch("/api/collections/{collection_id}", response_model=CollectionOut,
              tags=["people"])
def rename_api(request: Request, web: Web, collection_id: int,
               name: Annotated[str, Query(max_length=300)]) -> CollectionOut:
    """Rename one of your collections."""
    user = member(web, request)
    with _answering():
        web.library.rename_collection(user, collection_id, name)
    return _view(web, user, collection_id).collection


@router.delete("/api/collections/{collection_id}", status_code=204, tags=["people"])
def delete_api(request: Request, web: Web, collection_id: int) -> Response:
    """Delete one of your collections (the papers stay in the library)."""
    user = member(web, request)
    if not web.library.delete_collection(user, collection_id):
        raise HTTPException(404, f"you have no collection {collection_id}")
    return Response(status_code=204)


@router.post("/collections/{collection_id}/papers/{paper_id:path}", include_in_schema=False)
def item_form(request: Request, web: Web, collection_id: int, paper_id: str, csrf: Csrf = None,
              note: Annotated[str | None, Form(max_length=2000)] = None,
              remove: Annotated[str | None, Form()] = None) -> Response:
    """Change a saved paper's note, or take it out of the collection."""
    user = member(web, request, csrf)
    if remove:
        web.library.unsave(user, paper_id, collection_id)
    else:
        with _answering():
            web.library.set_note(user, collection_id, paper_id, note)
    return RedirectResponse(f"/collections/{collection_id}", status_code=303)


@router.put("/api/collections/{collection_id}/papers/{paper_id:path}",
            response_model=CollectionOut, tags=["people"])
def item_api(request: Request, web: Web, collection_id: int, paper_id: str,
             body: SaveIn) -> CollectionOut:
    """Put a paper into one of your collections, or change its note."""
    user = member(web, request)
    with _answering():
        web.library.save(user, paper_id, collection_id=collection_id, note=body.note)
        if body.note is not None:
            web.library.set_note(user, collection_id, paper_id, body.note)
    return _view(web, user, collection_id).collection


@router.delete("/api/collections/{collection_id}/papers/{paper_id:path}", status_code=204,
               tags=["people"])
def unsave_api(request: Request, web: Web, collection_id: int, paper_id: str) -> Response:
    """Take a paper out of one of your collections."""
    user = member(web, request)
    if not web.library.unsave(user, paper_id, collection_id):
        raise HTTPException(404, f"{paper_id} is not in your collection {collection_id}")
    return Response(status_code=204)
