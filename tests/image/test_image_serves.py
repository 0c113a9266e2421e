"""The built image serves the app: `digits-serve`, the image's own command, run by buildah in a
container of the image, answers drawn 0s and 1s as the app on this checkout does, reports its
metrics, keeps training off and runs as the non-root user, which cannot change what it serves.

`make image-test` builds the image first (deploy/container/build.sh).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import psutil
import pytest
from container_image import image_config, image_container, run_in, serving_container
from fastapi.testclient import TestClient
from live_server import RunningServer

from app.main import create_app
from app.settings import Settings
from drawings.canvas import canvas_data_urls

pytestmark = pytest.mark.image

DRAWINGS = canvas_data_urls(12, seed=28)  # six 0s and six 1s, as the page's canvas sends them
# The image may hold newer NumPy and TensorFlow than this checkout's venv: the same network on
# the same input then differs in the last float32 digits only.
TOLERANCE = 1e-4
# The folders the app serves from, which its user must not be able to change.
SERVED_FOLDERS = ("model_store", "static", "templates", "app", "core")


@pytest.fixture(scope="module")
def container() -> Iterator[str]:
    with image_container() as name:
        yield name


@pytest.fixture(scope="module")
def server(container: str) -> Iterator[RunningServer]:
    with serving_container(container) as running:
        yield running


@pytest.fixture(scope="module")
def answers(server: RunningServer) -> list[dict]:
    """The image's answers to the drawings, in order."""
    with httpx.Client(base_url=server.url, timeout=30) as client:
        replies = [client.post("/predict", json={"image": url}) for _, url in DRAWINGS]
    for reply in replies:
        assert reply.status_code == 200, reply.text
    return [reply.json() for reply in replies]


def test_drawn_zeros_and_ones_are_read_right(answers: list[dict]) -> None:
    assert [answer["prediction"] for answer in answers] == [digit for digit, _ in DRAWINGS]
    assert all(answer["model"] == "digits-0-1" for answer in answers)


def test_the_answers_are_the_checkouts_own(answers: list[dict]) -> None:
    """Same model, same preprocessing: the image's probabilities and hidden activations are the
    ones the app on this checkout gives for the same drawings."""
    with TestClient(create_app(Settings())) as client:
        expected = [client.post("/predict", json={"image": url}).json() for _, url in DRAWINGS]
    for got, want in zip(answers, expected, strict=True):
        assert got["probabilities"] == pytest.approx(want["probabilities"], abs=TOLERANCE)
        for got_layer, want_layer in zip(got["layers"], want["layers"], strict=True):
            assert got_layer["values"] == pytest.approx(want_layer["values"], abs=TOLERANCE)


def test_metrics_count_the_predictions(server: RunningServer, answers: list[dict]) -> None:
    reply = httpx.get(f"{server.url}/metrics", timeout=10)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain")
    counted = [
        line for line in reply.text.splitlines()
        if line.startswith('digits_predictions_total{model="digits-0-1"}')
    ]
    assert counted, reply.text[:2000]
    assert float(counted[0].split()[-1]) >= len(answers)


def test_training_is_off_by_default(server: RunningServer) -> None:
    assert image_config().env.get("DIGITS_ALLOW_TRAINING") == "false"
    reply = httpx.get(f"{server.url}/train/availability", timeout=10)
    assert reply.status_code == 200
    availability = reply.json()
    assert availability["available"] is False
    assert "turned off" in availability["detail"], availability


def test_the_server_runs_as_the_images_non_root_user(server: RunningServer) -> None:
    uid, _, gid = image_config().user.partition(":")
    servers = [
        process for process in psutil.Process(server.process.popen.pid).children(recursive=True)
        if "digits-serve" in " ".join(process.cmdline())
    ]
    assert servers, "no digits-serve process under buildah run"
    for process in servers:
        assert process.uids().real == int(uid) != 0
        assert process.gids().real == int(gid or uid)


@pytest.mark.parametrize("folder", SERVED_FOLDERS)
def test_the_app_user_cannot_change_what_it_serves(container: str, folder: str) -> None:
    """Run as the image's user: appending to a file of the folder and adding one are refused."""
    probe = run_in(container, "python", "-c", WRITE_ATTEMPTS, folder)
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.split() == ["refused", "refused"]


WRITE_ATTEMPTS = """
import sys
from pathlib import Path

folder = Path(sys.argv[1])
existing = next(path for path in sorted(folder.rglob("*")) if path.is_file())
for attempt in (lambda: existing.open("ab").close(), lambda: (folder / "new-file").touch()):
    try:
        attempt()
        print("written")
    except PermissionError:
        print("refused")
"""
