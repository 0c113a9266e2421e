"""The real server for the tests that need one: `uvicorn app.main:app` in a subprocess on a free
loopback port, stopped when the test's block ends.

A plain module, not a conftest: a test module that imported `conftest` by name got another
folder's conftest, depending on the collection order. Every test folder imports it as
`live_server`: pytest's default "prepend" import mode puts tests/ on sys.path when it loads
tests/conftest.py. Nothing here can hang: every wait has a deadline.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NoReturn

import httpx
import psutil
import pytest
from project_paths import REPO_ROOT

HOST = "127.0.0.1"
STARTUP_TIMEOUT_S = 90.0  # TensorFlow's import alone takes seconds, longer on a busy machine
STOP_TIMEOUT_S = 15.0
PORT_ATTEMPTS = 3
# Uvicorn prints this once its socket is bound, i.e. after the lifespan start-up succeeded.
SERVING_MARK = "Uvicorn running on"
PORT_TAKEN_MARK = "address already in use"
TAIL_CHARS = 3000

CommandForPort = Callable[[int], list[str]]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def uvicorn_command(port: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "app.main:app", "--host", HOST, "--port", str(port)]


def digits_serve_command(port: int) -> list[str]:
    """`digits-serve` (app/cli.py: uvicorn with the limits it sets) instead of plain uvicorn."""
    script = Path(sys.executable).parent / "digits-serve"
    launcher = [str(script)] if script.is_file() else [sys.executable, "-m", "app.cli"]
    return [*launcher, "--host", HOST, "--port", str(port)]


def server_env(**settings: str | Path | None) -> dict[str, str]:
    """The test process's environment with DIGITS_<NAME> from `settings` (None: the default),
    and without the developer's own DIGITS_* settings, so every server starts the same way."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DIGITS_")}
    env.update(PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2")
    for name, value in settings.items():
        if value is not None:
            env[f"DIGITS_{name.upper()}"] = str(value)
    return env


@dataclass
class ServerProcess:
    """A server subprocess whose stderr is read line by line on a thread, so a chatty server
    never blocks on a full pipe. With `log_path`, its whole output (the access log too) is also
    written there as it comes, to read after a failed run."""

    command: list[str]
    env: dict[str, str]
    log_path: Path | None = None
    popen: subprocess.Popen[str] = field(init=False)
    stderr_lines: list[str] = field(init=False, default_factory=list)
    _reader: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        # The access log (stdout) is dropped, unless everything goes to a log file: then it
        # shares one pipe with stderr, so the file keeps the order things happened in.
        to_log = self.log_path is not None
        self.popen = subprocess.Popen(
            self.command,
            cwd=REPO_ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if to_log else subprocess.DEVNULL,
            stderr=subprocess.STDOUT if to_log else subprocess.PIPE,
            text=True,
            errors="replace",
        )
        self._reader = threading.Thread(target=self._read_stderr, daemon=True)
        self._reader.start()

    def _read_stderr(self) -> None:
        pipe = self.popen.stdout or self.popen.stderr  # stdout: stderr merged into it
        assert pipe is not None
        with (self.log_path or Path(os.devnull)).open("w", encoding="utf-8") as log:
            for line in pipe:
                self.stderr_lines.append(line)
                log.write(line)
                log.flush()

    @property
    def stderr(self) -> str:
        return "".join(self.stderr_lines)

    def fail(self, problem: str) -> NoReturn:
        """Fails the test with the end of the server's stderr: that is where it says why."""
        where = f" (all of it in {self.log_path})" if self.log_path else ""
        pytest.fail(f"{problem}; the end of its stderr{where}:\n{self.stderr[-TAIL_CHARS:]}")

    def wait_until_serving_or_exit(self, timeout: float = STARTUP_TIMEOUT_S) -> bool:
        """True once the server listens; False if it exited first. Fails the test on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(SERVING_MARK in line for line in self.stderr_lines):
                return True
            if self.popen.poll() is not None:
                self._reader.join(timeout=5)
                return False
            time.sleep(0.05)
        self.fail(f"{' '.join(self.command)} neither served nor exited within {timeout:.0f} s")

    def stop(self) -> None:
        """Terminate, then kill if it ignores that; safe to call on an exited process."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)
        self._reader.join(timeout=5)
        for pipe in (self.popen.stdout, self.popen.stderr):
            if pipe is not None and not self._reader.is_alive():
                pipe.close()


@dataclass(frozen=True)
class RunningServer:
    """A server that answered GET /healthz: where it listens, and its process."""

    host: str
    port: int
    process: ServerProcess

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def stderr_lines(self) -> list[str]:
        """Grows while the server runs: slice it from an earlier length to see what a test
        made it log."""
        return self.process.stderr_lines

    @property
    def stderr(self) -> str:
        return self.process.stderr

    @property
    def rss_bytes(self) -> int:
        return psutil.Process(self.process.popen.pid).memory_info().rss

    def assert_alive(self) -> None:
        """The process still runs and still answers, after a test tried to hurt it."""
        assert self.process.popen.poll() is None, f"the server died:\n{self.stderr[-TAIL_CHARS:]}"
        answer = httpx.get(f"{self.url}/healthz", timeout=10)
        assert answer.status_code == 200, answer.text


@contextmanager
def running_server(
    model_dir: Path | None = None,
    command: CommandForPort = uvicorn_command,
    env: dict[str, str] | None = None,
    log_path: Path | None = None,
) -> Iterator[RunningServer]:
    """Serve `model_dir` (default: the shipped store) until the block ends; `env` replaces
    `server_env(model_dir=model_dir)`. Yields once GET /healthz answers 200."""
    env = env if env is not None else server_env(model_dir=model_dir)
    server = _start(command, env, log_path)
    try:
        yield server
    finally:
        server.process.stop()


def _start(command: CommandForPort, env: dict[str, str], log_path: Path | None) -> RunningServer:
    # Another process may take the free port before the server binds it: then try another.
    for _ in range(PORT_ATTEMPTS):
        port = free_port()
        process = ServerProcess(command(port), env, log_path)
        try:
            if process.wait_until_serving_or_exit():
                server = RunningServer(HOST, port, process)
                _wait_for_healthz(server)
                return server
        except BaseException:
            process.stop()
            raise
        process.stop()
        if PORT_TAKEN_MARK not in process.stderr:
            process.fail(f"the server exited with {process.popen.returncode} while starting")
    process.fail(f"no free port could be bound in {PORT_ATTEMPTS} attempts")


def _wait_for_healthz(server: RunningServer) -> None:
    """The serving mark says the socket is bound; a 200 says the app behind it answers."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.popen.poll() is not None:
            server.process.fail(
                f"the server exited with {server.process.popen.returncode} while starting"
            )
        try:
            if httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    server.process.fail(f"GET /healthz did not answer 200 within {STARTUP_TIMEOUT_S:.0f} s")


@dataclass(frozen=True)
class StartupOutcome:
    exit_code: int | None  # None: the server started serving (it was then stopped)
    stderr: str


def startup_outcome(
    model_dir: Path | None = None,
    command: list[str] | None = None,
    env: dict[str, str] | None = None,
    log_path: Path | None = None,
) -> StartupOutcome:
    """Start a server and report how start-up ended: its exit code, or None if it served.
    With `log_path`, `stderr` holds stdout too, in the order they were written."""
    process = ServerProcess(
        command or uvicorn_command(free_port()),
        env if env is not None else server_env(model_dir=model_dir),
        log_path,
    )
    try:
        served = process.wait_until_serving_or_exit()
    finally:
        process.stop()
    return StartupOutcome(None if served else process.popen.returncode, process.stderr)
