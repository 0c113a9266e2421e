"""A deadline for a request's headers, which uvicorn does not have.

uvicorn (0.55) starts no timer on a connection until a response is complete, so a client that
sends its headers a byte now and then (slowloris) holds the connection for as long as it likes.
`digits-serve` serves HTTP with this subclass of uvicorn's own protocol: a request's headers
must have arrived whole DIGITS_HEADER_TIMEOUT_S after its first byte (or after the connection
opened), or the connection is closed. The body has its own deadline (DIGITS_BODY_TIMEOUT_S,
app/middleware.py); an idle kept-alive connection, uvicorn's keep-alive timeout.
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.settings import get_settings


class HeaderDeadlineProtocol(HttpToolsProtocol):
    header_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_header_deadline()

    def on_message_begin(self) -> None:
        # The next request on a kept-alive connection: its headers get the same time.
        super().on_message_begin()
        self._start_header_deadline()

    def on_headers_complete(self) -> None:
        self._cancel_header_deadline()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_deadline()
        super().connection_lost(exc)

    def _start_header_deadline(self) -> None:
        self._cancel_header_deadline()
        self.header_deadline = self.loop.call_later(
            get_settings().header_timeout_s, self._headers_too_slow
        )

    def _cancel_header_deadline(self) -> None:
        if self.header_deadline is not None:
            self.header_deadline.cancel()
            self.header_deadline = None

    def _headers_too_slow(self) -> None:
        self.header_deadline = None
        self.logger.info("closed a connection whose request headers took too long to arrive")
        self.transport.close()
