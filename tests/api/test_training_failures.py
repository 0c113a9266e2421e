"""A training run that fails tells its client a short reason, never a server path or an
exception's text; the traceback goes to the server's log (app/training_session.py). In-process:
what the client is sent is what is tested."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app import training_job
from app.main import create_app
from app.settings import Settings
from app.training_session import DATA_UNREADABLE, TRAINING_FAILED

RUN = {"digits": "0,1", "epochs": 1, "pace": "fast"}


def last_error(client: TestClient) -> tuple[dict[str, object], int]:
    """The run's `error` message and the close code."""
    with client.websocket_connect("/train") as ws:
        ws.send_json(RUN)
        message = ws.receive_json()
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    return message, closed.value.code


def test_mnist_that_cannot_be_read_is_an_error_naming_no_path(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, store_of: Callable[..., Path]
) -> None:
    secret = tmp_path / "secret-place"
    secret.mkdir()
    (secret / "mnist.npz").write_bytes(b"not a zip at all")
    settings = Settings(model_dir=store_of("digits-0-1"), data_dir=secret)
    with TestClient(create_app(settings)) as client:
        assert client.get("/train/availability").json()["available"] is True
        error, code = last_error(client)
    assert error == {"type": "error", "detail": DATA_UNREADABLE} and code == 1011
    assert "cannot read MNIST" in caplog.text and "mnist.npz" in caplog.text  # the log says why


def test_a_run_that_fails_says_so_in_one_line_and_logs_the_traceback(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    store_of: Callable[..., Path],
) -> None:
    def fails(*_: object) -> None:
        raise RuntimeError("/srv/secret-place/run.py exploded")

    monkeypatch.setattr(training_job, "train", fails)
    (tmp_path / "mnist.npz").write_bytes(b"")  # present: the run starts, and fails
    settings = Settings(model_dir=store_of("digits-0-1"), data_dir=tmp_path)
    with caplog.at_level(logging.ERROR), TestClient(create_app(settings)) as client:
        error, code = last_error(client)
    assert error == {"type": "error", "detail": TRAINING_FAILED} and code == 1011
    assert "Traceback" in caplog.text and "exploded" in caplog.text
