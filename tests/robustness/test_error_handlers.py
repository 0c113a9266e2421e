"""The last-resort handlers: a bug answers JSON 500 without its traceback (which goes to the
log), and FastAPI's parameter validation answers one readable line, not a list."""

from __future__ import annotations

import logging

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.errors import INTERNAL_ERROR_DETAIL, explain_validation_errors
from app.main import create_app
from app.settings import Settings


class SecretBug(RuntimeError):
    pass


@pytest.fixture(scope="module")
def app_with_test_routes() -> FastAPI:
    """The real app (middleware and handlers) plus routes that fail on purpose. Its lifespan is
    not run: these routes need no model."""
    app = create_app(Settings())

    @app.get("/test/bug")
    def bug() -> None:
        raise SecretBug("password=hunter2 in /srv/secret.py")

    @app.get("/test/numbers")
    def numbers(count: int, ratio: float = 0.5) -> dict[str, float]:
        return {"count": count, "ratio": ratio}

    return app


def test_a_bug_answers_json_500_without_the_traceback(
    app_with_test_routes: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    client = TestClient(app_with_test_routes, raise_server_exceptions=False)
    with caplog.at_level(logging.ERROR, logger="app.errors"):
        answer = client.get("/test/bug")
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == {"detail": INTERNAL_ERROR_DETAIL}
    for leak in ("Traceback", "SecretBug", "hunter2", "secret.py", "File "):
        assert leak not in answer.text
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" in answer.headers
    # ... while the server's log has all of it, to fix the bug.
    records = [record for record in caplog.records if record.name == "app.errors"]
    assert records and "GET /test/bug" in records[0].getMessage()
    assert records[0].exc_info is not None and records[0].exc_info[0] is SecretBug


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("", ("query parameter 'count'", "required")),
        ("?count=many", ("query parameter 'count'", "integer")),
        ("?count=3&ratio=half", ("query parameter 'ratio'", "number")),
    ],
)
def test_parameter_errors_are_one_readable_line(
    app_with_test_routes: FastAPI, query: str, words: tuple[str, ...]
) -> None:
    answer = TestClient(app_with_test_routes).get(f"/test/numbers{query}")
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail
    for word in words:
        assert word in detail.lower() or word in detail, detail


@pytest.mark.parametrize(
    ("errors", "expected"),
    [
        ([], "the request is not valid"),
        (
            [{"type": "missing", "loc": ("body", "image"), "msg": "Field required"}],
            "the field 'image' is missing",
        ),
        ([{"loc": ("body", "image"), "msg": "too short"}], "image: too short"),
        ([{"loc": ("body", "image"), "msg": "'image' is null"}], "'image' is null"),
        (
            [{"type": "json_invalid", "loc": (), "ctx": {"error": "EOF at 3"}}],
            "the body is not valid JSON (EOF at 3)",
        ),
        (
            [{"type": "model_type", "loc": (), "input": [1]}],
            "the body must be a JSON object, not an array",
        ),
        ([{"type": "extra_forbidden", "loc": ("body", "colour")}], "unknown field 'colour'"),
        ([{"loc": ("path", "name"), "msg": "bad"}], "path parameter 'name': bad"),
        ([{"loc": ("header", "x-a"), "msg": "bad"}], "header 'x-a': bad"),
        ([{"loc": (), "msg": "Value error, send one"}], "send one"),
        (
            [{"loc": ("query", "a"), "msg": "x"}, {"loc": ("query", "b"), "msg": "y"}],
            "query parameter 'a': x; query parameter 'b': y",
        ),
    ],
)
def test_validation_errors_read_as_one_line(errors: list[dict], expected: str) -> None:
    assert explain_validation_errors(errors) == expected
