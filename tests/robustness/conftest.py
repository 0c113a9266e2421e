"""Robustness tests: the real server (`python -m uvicorn app.main:app` in a subprocess on a free
port, started by tests/live_server.py, with DIGITS_* overrides where a test needs other limits)
and, where answering in-process is enough, `TestClient(create_app(Settings(...)))` with its
lifespan running.

Every wait has a deadline, and every server started here is stopped by its own process.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from live_server import RunningServer, running_server, server_env

from app.main import create_app
from app.settings import Settings


@pytest.fixture(scope="session")
def server() -> Iterator[RunningServer]:
    """The real server with the default limits (2 MiB bodies, 4096×4096 images)."""
    with running_server() as running:
        yield running


@pytest.fixture(scope="session")
def small_limits_server() -> Iterator[RunningServer]:
    """The real server with the limits lowered through its environment variables."""
    env = server_env(max_body_bytes="65536", max_image_side="64")
    with running_server(env=env) as running:
        yield running


@pytest.fixture(scope="session")
def http(server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="session")
def app_client() -> Iterator[TestClient]:
    """The app in-process with its lifespan run (models loaded), default limits."""
    with TestClient(create_app(Settings())) as client:
        yield client


@pytest.fixture(scope="session")
def small_app_client() -> Iterator[TestClient]:
    """The app in-process with a 64×64 image limit and a 64 KiB body limit."""
    with TestClient(create_app(Settings(max_body_bytes=65536, max_image_side=64))) as client:
        yield client
