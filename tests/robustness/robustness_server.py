"""The real server for the robustness tests: `uvicorn app.main:app` in a subprocess."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 15.0
SERVING_MARK = "Uvicorn running on"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RunningServer:
    url: str
    host: str
    port: int
    process: subprocess.Popen[str]
    stderr_lines: list[str]

    @property
    def rss_bytes(self) -> int:
        return psutil.Process(self.process.pid).memory_info().rss

    @property
    def stderr(self) -> str:
        return "".join(self.stderr_lines)

    def assert_alive(self) -> None:
        assert self.process.poll() is None, f"the server died:\n{self.stderr[-3000:]}"
        answer = httpx.get(f"{self.url}/healthz", timeout=10)
        assert answer.status_code == 200, answer.text


@contextmanager
def running_server(**settings: str) -> Iterator[RunningServer]:
    """Serve until the block ends, with DIGITS_<NAME> set from `settings` (name=value)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DIGITS_")}
    env.update(PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2")
    env.update({f"DIGITS_{name.upper()}": value for name, value in settings.items()})
    for _ in range(3):  # another process may take the free port before the server binds it
        port = free_port()
        command = [
            sys.executable, "-m", "uvicorn", "app.main:app",
            "--host", "127.0.0.1", "--port", str(port),
        ]
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # the access log
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        lines: list[str] = []
        reader = threading.Thread(target=_collect, args=(process, lines), daemon=True)
        reader.start()
        server = RunningServer(f"http://127.0.0.1:{port}", "127.0.0.1", port, process, lines)
        try:
            if _wait_until_serving(server):
                break
        except BaseException:
            _stop(process, reader)
            raise
        _stop(process, reader)
        if "address already in use" not in server.stderr:
            pytest.fail(f"the server exited while starting:\n{server.stderr[-3000:]}")
    else:
        pytest.fail("no free port could be bound")
    try:
        yield server
    finally:
        _stop(process, reader)


def _collect(process: subprocess.Popen[str], lines: list[str]) -> None:
    assert process.stderr is not None
    for line in process.stderr:
        lines.append(line)


def _wait_until_serving(server: RunningServer) -> bool:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        if any(SERVING_MARK in line for line in server.stderr_lines):
            try:
                if httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
        time.sleep(0.05)
    pytest.fail(f"the server did not serve within {STARTUP_TIMEOUT_S:.0f} s:\n{server.stderr}")


def _stop(process: subprocess.Popen[str], reader: threading.Thread) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    reader.join(timeout=5)
