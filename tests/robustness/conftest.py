"""Robustness tests: the app in-process (`TestClient(create_app(settings))` with its lifespan
running) wherever answering is what is tested; the real server (`uvicorn app.main:app` in a
subprocess, tests/live_server.py) where the HTTP server itself, or the process's memory, is:
raw sockets, chunked and lying bodies, RSS, paths exactly as sent, load.

Every wait has a deadline, and every server started here is stopped by its own process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from live_server import RunningServer, running_server

from app.main import create_app
from app.settings import Settings


@pytest.hookimpl(tryfirst=True)  # before pytest's -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test on the real server is slow: starting it imports TensorFlow and loads the
    models in a second process. The in-process tests of the same limits stay in test-fast."""
    for item in items:
        if "server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def server() -> Iterator[RunningServer]:
    """The real server with the default limits (2 MiB bodies, 4096×4096 images)."""
    with running_server() as running:
        yield running


@pytest.fixture(scope="session")
def http(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def app_client(shipped_app: TestClient) -> TestClient:
    """The app in-process with its lifespan run (models loaded), default limits."""
    return shipped_app


@pytest.fixture(scope="session")
def small_app_client(store_of: Callable[..., Path]) -> Iterator[TestClient]:
    """The app in-process with its limits lowered through the environment, as an operator sets
    them: DIGITS_MAX_BODY_BYTES=65536 (64 KiB), DIGITS_MAX_IMAGE_SIDE=64; its model store the
    0/1 model alone (DIGITS_MODEL_DIR)."""
    environment = pytest.MonkeyPatch()
    environment.setenv("DIGITS_MAX_BODY_BYTES", "65536")
    environment.setenv("DIGITS_MAX_IMAGE_SIDE", "64")
    environment.setenv("DIGITS_MODEL_DIR", str(store_of("digits-0-1")))
    try:
        settings = Settings()
    finally:
        environment.undo()
    with TestClient(create_app(settings)) as client:
        yield client
