"""WebSocket /train attacked as a stranger would, on a real server: a plain `uvicorn
app.main:app`, whose frame limit is uvicorn's 16 MiB default, so that the app's own limits are
what is tested. Each hostile message gets an `error` and a close within 2 s, while GET /healthz
keeps answering within 1 s and the server's memory stays within 100 MB of where it started,
over the whole barrage: every test here measures from one baseline, taken when the server has
started and finished one run (MNIST and TensorFlow's training code are loaded once a process).

The hostile later messages need a run going, so they need MNIST in ../shared/data (CI has it).

Over 300 lines: one test per kind of hostile message, sharing the server and the memory check.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from live_server import RunningServer, running_server, server_env
from project_paths import SHARED_DATA
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

pytestmark = pytest.mark.slow

HAS_MNIST = (SHARED_DATA / "mnist.npz").is_file()
needs_mnist = pytest.mark.skipif(not HAS_MNIST, reason=f"MNIST is not in {SHARED_DATA}")

ANSWER_WITHIN_S = 2.0
HEALTHZ_WITHIN_S = 1.0
MB = 1_000_000
RSS_GROWTH_LIMIT = 100 * MB  # over the whole barrage, every run in it included
MiB = 1024 * 1024
# `step`s sent to a paused run by a client that reads nothing: each trains 5 batches (of 90 an
# epoch) and makes a snapshot.
STEPS_UNREAD = 40
# A run that stays busy while it is attacked: slow snapshots, many epochs.
LONG_RUN = {"digits": "0,1", "epochs": 50, "pace": "watch", "snapshot_every": 5}


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# Hostile first messages: (what is sent, a piece of the error's detail, the close code).
# Text is sent as a text frame, bytes as a binary frame.
FIRST_MESSAGES: list[tuple[str, str | bytes, str, int]] = [
    ("a range of 100 million digits", '{"digits": "0-99999999"}', "digits", 1008),
    ("a digit int() refuses", '{"digits": "²"}', "digits", 1008),
    ("a range to a 5,000-digit number", '{"digits": "0-' + "9" * 5000 + '"}', "digits", 1008),
    ("a 5,000-digit integer", '{"epochs": 1' + "0" * 5000 + "}", "epochs", 1008),
    ("a negative 30-digit integer", '{"batch_size": -' + "9" * 30 + "}", "batch_size", 1008),
    ("a float where an int belongs", '{"epochs": 5.0}', "epochs", 1008),
    ("a number as a string", '{"epochs": "5"}', "epochs", 1008),
    ("a boolean as a number", '{"batch_size": true}', "batch_size", 1008),
    ("a batch over 1,024", '{"batch_size": 1025}', "batch_size", 1008),
    ("NaN", '{"learning_rate": NaN}', "learning_rate", 1008),
    ("Infinity", '{"learning_rate": Infinity}', "learning_rate", 1008),
    ("a huge float", '{"learning_rate": 1e999}', "learning_rate", 1008),
    ("hidden units of 1e300", '{"hidden": [1e300]}', "hidden", 1008),
    ("hidden as 5,000 layers", '{"hidden": "' + "8," * 5000 + '8"}', "hidden", 1008),
    ("a list of 10,000 digits", json.dumps({"digits": list(range(10_000))}), "digits", 1008),
    ("a value nested 500 deep", '{"hidden": ' + nested(500) + "}", "hidden", 1008),
    ("arrays nested 10,000 deep", '{"digits": ' + nested(10_000) + "}", "nested", 1008),
    ("a bare nest 30,000 deep", nested(30_000), "nested", 1008),
    ("a 60 KB field name", json.dumps({"x" * 60_000: 1}), "unknown field", 1008),
    ("a 60 KB type", json.dumps({"type": "x" * 60_000}), "no such type", 1008),
    ("a 60 KB activation", json.dumps({"activation": "x" * 60_000}), "activation", 1008),
    ("1 MiB of text", json.dumps({"activation": "x" * MiB}), "64 KiB", 1009),
    ("not JSON", "epochs=5", "JSON", 1008),
    ("an empty message", "", "JSON", 1008),
    ("a binary frame", b'{"epochs": 5}', "binary", 1008),
    ("1 MiB in a binary frame", b"\0" * MiB, "binary", 1008),
    ("a JSON array", "[1, 2]", "JSON object", 1008),
    ("JSON null", "null", "JSON object", 1008),
    ("a control before any run", '{"type": "pause"}', "no run to pause", 1008),
    # The training lab's knobs.
    ("an unknown optimizer", '{"optimizer": "rmsprop"}', "optimizer", 1008),
    ("a 60 KB optimizer", json.dumps({"optimizer": "x" * 60_000}), "optimizer", 1008),
    ("an initializer as a list", '{"initializer": ["zeros"]}', "initializer", 1008),
    ("dropout of 1", '{"dropout": 1}', "dropout", 1008),
    ("dropout NaN", '{"dropout": NaN}', "dropout", 1008),
    ("l2 of -Infinity", '{"l2": -Infinity}', "l2", 1008),
    ("l2 as a 5,000-digit integer", '{"l2": 1' + "0" * 5000 + "}", "l2", 1008),
    ("l2 as a string", '{"l2": "0.01"}', "l2", 1008),
    ("train_examples of 1e300", '{"train_examples": 1e300}', "train_examples", 1008),
    ("train_examples of 40 digits", '{"train_examples": -' + "9" * 40 + "}",
     "train_examples", 1008),
    ("train_examples nested", '{"train_examples": ' + nested(500) + "}", "train_examples", 1008),
]

# Hostile messages during a run: each ends it with an error and a close...
FATAL_LATER_MESSAGES: list[tuple[str, str | bytes, str, int]] = [
    ("not JSON", "pause!", "JSON", 1008),
    ("a binary frame", b"\x00\x01", "binary", 1008),
    ("1 MiB of text", json.dumps({"type": "watch", "pixels": "x" * MiB}), "64 KiB", 1009),
    ("arrays nested 10,000 deep", '{"type": "watch", "pixels": ' + nested(10_000) + "}",
     "nested", 1008),
    ("an unknown type", '{"type": "explode"}', "type is one of", 1008),
    ("the settings again", json.dumps(LONG_RUN), "chosen once", 1008),
    ("step while running", '{"type": "step"}', "send pause first", 1008),
    ("a 60 KB type", json.dumps({"type": "x" * 60_000}), "type is one of", 1008),
    ("a JSON array", "[1, 2]", "type is one of", 1008),
]
# ... except a watched drawing that is not one: an error, and the run goes on.
ROW = "[" + ",".join(["0.5"] * 28) + "]"
BAD_WATCHES: list[tuple[str, str, str]] = [
    ("a huge integer pixel", "[[1" + "0" * 400 + ",0.5" * 27 + "]" + ("," + ROW) * 27 + "]",
     "only numbers"),
    ("a NaN pixel", "[[NaN" + ",0.5" * 27 + "]" + ("," + ROW) * 27 + "]", "NaN"),
    ("27 rows", "[" + ",".join([ROW] * 27) + "]", "28 rows of 28"),
    ("pixels as strings", '[["0.5"' + ',"0.5"' * 27 + "]" + ("," + ROW) * 27 + "]",
     "not text"),
]


@dataclass
class Watchdog:
    """GET /healthz every 50 ms and the server's RSS, on a thread, for a whole barrage."""

    server: RunningServer
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    peak_rss: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        with httpx.Client(base_url=self.server.url, timeout=5) as http:
            while not self._stop.wait(0.05):
                self.peak_rss = max(self.peak_rss, self.server.rss_bytes)
                started = time.monotonic()
                try:
                    answer = http.get("/healthz")
                    if answer.status_code != 200:
                        self.failures.append(f"/healthz answered {answer.status_code}")
                except httpx.HTTPError as error:
                    self.failures.append(f"/healthz failed: {error!r}")
                self.latencies.append(time.monotonic() - started)

    def check(self, baseline: Baseline, answered: list[str]) -> None:
        """/healthz answered within 1 s throughout, and RSS is within 100 MB of the barrage's
        baseline."""
        print("\n".join(answered))
        print(
            f"/healthz: {len(self.latencies)} answers, slowest {max(self.latencies):.3f} s; "
            f"peak RSS {self.peak_rss / MB:.0f} MB"
        )
        assert not self.failures, self.failures[:5]
        assert len(self.latencies) > 10
        assert max(self.latencies) < HEALTHZ_WITHIN_S
        baseline.check()

    @contextmanager
    def watching(self) -> Iterator[Watchdog]:
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(timeout=10)


@dataclass
class Baseline:
    """The server's RSS before the barrage; every test checks the growth since."""

    server: RunningServer
    rss: int

    def check(self) -> None:
        now = self.server.rss_bytes
        print(f"RSS {self.rss / MB:.0f} MB before the barrage, {now / MB:.0f} MB now")
        assert now - self.rss < RSS_GROWTH_LIMIT, (
            f"RSS grew {(now - self.rss) / MB:.0f} MB over the barrage"
        )
        self.server.assert_alive()


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    """A plain `uvicorn app.main:app` (16 MiB frames), training on, with MNIST if there is."""
    data_dir = SHARED_DATA if HAS_MNIST else None
    with running_server(env=server_env(data_dir=data_dir)) as running:
        yield running


@pytest.fixture(scope="module")
def baseline(server: RunningServer) -> Baseline:
    """What every run loads once per process (MNIST, TensorFlow's training code) is loaded
    before the baseline is taken: the barrage is measured, not the first run."""
    if HAS_MNIST:
        with start_run(server) as ws:
            ws.send(json.dumps({"type": "stop"}))
            while json.loads(ws.recv(timeout=120))["type"] != "done":
                pass
    started = Baseline(server, server.rss_bytes)
    print(f"RSS {started.rss / MB:.0f} MB before the barrage")
    return started


def ws_url(server: RunningServer) -> str:
    return f"ws://{server.host}:{server.port}/train"


def open_socket(server: RunningServer) -> Any:
    """`with open_socket(server) as ws:`; no size limit on the client's side: the server's
    answers are what is tested."""
    return connect(ws_url(server), max_size=None, open_timeout=10, close_timeout=2)


def error_and_close(ws: ClientConnection, within_s: float) -> tuple[dict[str, Any], int]:
    """The `error` message (skipping the run's own messages) and the close code, or fail if
    either takes longer than `within_s`."""
    deadline = time.monotonic() + within_s
    error = None
    try:
        while True:
            message = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if message["type"] == "error":
                error = message
                break
        ws.recv(timeout=max(0.01, deadline - time.monotonic()))
        pytest.fail(f"the socket stayed open after the error {error}")
    except ConnectionClosed as closed:
        assert error is not None, f"closed ({closed.rcvd}) without an error message"
        assert closed.rcvd is not None, "closed without a close frame"
        return error, closed.rcvd.code
    except TimeoutError:
        pytest.fail(f"no error and close within {within_s} s (got {error})")


@contextmanager
def start_run(server: RunningServer, timeout_s: float = 60) -> Iterator[ClientConnection]:
    """A socket with a run going (its `started` received); retried while the last run's thread
    is still winding down (the server says busy, code 1013)."""
    deadline = time.monotonic() + timeout_s
    while True:
        with open_socket(server) as ws:
            ws.send(json.dumps(LONG_RUN))
            message = json.loads(ws.recv(timeout=timeout_s))
            if message["type"] == "started":
                yield ws
                return
        assert "busy" in message.get("detail", ""), message
        assert time.monotonic() < deadline, "the last run never ended"
        time.sleep(0.2)


def test_a_barrage_of_hostile_first_messages_each_gets_an_error_and_a_close(
    server: RunningServer, baseline: Baseline
) -> None:
    watchdog = Watchdog(server)
    answered = []
    with watchdog.watching():
        for _ in range(10):  # a leak would grow with each round
            for name, sent, named, code in FIRST_MESSAGES:
                with open_socket(server) as ws:
                    started = time.monotonic()
                    ws.send(sent)
                    error, closed_with = error_and_close(ws, ANSWER_WITHIN_S)
                took = time.monotonic() - started
                assert named in error["detail"] and closed_with == code, (name, error)
                assert len(error["detail"]) < 400, (name, "the error echoes what it was sent")
                answered.append(f"{name}: {took:.2f} s")
    watchdog.check(baseline, answered)


@needs_mnist
def test_hostile_messages_during_runs_each_get_an_error_and_a_close(
    server: RunningServer, baseline: Baseline
) -> None:
    """Each fatal message ends its run, so each needs a run of its own: ten runs, within the
    barrage's one memory budget (a run leaves nothing behind: app/training_leftovers.py)."""
    watchdog = Watchdog(server)
    answered: list[str] = []
    with watchdog.watching():
        for name, sent, named, code in FATAL_LATER_MESSAGES:
            with start_run(server) as ws:
                started = time.monotonic()
                ws.send(sent)
                error, closed_with = error_and_close(ws, ANSWER_WITHIN_S)
            assert named in error["detail"] and closed_with == code, (name, error)
            answered.append(f"during a run, {name}: {time.monotonic() - started:.2f} s")
        answered += bad_watches_and_unread_steps_leave_the_run_going(server)
    watchdog.check(baseline, answered)


def test_a_frame_just_under_uvicorns_16_mib_is_refused_by_the_app(
    server: RunningServer, baseline: Baseline
) -> None:
    """A plain uvicorn reads frames of up to 16 MiB before the app sees them (`digits-serve`
    refuses them while they arrive); the app refuses what it is given past 64 KiB, and lets go
    of it."""
    for _ in range(3):
        with open_socket(server) as ws:
            ws.send(json.dumps({"activation": "x" * (15 * MiB)}))
            error, code = error_and_close(ws, ANSWER_WITHIN_S)
        assert "64 KiB" in error["detail"] and code == 1009
    baseline.check()


def bad_watches_and_unread_steps_leave_the_run_going(server: RunningServer) -> list[str]:
    """Bad watched drawings get an error each and the run goes on; then the paused run is sent
    `step` again and again by a client that reads nothing for a while: each step makes a
    snapshot, of which the server keeps only the latest."""
    answered = []
    with start_run(server) as ws:
        for name, pixels, named in BAD_WATCHES:
            started = time.monotonic()
            ws.send('{"type": "watch", "pixels": ' + pixels + "}")
            while (message := json.loads(ws.recv(timeout=ANSWER_WITHIN_S)))["type"] != "error":
                assert time.monotonic() - started < ANSWER_WITHIN_S, name
            assert named in message["detail"], (name, message)
            answered.append(f"watch {name}: error in {time.monotonic() - started:.2f} s")
        ws.send(json.dumps({"type": "pause"}))
        for _ in range(STEPS_UNREAD):
            ws.send('{"type": "step"}')
        time.sleep(5)  # the run steps on; nothing is read
        ws.send(json.dumps({"type": "stop"}))
        kinds = []
        try:
            while (message := json.loads(ws.recv(timeout=60)))["type"] != "done":
                kinds.append(message["type"])
        except TimeoutError:
            server.process.fail("a run stopped after bad watches sent no `done`")
    assert "error" not in kinds and kinds.count("progress") <= 3  # not one per step
    answered.append(f"{STEPS_UNREAD} steps unread, then {len(kinds)} messages: {kinds}")
    return answered


def test_training_turned_off_refuses_the_handshake_with_a_reason() -> None:
    with running_server(env=server_env(allow_training="false")) as off:
        started = time.monotonic()
        with pytest.raises(InvalidStatus) as refused, connect(ws_url(off), open_timeout=5):
            pass
        assert time.monotonic() - started < ANSWER_WITHIN_S
    assert refused.value.response.status_code == 403
    assert "turned off" in json.loads(refused.value.response.body)["detail"]


def test_silent_sockets_are_capped_in_number_and_time(
    server: RunningServer, baseline: Baseline
) -> None:
    from app.routers.training import FIRST_MESSAGE_TIMEOUT_S, MAX_WAITING_SOCKETS

    with ExitStack() as sockets:
        silent = [sockets.enter_context(open_socket(server)) for _ in range(MAX_WAITING_SOCKETS)]
        with pytest.raises(InvalidStatus) as refused, open_socket(server):
            pass
        assert refused.value.response.status_code == 503
        started = time.monotonic()
        error, code = error_and_close(silent[0], FIRST_MESSAGE_TIMEOUT_S + ANSWER_WITHIN_S)
        assert "settings within" in error["detail"] and code == 1008
        assert time.monotonic() - started < FIRST_MESSAGE_TIMEOUT_S + ANSWER_WITHIN_S
    with open_socket(server) as ws:  # room again
        ws.send('{"epochs": 0}')
        assert "epochs" in error_and_close(ws, ANSWER_WITHIN_S)[0]["detail"]
    baseline.check()
