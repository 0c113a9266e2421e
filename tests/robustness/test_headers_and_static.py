"""What every answer carries: JSON errors (404 and 405 too), a strict Content-Security-Policy on
the page, nosniff and a Referrer-Policy (in-process); and /static never serves a file outside its
folder, asked through the real server with paths exactly as a client may send them."""

from __future__ import annotations

import http.client
import re

import pytest
from fastapi.testclient import TestClient
from live_server import REPO_ROOT, RunningServer
from starlette.testclient import WebSocketDenialResponse

REFERRER_POLICIES = {
    "no-referrer",
    "same-origin",
    "strict-origin",
    "strict-origin-when-cross-origin",
}


def csp_directives(policy: str) -> dict[str, list[str]]:
    directives = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        directives[name.lower()] = sources
    return directives


def test_the_page_allows_only_its_own_scripts_styles_and_connections(
    app_client: TestClient,
) -> None:
    page = app_client.get("/")
    assert page.status_code == 200
    policy = page.headers["content-security-policy"]
    directives = csp_directives(policy)
    assert directives["default-src"] == ["'self'"]
    for directive in ("script-src", "style-src", "connect-src"):
        assert directives[directive] == ["'self'"], (directive, policy)
    for loose in ("'unsafe-inline'", "'unsafe-eval'", "*", "http:", "https:", "data:"):
        for directive in ("default-src", "script-src", "style-src", "connect-src"):
            assert loose not in directives[directive]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] in REFERRER_POLICIES


def test_the_page_needs_nothing_the_policy_forbids(app_client: TestClient) -> None:
    """No inline script, style or handler, and every script and stylesheet is our own."""
    html = app_client.get("/").text
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "an inline <script>"
    assert "<style" not in html and not re.search(r"\sstyle=", html), "an inline style"
    assert not re.search(r"\son[a-z]+\s*=", html), "an on*= handler"
    sources = re.findall(r'<script[^>]*\bsrc="([^"]+)"', html)
    sheets = re.findall(r'<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"', html)
    assert sources and sheets
    for url in sources + sheets:
        assert url.startswith("/static/"), url
        assert app_client.get(url).status_code == 200, url


@pytest.mark.parametrize(
    "path", ["/healthz", "/models", "/static/js/main.js", "/nope", "/openapi.json"]
)
def test_every_answer_has_nosniff_and_a_referrer_policy(app_client: TestClient, path: str) -> None:
    answer = app_client.get(path)
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] in REFERRER_POLICIES
    assert "content-security-policy" in answer.headers


@pytest.mark.parametrize(
    ("method", "path", "status", "words"),
    [
        ("GET", "/nope", 404, ("/nope", "/docs")),
        ("GET", "/static/nope.js", 404, ("/static/nope.js",)),
        ("GET", "/models/no-such-model", 404, ("no model named",)),
        ("GET", "/predict", 405, ("GET is not allowed on /predict", "POST")),
        ("DELETE", "/predict", 405, ("DELETE",)),
        ("PUT", "/models", 405, ("PUT", "GET")),
        ("POST", "/healthz", 405, ("POST",)),
        ("PATCH", "/", 405, ("PATCH",)),
        ("POST", "/static/js/main.js", 405, ("POST",)),
    ],
)
def test_404_and_405_answers_are_json_with_a_message(
    app_client: TestClient, method: str, path: str, status: int, words: tuple[str, ...]
) -> None:
    answer = app_client.request(method, path)
    assert answer.status_code == status
    assert answer.headers["content-type"] == "application/json"
    detail = answer.json()["detail"]
    assert isinstance(detail, str)
    for word in words:
        assert word in detail, detail
    if status == 405:
        assert answer.headers["allow"]



@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "x" * 5000, "[::1"])
def test_a_host_this_server_is_not_reached_by_gets_json_naming_the_setting(
    app_client: TestClient, host: str
) -> None:
    """DNS rebinding: a page whose name now points at this machine, refused before any route
    by Starlette's host matching, in the API's own words."""
    answer = app_client.get("/models", headers={"host": host})
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/json"
    detail = answer.json()["detail"]
    assert "DIGITS_ALLOWED_HOSTS" in detail and len(detail) < 300, detail
    assert app_client.get("/models", headers={"host": "localhost:8000"}).status_code == 200


def test_a_host_this_server_is_not_reached_by_cannot_open_the_training_socket(
    app_client: TestClient,
) -> None:
    with pytest.raises(WebSocketDenialResponse) as refused:  # noqa: SIM117
        with app_client.websocket_connect("/train", headers={"host": "evil.example"}):
            pass
    assert refused.value.status_code == 400
    assert "DIGITS_ALLOWED_HOSTS" in refused.value.json()["detail"]

# Paths a client might use to reach files outside static/, sent exactly as written.
TRAVERSALS = [
    "/static/../app/main.py",
    "/static/%2e%2e/app/main.py",
    "/static/%2E%2E/app/main.py",
    "/static/..%2fapp/main.py",
    "/static/..%2Fapp%2Fmain.py",
    "/static/%2e%2e%2fapp%2fmain.py",
    "/static/js/../../app/main.py",
    "/static/js/%2e%2e/%2e%2e/app/main.py",
    "/static/%252e%252e/app/main.py",
    "/static/..%5capp%5cmain.py",
    "/static/..\\app\\main.py",
    "/static/....//app/main.py",
    "/static/.%2e/.%2e/main/app/main.py",
    "/static/../pyproject.toml",
    "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "/static//etc/passwd",
    "/static/%2fetc%2fpasswd",
    f"/static/{REPO_ROOT}/app/main.py",
    "/static/%00../app/main.py",
    "/static/css/..%2f..%2fapp%2fsettings.py",
]
SECRETS = [
    (REPO_ROOT / "app" / "main.py").read_bytes(),
    (REPO_ROOT / "app" / "settings.py").read_bytes(),
    (REPO_ROOT / "pyproject.toml").read_bytes(),
]


def raw_get(server: RunningServer, path: str) -> tuple[int, bytes]:
    """GET the path exactly as written (httpx would tidy the dots away)."""
    connection = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        connection.putrequest("GET", path, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_static_files_are_served_from_their_folder(server: RunningServer) -> None:
    """The control: the same client reads a real static file, so a leak would show."""
    status, body = raw_get(server, "/static/js/main.js")
    assert status == 200 and body == (REPO_ROOT / "static" / "js" / "main.js").read_bytes()


@pytest.mark.parametrize("path", TRAVERSALS)
def test_static_never_serves_a_file_outside_its_folder(server: RunningServer, path: str) -> None:
    status, body = raw_get(server, path)
    assert status in (400, 404), (status, body[:200])
    for secret in SECRETS:
        assert secret[:200] not in body
    assert b"root:" not in body and b"def create_app" not in body
