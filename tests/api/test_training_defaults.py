"""Where a run from the page starts: the page's quick run (core/recipe.py), one definition that
the socket's defaults and the page's form both read."""

from __future__ import annotations

import html
import json
import re

from fastapi.testclient import TestClient

from app.training_runs import RunRequest, parse_run_request
from core.recipe import QUICK_RUN


def test_a_run_that_names_nothing_is_the_quick_run() -> None:
    assert parse_run_request({}).recipe_settings() == QUICK_RUN


def test_the_page_starts_its_form_from_the_sockets_defaults(client: TestClient) -> None:
    page = client.get("/").text

    found = re.search(r"data-quick-run='([^']*)'", page)
    assert found, "the page carries no data-quick-run"
    quick_run = json.loads(html.unescape(found[1]))
    assert quick_run == RunRequest().as_message()
    assert parse_run_request(quick_run) == RunRequest()

