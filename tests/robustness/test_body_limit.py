"""The request body limit: 413 JSON as soon as a body is known to be too large, whether it says
so in its Content-Length or streams in chunks without one, and the server keeps serving.

Over 300 lines: one test per way a body can be too large or too slow, in-process and on a real
server.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from live_server import RunningServer
from starlette.types import Message, Receive, Scope, Send

from app.middleware import BodySizeLimitMiddleware

DEFAULT_LIMIT = 2 * 1024 * 1024
SMALL_LIMIT = 65536
CHUNK = 64 * 1024
PIXELS_JSON = json.dumps({"pixels": [[0.0] * 28] * 28}).encode()


def padded_json(size: int) -> bytes:
    """Valid /predict JSON of exactly `size` bytes (trailing whitespace is valid JSON)."""
    assert size >= len(PIXELS_JSON)
    return PIXELS_JSON + b" " * (size - len(PIXELS_JSON))


def in_chunks(data: bytes, size: int = CHUNK) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def assert_413(answer: httpx.Response, limit_text: str) -> None:
    assert answer.status_code == 413, answer.text
    assert answer.headers["content-type"] == "application/json"
    detail = answer.json()["detail"]
    assert "too large" in detail and limit_text in detail, detail


JSON_HEADERS = {"content-type": "application/json"}


# --------------------------------------------------------------------------------------------
# Over HTTP, against the real server


def test_a_body_exactly_at_the_limit_is_read_whole_and_answered(http: httpx.Client) -> None:
    answer = http.post("/predict", content=padded_json(DEFAULT_LIMIT), headers=JSON_HEADERS)
    assert answer.status_code == 200, answer.text
    assert answer.json()["prediction"] in (0, 1)


def test_one_byte_over_the_limit_gets_413(http: httpx.Client, server: RunningServer) -> None:
    answer = http.post("/predict", content=padded_json(DEFAULT_LIMIT + 1), headers=JSON_HEADERS)
    assert_413(answer, "2 MiB (2,097,152 bytes)")
    server.assert_alive()


def test_a_chunked_body_at_the_limit_is_answered(http: httpx.Client) -> None:
    answer = http.post(
        "/predict", content=in_chunks(padded_json(DEFAULT_LIMIT)), headers=JSON_HEADERS
    )
    assert answer.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in answer.request.headers
    assert answer.status_code == 200, answer.text


def test_a_chunked_body_one_byte_over_gets_413(http: httpx.Client, server: RunningServer) -> None:
    answer = http.post(
        "/predict", content=in_chunks(padded_json(DEFAULT_LIMIT + 1)), headers=JSON_HEADERS
    )
    assert answer.request.headers.get("transfer-encoding") == "chunked"
    assert_413(answer, "2 MiB")
    server.assert_alive()


def test_an_oversized_multipart_upload_gets_413(http: httpx.Client) -> None:
    image = b"\x89PNG\r\n\x1a\n" + b"\x00" * (DEFAULT_LIMIT + 10)
    answer = http.post("/predict", files={"file": ("big.png", image, "image/png")})
    assert_413(answer, "2 MiB")
    chunked = http.post(
        "/predict",
        content=in_chunks(b"--b\r\nContent-Disposition: form-data; name=\"file\"; "
                          b"filename=\"big.png\"\r\n\r\n" + image),
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert_413(chunked, "2 MiB")


def test_a_huge_streamed_body_is_refused_without_holding_it(
    http: httpx.Client, server: RunningServer
) -> None:
    before = server.rss_bytes
    total = 64 * 1024 * 1024
    answer = http.post(
        "/predict", content=(b"[" * CHUNK for _ in range(total // CHUNK)), headers=JSON_HEADERS
    )
    assert_413(answer, "2 MiB")
    grown = server.rss_bytes - before
    assert grown < 16 * 1024 * 1024, f"RSS grew {grown / 2**20:.1f} MiB for a refused body"
    server.assert_alive()


def test_the_limit_is_set_by_the_environment(small_app_client: TestClient) -> None:
    at_limit = small_app_client.post(
        "/predict", content=padded_json(SMALL_LIMIT), headers=JSON_HEADERS
    )
    over = small_app_client.post(
        "/predict", content=padded_json(SMALL_LIMIT + 1), headers=JSON_HEADERS
    )
    over_chunked = small_app_client.post(
        "/predict", content=in_chunks(padded_json(SMALL_LIMIT + 1), 4096), headers=JSON_HEADERS
    )
    docs = small_app_client.get("/openapi.json").json()["info"]["description"]
    assert at_limit.status_code == 200, at_limit.text
    assert_413(over, "64 KiB (65,536 bytes)")
    assert_413(over_chunked, "64 KiB (65,536 bytes)")
    assert "64 KiB (65,536 bytes)" in docs and "64×64 pixels" in docs


# --------------------------------------------------------------------------------------------
# Raw sockets: what a client that lies, stalls or never finishes sees


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a whole response head: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return int(status_line.split()[1]), headers, body[:length]


def connect(server: RunningServer) -> socket.socket:
    sock = socket.create_connection((server.host, server.port), timeout=10)
    return sock


def request_head(extra: str) -> bytes:
    return (
        "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"{extra}\r\n"
    ).encode()


def test_a_declared_oversize_is_refused_before_any_body_is_sent(server: RunningServer) -> None:
    with connect(server) as sock:
        sock.sendall(request_head("Content-Length: 104857600\r\n"))  # 100 MiB, never sent
        started = time.monotonic()
        status, headers, body = read_response(sock)
    assert status == 413 and headers["content-type"] == "application/json"
    assert "too large" in json.loads(body)["detail"]
    assert time.monotonic() - started < 5
    server.assert_alive()


def test_a_chunked_oversize_is_refused_before_the_body_ends(server: RunningServer) -> None:
    with connect(server) as sock:
        sock.sendall(request_head("Transfer-Encoding: chunked\r\n"))
        for _ in range(DEFAULT_LIMIT // CHUNK + 1):  # one chunk past the limit, no last chunk
            sock.sendall(f"{CHUNK:x}\r\n".encode() + b" " * CHUNK + b"\r\n")
        started = time.monotonic()
        status, _, body = read_response(sock)
        assert time.monotonic() - started < 5
        # The server drops the rest of the body and keeps the connection for the next request.
        sock.sendall(f"{CHUNK:x}\r\n".encode() + b" " * CHUNK + b"\r\n0\r\n\r\n")
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        next_status, _, next_body = read_response(sock)
    assert status == 413 and "too large" in json.loads(body)["detail"]
    assert next_status == 200 and json.loads(next_body) == {"status": "ok"}


def test_a_content_length_shorter_than_the_body_frames_only_that_much(
    server: RunningServer,
) -> None:
    """The server reads Content-Length bytes as the body, so a longer body cannot slip past the
    limit: the request is what was declared (here broken JSON, 422); what follows is parsed as
    the next request, refused (uvicorn's own 400) and the connection closed."""
    with connect(server) as sock:
        sock.sendall(request_head("Content-Length: 12\r\n") + b'{"pixels": [')
        status, headers, body = read_response(sock)
        sock.sendall(b"0," * 2000 + b"0]}\r\n\r\n")
        next_status, _, _ = read_response(sock)
    assert status == 422 and headers["content-type"] == "application/json"
    assert "not valid JSON" in json.loads(body)["detail"]
    assert next_status == 400
    server.assert_alive()


def test_a_lying_content_length_sent_in_one_go_gets_a_4xx(server: RunningServer) -> None:
    with connect(server) as sock:
        sock.sendall(request_head("Content-Length: 12\r\n") + b'{"pixels": [' + b"0," * 2000)
        status, _, _ = read_response(sock)
    assert status in (400, 422)
    server.assert_alive()


def test_a_client_that_stops_mid_body_does_not_hurt_the_server(server: RunningServer) -> None:
    logged_before = len(server.stderr_lines)
    for _ in range(5):
        with connect(server) as sock:
            sock.sendall(request_head("Content-Length: 100000\r\n") + b'{"pixels": [0, 0')
            time.sleep(0.05)
    time.sleep(0.3)
    server.assert_alive()
    logged = "".join(server.stderr_lines[logged_before:])
    assert "Traceback" not in logged and "ERROR" not in logged, logged


# --------------------------------------------------------------------------------------------
# The middleware on its own: the answer is a 413 whatever the app does with the error


async def app_that_swallows_errors(scope: Scope, receive: Receive, send: Send) -> None:
    """Reads the body and answers 400 on any error: the client must still get the 413."""
    try:
        while (await receive()).get("more_body"):
            pass
        status, body = 200, b'{"ok": true}'
    except Exception:
        status, body = 400, b'{"detail": "bad body"}'
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": body})


async def app_that_fails_differently(scope: Scope, receive: Receive, send: Send) -> None:
    try:
        while (await receive()).get("more_body"):
            pass
    except Exception as error:
        raise RuntimeError("the app's own wrapping of the error") from error
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def app_that_never_reads(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b'{"read": false}'})


@pytest.mark.parametrize("app", [app_that_swallows_errors, app_that_fails_differently])
@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_the_answer_is_413_whatever_the_app_does_with_the_error(
    app: object, chunked: bool
) -> None:
    client = TestClient(BodySizeLimitMiddleware(app, max_body_bytes=1000))  # type: ignore[arg-type]
    body = b"x" * 1001
    answer = client.post("/", content=in_chunks(body, 100) if chunked else body)
    assert answer.status_code == 413
    assert answer.json()["detail"].startswith("the request body is too large")
    assert "1,000 bytes" in answer.json()["detail"]


@pytest.mark.parametrize("size", [0, 1, 999, 1000])
def test_bodies_within_the_limit_pass_untouched(size: int) -> None:
    client = TestClient(BodySizeLimitMiddleware(app_that_swallows_errors, max_body_bytes=1000))
    assert client.post("/", content=in_chunks(b"x" * size, 100)).json() == {"ok": True}
    assert client.post("/", content=b"x" * size).json() == {"ok": True}


def test_an_app_that_does_not_read_the_body_answers_as_it_likes() -> None:
    client = TestClient(BodySizeLimitMiddleware(app_that_never_reads, max_body_bytes=1000))
    assert client.post("/", content=in_chunks(b"x" * 5000, 100)).json() == {"read": False}


def test_the_refusal_is_sent_afresh_each_time() -> None:
    """Outer middleware may add headers to the messages it is given: none may pile up."""
    seen: list[list[tuple[bytes, bytes]]] = []

    def adding_headers(app: object) -> object:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            async def send_more(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message["headers"], (b"x-extra", b"1")]
                    seen.append(message["headers"])
                await send(message)

            await app(scope, receive, send_more)  # type: ignore[operator]

        return wrapped

    inner = BodySizeLimitMiddleware(app_that_never_reads, max_body_bytes=10)
    client = TestClient(adding_headers(inner))  # type: ignore[arg-type]
    for _ in range(3):
        assert client.post("/", content=b"x" * 11).status_code == 413
    assert [len(headers) for headers in seen] == [3, 3, 3]


def test_a_limit_below_one_byte_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        BodySizeLimitMiddleware(app_that_never_reads, max_body_bytes=0)
