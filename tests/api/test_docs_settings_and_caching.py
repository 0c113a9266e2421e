"""/docs works without the internet, bad settings stop start-up in one line, static files are
revalidated."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient


def test_docs_page_loads_swagger_ui_from_this_server(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets, page.text
    for asset in assets:
        assert asset.startswith("/"), f"{asset} would be fetched from another site"
        assert client.get(asset).status_code == 200, asset


def test_docs_policy_allows_only_this_server(client: TestClient) -> None:
    policy = client.get("/docs").headers["content-security-policy"]
    assert "https:" not in policy and "http:" not in policy
    assert "script-src 'self'" in policy


@pytest.mark.parametrize("path", ["/static/js/main.js", "/static/css/base.css"])
def test_static_files_are_revalidated(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-cache"
    assert "etag" in answer.headers


@pytest.mark.slow
@pytest.mark.parametrize(
    ("variable", "value"),
    [("DIGITS_MAX_BODY_BYTES", "abc"), ("DIGITS_MAX_IMAGE_SIDE", "-5"),
     ("DIGITS_MAX_CONCURRENT_PREDICTIONS", "0")],
)
def test_a_bad_setting_stops_start_up_in_one_line(
    run_startup: Callable[..., Any], variable: str, value: str
) -> None:
    env = {key: val for key, val in os.environ.items() if not key.startswith("DIGITS_")}
    outcome = run_startup(env={**env, variable: value})
    assert outcome.exit_code not in (None, 0), outcome.stderr
    assert "Traceback" not in outcome.stderr, outcome.stderr
    reasons = [line for line in outcome.stderr.splitlines() if line.startswith("cannot start")]
    assert len(reasons) == 1, outcome.stderr
    assert variable in reasons[0]
