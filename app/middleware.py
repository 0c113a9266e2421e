"""Pure ASGI middleware (cheap enough for every request): the request body limit, security
headers, one-line start-up errors, the Host allow-list's JSON answer."""

from __future__ import annotations

import asyncio
import json

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.run_settings import shown

# Only the app's own scripts, styles and connections: the page has no inline code at all.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's /docs page starts Swagger UI (served from this app) with an inline script; it gets
# a policy that allows inline code, still only from this app.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs",)


def size_text(size: int) -> str:
    """2097152 → "2 MiB (2,097,152 bytes)": readable, and exact for whoever sets a limit."""
    for unit, name in ((1024 * 1024, "MiB"), (1024, "KiB")):
        if size >= unit and size % unit == 0:
            return f"{size // unit} {name} ({size:,} bytes)"
    return f"{size:,} bytes"


class RequestBodyTooLarge(HTTPException):
    """Raised from `receive` once more bytes than the limit have come in.

    An HTTPException, so whatever the app does with it (let it propagate, or re-raise it from
    its own parsing), the answer is a 413; the middleware makes sure of that either way.
    """

    def __init__(self, max_body_bytes: int) -> None:
        super().__init__(413, body_too_large_message(max_body_bytes))


class RequestBodyTooSlow(HTTPException):
    """Raised from `receive` once a body has taken longer than its deadline to arrive."""

    def __init__(self, body_timeout_s: float) -> None:
        super().__init__(
            408,
            f"the request body did not arrive within {body_timeout_s:g} s; send it at once "
            f"(a drawing is a few kB)",
        )


def body_too_large_message(max_body_bytes: int) -> str:
    return (
        f"the request body is too large: it may be at most {size_text(max_body_bytes)}; "
        f"send a smaller image"
    )


class BodySizeLimitMiddleware:
    """Answer 413 as soon as a request body is known to be over `max_body_bytes`, and 408 when
    it has not all arrived `body_timeout_s` after the app began to read it.

    A Content-Length over the limit is refused before any of the body is read. A chunked body
    (no Content-Length) is counted as the app receives it, and `receive` raises once the count
    passes the limit, so at most the limit plus one chunk is ever held in memory. A body sent a
    byte at a time (uvicorn itself waits for ever) is cut off at its deadline: it cannot hold
    an image-decoding slot (app/dependencies.py) or a connection for long. Whatever the app then
    sends is replaced by the 413 or 408, so an app that catches the error in its own parsing
    still answers correctly.

    Whatever the app has not read is left to the server, which discards it and keeps the
    connection open: closing it with unread data would reset it and lose the 413 on its way.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int, body_timeout_s: float = 30.0) -> None:
        if max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be at least 1, got {max_body_bytes}")
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_timeout_s = body_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Over 60 lines: the two closures below share one request's count, deadline and refusal.
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _declared_length(scope)
        if declared > self.max_body_bytes:
            await _refuse(send, RequestBodyTooLarge(self.max_body_bytes))
            return

        # The server hands the app exactly Content-Length bytes (any more is the next request),
        # so only bodies without one need counting.
        limit = self.max_body_bytes if declared < 0 else None
        received = 0
        body_done = declared == 0
        deadline: float | None = None
        refusal: HTTPException | None = None
        response_started = False

        async def guarded_receive() -> Message:
            nonlocal received, body_done, deadline, refusal
            if refusal is not None:
                raise refusal
            if body_done:  # waiting for a disconnect (streaming responses do): no deadline
                return await receive()
            loop = asyncio.get_running_loop()
            if deadline is None:
                deadline = loop.time() + self.body_timeout_s
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                refusal = RequestBodyTooSlow(self.body_timeout_s)
                raise refusal from None
            if message["type"] != "http.request":
                body_done = True
                return message
            body_done = not message.get("more_body", False)
            if limit is not None:
                received += len(message.get("body", b""))
                if received > limit:
                    refusal = RequestBodyTooLarge(limit)
                    raise refusal
            return message

        async def send_unless_refused(message: Message) -> None:
            nonlocal response_started
            if refusal is not None:
                # The app answered after the body was refused (say it turned the error into a
                # 4xx of its own): the client gets the 413 or 408 instead.
                if not response_started:
                    response_started = True
                    await _refuse(send, refusal)
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, guarded_receive, send_unless_refused)
        except Exception:
            if refusal is None:
                raise
            # Whatever the app raised, the cause is the body refused: answer that.
            if not response_started:
                await _refuse(send, refusal)


async def _refuse(send: Send, refusal: HTTPException) -> None:
    body = json.dumps({"detail": refusal.detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if refusal.status_code == 408:
        headers.append((b"connection", b"close"))  # the rest of the body is not waited for
    await send({"type": "http.response.start", "status": refusal.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _declared_length(scope: Scope) -> int:
    """The request's Content-Length, or -1 if it has none (a chunked body) or an unreadable one
    (which servers refuse before the app runs); such a body is counted as it arrives."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1
    return -1


_PAGE_SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
_DOCS_SECURITY_HEADERS = [
    (b"content-security-policy", DOCS_CONTENT_SECURITY_POLICY.encode()),
    *_PAGE_SECURITY_HEADERS[1:],
]


# The page's modules import each other by plain URLs that carry no version, so browsers must
# revalidate them (cheap, with ETags) or could mix a new main.js with old modules.
_STATIC_HEADERS = [*_PAGE_SECURITY_HEADERS, (b"cache-control", b"no-cache")]


def security_headers(path: str) -> list[tuple[bytes, bytes]]:
    if path.startswith(DOCS_PATHS):
        return _DOCS_SECURITY_HEADERS
    if path.startswith("/static/"):
        return _STATIC_HEADERS
    return _PAGE_SECURITY_HEADERS


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = security_headers(scope["path"])

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class OneLineStartupErrors:
    """Report a failed start-up (a bad model, say) as its one-line message, not a traceback.

    Starlette hands the server the whole traceback of whatever the lifespan raised; our own
    errors already say which file is wrong and why, so only the exception's last line is kept.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def send_short(message: Message) -> None:
            if message["type"] == "lifespan.startup.failed" and message.get("message"):
                last_line = message["message"].strip().splitlines()[-1]
                _, _, text = last_line.partition("ModelStoreError: ")
                message = {**message, "message": f"cannot start: {text or last_line}"}
            await send(message)

        await self.app(scope, receive, send_short)


HOST_ALLOWED = "digits.host_allowed"  # set in the scope of a request whose Host is allowed


class TrustedHosts:
    """Starlette's TrustedHostMiddleware (its host matching, untouched), answering a Host it
    refuses as every other error of this API is answered: JSON `{"detail"}`, here naming the
    setting that allows the name. A refused request never reaches the app, so a page whose name
    was rebound to this machine gets no further than this answer (DNS rebinding)."""

    def __init__(self, app: ASGIApp, allowed_hosts: list[str]) -> None:
        self.app = app
        self.matching = TrustedHostMiddleware(
            self._allowed, allowed_hosts=allowed_hosts, www_redirect=False
        )

    async def _allowed(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[HOST_ALLOWED] = True
        await self.app(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refused = False

        async def send_unless_refused(message: Message) -> None:
            nonlocal refused
            if scope.get(HOST_ALLOWED):
                await send(message)
            else:  # Starlette's plain-text answer, replaced below
                refused = True

        await self.matching(scope, receive, send_unless_refused)
        if refused:
            host = Headers(scope=scope).get("host")
            await JSONResponse({"detail": host_refused_message(host)}, status_code=400)(
                scope, receive, send
            )


def host_refused_message(host: str | None) -> str:
    named = f"the name {shown(host, 60)}" if host else "no name (no Host header)"
    return (
        f"this server does not answer to {named}: to reach it by another name, its operator "
        f"adds that name to DIGITS_ALLOWED_HOSTS (comma-separated; localhost's are allowed)"
    )
