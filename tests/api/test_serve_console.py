"""What `digits-serve` itself sets, seen from outside a real one: a start-up without
TensorFlow's native notices, and WebSocket frames capped near the socket's 64 KiB message limit
(uvicorn's own default would buffer 16 MiB before the app could refuse it)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from live_server import RunningServer, digits_serve_command, running_server, server_env
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from app.cli import WS_MAX_SIZE
from app.training_runs import MAX_MESSAGE_BYTES

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

TENSORFLOW_NOTICES = ("absl::InitializeLog", "oneDNN custom operations")


@pytest.fixture(scope="module")
def served() -> Iterator[RunningServer]:
    env = server_env()
    env.pop("TF_CPP_MIN_LOG_LEVEL")  # as a user starts it
    with running_server(command=digits_serve_command, env=env) as server:
        yield server


def test_start_up_prints_no_tensorflow_notices(served: RunningServer) -> None:
    assert "Serving the app at" in served.stderr or "Uvicorn running on" in served.stderr
    for notice in TENSORFLOW_NOTICES:
        assert notice not in served.stderr, served.stderr


def test_a_message_just_over_64_kib_reaches_the_app_which_names_the_limit(
    served: RunningServer,
) -> None:
    assert WS_MAX_SIZE > MAX_MESSAGE_BYTES + 4096
    padding = "x" * (MAX_MESSAGE_BYTES + 1024)
    with connect(f"ws://{served.host}:{served.port}/train") as socket:
        socket.send(json.dumps({"padding": padding}))
        error = json.loads(socket.recv(timeout=30))
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=30)
    assert error["type"] == "error" and "64 KiB" in error["detail"]
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_a_frame_of_a_mebibyte_is_refused_by_the_server_before_the_app(
    served: RunningServer,
) -> None:
    with connect(f"ws://{served.host}:{served.port}/train") as socket:
        socket.send("x" * 2**20)
        with pytest.raises(ConnectionClosed) as closed:
            socket.recv(timeout=30)  # no `error` message: the app never saw the frame
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    served.assert_alive()
