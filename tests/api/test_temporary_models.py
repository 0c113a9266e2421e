"""A model trained from the page, once dropped (pushed out by newer ones, or expired), takes its
cached GET /models/{name} answer with it and gets a 404 that says it expired, never a 500; a
request that found it before it was dropped still has it whole. Stand-ins for trained models:
the shipped 0/1 model under temporary names (no training needed)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.dependencies import find_model_entry
from app.main import create_app
from app.settings import Settings
from app.temporary_models import TEMPORARY_PREFIX

KEPT = 2


@pytest.fixture(scope="module")
def client(store_of: Callable[..., Path]) -> Iterator[TestClient]:
    settings = Settings(model_dir=store_of("digits-0-1"), max_trained_models=KEPT)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def add_trained(client: TestClient) -> str:
    state = client.app.state
    name = f"{TEMPORARY_PREFIX}01-{secrets.token_hex(16)}"
    state.temporary_models.add(replace(state.registry.get("digits-0-1"), name=name), b"keras")
    return name


def test_a_dropped_models_detail_goes_with_it(client: TestClient) -> None:
    first = add_trained(client)
    assert client.get(f"/models/{first}").status_code == 200  # its detail is made and kept
    for _ in range(KEPT):
        add_trained(client)  # the first is pushed out
    gone = client.get(f"/models/{first}")
    assert gone.status_code == 404 and "expired" in gone.json()["detail"]
    assert first not in client.app.state.model_details  # the shipped models' cache
    assert first not in client.app.state.temporary_models  # and its detail, kept with it


def test_a_model_dropped_after_its_lookup_is_still_whole_for_that_request(
    client: TestClient,
) -> None:
    state = client.app.state
    name = add_trained(client)
    model, kept = find_model_entry(state.registry, name, state.temporary_models)
    for _ in range(KEPT):
        add_trained(client)
    assert name not in state.temporary_models
    assert kept is not None and kept.keras_file == b"keras" and model.name == name
    assert client.get(f"/models/{name}/download").status_code == 404
