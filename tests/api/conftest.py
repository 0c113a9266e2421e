"""API tests run against the real server: `uvicorn app.main:app` in a subprocess on a free port.

`server_url` is one server on the shipped model store for the whole session; `start_server`
runs a server on any model folder (or any command) and `startup_outcome` runs one only until it
either serves or exits, for the start-up-failure tests. Nothing here can hang: every wait has a
deadline.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL_STORE = REPO_ROOT / "model_store"
SHARED_MNIST = REPO_ROOT.parent / "shared" / "data" / "mnist.npz"
STARTUP_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
# Uvicorn prints this once its socket is bound, i.e. after the lifespan start-up succeeded.
SERVING_MARK = "Uvicorn running on"
PORT_TAKEN_MARK = "address already in use"

CommandForPort = Callable[[int], list[str]]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def uvicorn_command(port: int) -> list[str]:
    return [
        sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1",
        "--port", str(port),
    ]


def server_env(model_dir: Path | None = None, **extra: str) -> dict[str, str]:
    """The test process's environment without any DIGITS_* setting of the developer's."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DIGITS_")}
    env.update(PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2")
    if model_dir is not None:
        env["DIGITS_MODEL_DIR"] = str(model_dir)
    env.update(extra)
    return env


@dataclass
class ServerProcess:
    """A server subprocess whose stderr is read line by line on a thread (so it never blocks)."""

    command: list[str]
    env: dict[str, str]
    process: subprocess.Popen[str] = field(init=False)
    lines: list[str] = field(init=False, default_factory=list)
    _reader: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        self.process = subprocess.Popen(
            self.command,
            cwd=REPO_ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # the access log
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()

    def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.append(line)

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    def wait_until_serving_or_exit(self, timeout: float = STARTUP_TIMEOUT_S) -> bool:
        """True once the server listens; False if it exited first. Fails the test on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(SERVING_MARK in line for line in self.lines):
                return True
            if self.process.poll() is not None:
                self._reader.join(timeout=5)
                return False
            time.sleep(0.05)
        self.stop()
        pytest.fail(
            f"{' '.join(self.command)} neither served nor exited within {timeout:.0f} s:\n"
            f"{self.stderr[-3000:]}"
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self._reader.join(timeout=5)


@contextmanager
def running_server(
    model_dir: Path | None = None,
    command: CommandForPort = uvicorn_command,
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Serve on a free port until the block ends; yields the base URL once /healthz is 200."""
    env = env if env is not None else server_env(model_dir)
    for _ in range(3):  # another process may grab the free port before the server binds it
        port = free_port()
        server = ServerProcess(command(port), env)
        if server.wait_until_serving_or_exit():
            break
        if PORT_TAKEN_MARK not in server.stderr:
            pytest.fail(
                f"the server exited with {server.process.returncode} while starting:\n"
                f"{server.stderr[-3000:]}"
            )
    else:
        pytest.fail(f"no free port could be bound:\n{server.stderr[-3000:]}")
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_healthz(url, server)
        yield url
    finally:
        server.stop()


def _wait_for_healthz(url: str, server: ServerProcess) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"the server exited while starting:\n{server.stderr[-3000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.stop()
    pytest.fail(f"GET /healthz did not answer 200 within {STARTUP_TIMEOUT_S:.0f} s")


@dataclass(frozen=True)
class StartupOutcome:
    exit_code: int | None  # None: the server started serving (it was then stopped)
    stderr: str


def startup_outcome(
    model_dir: Path | None = None,
    command: list[str] | None = None,
    env: dict[str, str] | None = None,
) -> StartupOutcome:
    """Start a server and report how start-up ended: its exit code, or None if it served."""
    command = command or uvicorn_command(free_port())
    server = ServerProcess(command, env if env is not None else server_env(model_dir))
    served = server.wait_until_serving_or_exit()
    server.stop()
    return StartupOutcome(None if served else server.process.returncode, server.stderr)


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """One real server on the shipped model store, for every API test of the session."""
    with running_server() as url:
        yield url


@pytest.fixture(scope="session")
def client(server_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server_url, timeout=30) as http_client:
        yield http_client


@pytest.fixture(scope="session")
def start_server() -> Callable[..., AbstractContextManager[str]]:
    """`with start_server(model_dir) as url:` serves that folder until the block ends."""
    return running_server


@pytest.fixture(scope="session")
def run_startup() -> Callable[..., StartupOutcome]:
    """`run_startup(model_dir)` → StartupOutcome(exit_code or None if it served, stderr)."""
    return startup_outcome


@pytest.fixture(scope="session")
def digits_0_1() -> tuple[np.ndarray, np.ndarray]:
    """MNIST-form 0s and 1s, (n, 28, 28) float32 in [0, 1] with ink high, and their labels:
    real MNIST test digits when ../shared/data holds MNIST, else drawn look-alikes."""
    if SHARED_MNIST.is_file():
        with np.load(SHARED_MNIST) as archive:
            images, labels = archive["x_test"], archive["y_test"]
        wanted = np.flatnonzero(labels <= 1)[:40]
        return images[wanted].astype(np.float32) / 255.0, labels[wanted]
    return _synthetic_digits()


@pytest.fixture(scope="session")
def mnist_all_digits() -> tuple[np.ndarray, np.ndarray]:
    """The first 100 MNIST test digits (all ten kinds), MNIST form; skips without MNIST."""
    if not SHARED_MNIST.is_file():
        pytest.skip(f"MNIST is not at {SHARED_MNIST}")
    with np.load(SHARED_MNIST) as archive:
        images, labels = archive["x_test"][:100], archive["y_test"][:100]
    return images.astype(np.float32) / 255.0, labels


def _synthetic_digits() -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image, ImageDraw

    images, labels = [], []
    for shift in range(-2, 3):
        for digit in (0, 1):
            image = Image.new("L", (28, 28), 0)
            draw = ImageDraw.Draw(image)
            if digit == 0:
                draw.ellipse((9 + shift, 5, 19 + shift, 23), outline=255, width=3)
            else:
                draw.line((14 + shift, 5, 14 + shift, 23), fill=255, width=3)
            images.append(np.asarray(image, dtype=np.float32) / 255.0)
            labels.append(digit)
    return np.stack(images), np.array(labels)


OTHER_MODEL = "digits-2-5-7"
OTHER_CLASSES = ["2", "5", "7"]


@pytest.fixture(scope="session")
def two_model_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped 0/1 model (with its detector) and a freshly built three-class softmax
    model, `digits-2-5-7`."""
    import keras

    from training.model_store_writer import save_model_with_card

    store = tmp_path_factory.mktemp("stores") / "two-models"
    store.mkdir()
    for path in MODEL_STORE.glob("digits-0-1.*"):
        shutil.copy2(path, store / path.name)
    keras.utils.set_random_seed(7)
    model = keras.Sequential(
        [
            keras.Input(shape=(784,), name="pixels"),
            keras.layers.Dense(12, activation="relu", name="hidden_1"),
            keras.layers.Dense(len(OTHER_CLASSES), activation="softmax", name="output"),
        ]
    )
    card = {
        "name": OTHER_MODEL,
        "classes": OTHER_CLASSES,
        "architecture": {
            "layers": [
                {"name": "hidden_1", "units": 12, "activation": "relu"},
                {"name": "output", "units": 3, "activation": "softmax"},
            ]
        },
        "metrics": {"test": {"loss": 1.1, "accuracy": 0.33}},
    }
    save_model_with_card(model, card, store, OTHER_MODEL)
    return store


@pytest.fixture(scope="session")
def two_model_url(two_model_store: Path) -> Iterator[str]:
    """A server on `two_model_store` (default: the shipped model)."""
    with running_server(two_model_store) as url:
        yield url
