"""Every error is JSON with a `detail` string that says what to fix; none shows a traceback."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from app.middleware import security_headers
from core.input_errors import (
    ImageDecodeError,
    ImageTooLargeError,
    PreprocessingError,
)

logger = logging.getLogger("app.errors")

# The first match in this order wins: ImageDecodeError is "not an image we can read" (415);
# any other preprocessing error (an empty drawing, bad pixels) is a well-formed request we
# cannot classify (422).
STATUS_OF_PREPROCESSING_ERROR: list[tuple[type[PreprocessingError], int]] = [
    (ImageTooLargeError, 413),
    (ImageDecodeError, 415),
    (PreprocessingError, 422),
]

INTERNAL_ERROR_DETAIL = (
    "the server failed to answer this request (an internal error, now logged); "
    "please try again, and report it if it keeps happening"
)


async def preprocessing_error_handler(request: Request, error: Exception) -> JSONResponse:
    status = next(
        code for kind, code in STATUS_OF_PREPROCESSING_ERROR if isinstance(error, kind)
    )
    return JSONResponse({"detail": str(error)}, status_code=status)


async def http_error_handler(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    status = error.status_code
    if status < 200 or status in (204, 205, 304):  # statuses that must not have a body
        return Response(status_code=status, headers=error.headers)
    detail = error.detail
    if detail == _phrase(status):  # Starlette's bare default ("Not Found"): say more
        detail = _default_detail(request, status, error.headers or {})
    return JSONResponse(
        {"detail": detail if isinstance(detail, str) else str(detail)},
        status_code=status,
        headers=error.headers,
    )


async def request_validation_error_handler(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    return JSONResponse({"detail": explain_validation_errors(error.errors())}, status_code=422)


async def client_disconnect_handler(request: Request, error: Exception) -> JSONResponse:
    """The client went away before sending its whole body: nobody reads this answer, but it
    keeps a routine event out of the error log (logged as 400, not a 500 with a traceback)."""
    return JSONResponse(
        {"detail": "the connection closed before the whole request body arrived"},
        status_code=400,
    )


async def unexpected_error_handler(request: Request, error: Exception) -> JSONResponse:
    """The last resort (a bug): JSON without the traceback, which goes to the server's log."""
    logger.error(
        "unexpected error answering %s %s", request.method, request.url.path, exc_info=error
    )
    # Sent by Starlette's outermost middleware, past ours: the security headers come from here.
    headers = {
        name.decode(): value.decode() for name, value in security_headers(request.url.path)
    }
    return JSONResponse({"detail": INTERNAL_ERROR_DETAIL}, status_code=500, headers=headers)


def explain_validation_errors(errors: Iterable[Mapping[str, Any]]) -> str:
    """Pydantic's error list as one line: "query parameter 'x': should be …; image: …"."""
    return "; ".join(_problem(item) for item in errors) or "the request is not valid"


def _problem(item: Mapping[str, Any]) -> str:
    kind = item.get("type")
    where = _location(item.get("loc", ()))
    if kind == "json_invalid":
        reason = str(item.get("ctx", {}).get("error", "")).removeprefix("Invalid JSON: ")
        return f"the body is not valid JSON ({reason})"
    if kind == "model_type" and not where:
        return f"the body must be a JSON object, not {_json_type(item.get('input'))}"
    if kind == "extra_forbidden":
        return f"unknown field {where!r}"
    if kind == "missing" and where:
        in_body = tuple(item.get("loc", ()))[:1] not in PARAMETER_KINDS
        return f"the field {where!r} is missing" if in_body else f"{where} is required"
    message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
    # Our own validators' messages name their field already ("'image' must be …").
    if not where or message.startswith((where, f"'{where}'")):
        return message
    return f"{where}: {message}"


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return {list: "an array", str: "a string"}.get(type(value), type(value).__name__)


PARAMETER_KINDS = (("query",), ("path",), ("header",), ("cookie",))


def _location(loc: Iterable[Any]) -> str:
    parts = [str(part) for part in loc]
    if parts and (parts[0],) in PARAMETER_KINDS and len(parts) > 1:
        kind = {"query": "query parameter", "path": "path parameter"}.get(parts[0], parts[0])
        return f"{kind} {'.'.join(parts[1:])!r}"
    if parts and parts[0] == "body":
        parts = parts[1:]
    return ".".join(parts)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _default_detail(request: Request, status: int, headers: Mapping[str, str]) -> str:
    path = request.url.path
    if status == 404:
        return f"nothing at {path}; the API is described at /docs"
    if status == 405:
        allowed = headers.get("allow") or headers.get("Allow")
        use = f"; use {allowed}" if allowed else ""
        return f"{request.method} is not allowed on {path}{use}"
    return _phrase(status) or f"HTTP {status}"


def add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PreprocessingError, preprocessing_error_handler)
    app.add_exception_handler(StarletteHTTPException, http_error_handler)
    app.add_exception_handler(RequestValidationError, request_validation_error_handler)
    app.add_exception_handler(ClientDisconnect, client_disconnect_handler)
    # Starlette gives an Exception handler to its outermost middleware, so this also covers
    # errors raised in our own middleware.
    app.add_exception_handler(Exception, unexpected_error_handler)
