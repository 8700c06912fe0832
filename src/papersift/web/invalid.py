"""Answers to requests FastAPI could not validate: a 4xx naming the field, never a 500.

FastAPI's error records carry the offending input as received, which may be ``bytes`` (a
body sent as ``text/plain``) or an exception object: written out as they are, they made the
JSON error itself fail with a server error (found by schemathesis). Here each record keeps
its ``loc``, ``msg`` and ``type``, gains ``field`` (the dotted name a person reads), and its
input is made JSON-safe; a body that is not JSON at all is answered 415, saying so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

__all__ = ["field_name", "invalid_response", "plain_errors"]

_JSON_BODY = "send the request body as JSON, with Content-Type: application/json"


def field_name(error: dict[str, Any]) -> str:
    """The field an error is about, as a person writes it: ``email``, ``body``,
    ``query.since``'s ``since``."""
    loc = [str(part) for part in error.get("loc", ())]
    return ".".join(loc[1:]) or (loc[0] if loc else "request")


def _safe(value: Any) -> Any:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        return value[:500]
    try:
        return jsonable_encoder(value)
    except Exception:  # whatever it is, its text will do
        return repr(value)[:500]


def plain_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """FastAPI's validation errors as JSON-safe records, each naming its field."""
    return [{"loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
             "field": field_name(e), "msg": str(e.get("msg", "")), "type": str(e.get("type", "")),
             "input": _safe(e.get("input"))} for e in errors]


def invalid_response(errors: Sequence[Any], content_type: str | None) -> JSONResponse:
    """422 with the errors (415 when a JSON body came as another media type)."""
    body_wrong = any(tuple(e.get("loc", ())) == ("body",) for e in errors)
    if body_wrong and content_type and "json" not in content_type.lower():
        kind = content_type.split(";")[0].strip()
        return JSONResponse({"detail": f"body: {kind} is not accepted; {_JSON_BODY}"},
                            status_code=415)
    return JSONResponse({"detail": plain_errors(errors)}, status_code=422)
