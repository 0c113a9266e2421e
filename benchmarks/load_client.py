"""What every benchmark here shares: its servers as subprocesses on free loopback ports, and
clients that load them with prepared requests and measure what the load costs.

Each client is a thread with its own keep-alive socket that sends prepared request bytes and
reads each answer by its Content-Length. Every measurement is bounded in requests and in time,
and reports its median and p99 latency, requests/s and the CPU the server and the client each
spent per request (the client's own cost is shown, not hidden: on a 2-core machine the client
shares the CPU with the server). Targets that a machine speeding up or slowing down would weigh
on unevenly take turns in short rounds (`measure_in_turns`).

Over 300 lines because every benchmark's servers, clients and measurements are shared from here
rather than written once per benchmark.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from drawings.canvas import predict_bodies

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
STARTUP_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 15.0


# --- servers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Server:
    name: str
    port: int
    pid: int


def server_env(**extra: str) -> dict[str, str]:
    """This process's environment without the developer's DIGITS_* settings, so every server
    starts the same way, plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DIGITS_")}
    env.update(TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1", **extra)
    return env


@contextmanager
def server_process(
    command: list[str], env: dict[str, str], log_path: Path, stop_timeout_s: float = STOP_TIMEOUT_S
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` with its output in ``log_path`` until the block ends; then terminate it
    (killed if it does not stop in time)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
        try:
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=stop_timeout_s)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


@contextmanager
def serving(
    name: str, app: str, ready_path: str, log_path: Path, env: dict[str, str] | None = None
) -> Iterator[Server]:
    """Run `uvicorn APP` with one worker on a free loopback port until the block ends."""
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1", "--no-access-log", "--log-level", "warning",
    ]
    with server_process(command, env or server_env(), log_path) as process:
        wait_until_ready(name, process, port, ready_path, log_path)
        yield Server(name=name, port=port, pid=process.pid)


def wait_until_ready(
    name: str, process: subprocess.Popen[bytes], port: int, path: str, log_path: Path
) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(
                f"{name} exited with {process.returncode} while starting; its log "
                f"({log_path}):\n{log_path.read_text(errors='replace')[-2000:]}"
            )
        # The port was free when picked; make sure it is our process that listens on it.
        if _listens(process.pid, port):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                connection.request("GET", path)
                if connection.getresponse().status == 200:
                    return
            except OSError:
                pass
            finally:
                connection.close()
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{name} did not answer GET {path} within {STARTUP_TIMEOUT_S:.0f} s")


def _listens(pid: int, port: int) -> bool:
    try:
        connections = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.Error:
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in connections)


# --- load generation -------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    label: str
    server: Server
    requests: list[bytes]  # whole HTTP/1.1 requests, cycled through


def http_requests(method: str, path: str, bodies: list[bytes] | None = None) -> list[bytes]:
    """Each request as the bytes sent on the wire, built once, so sending costs nothing."""
    if not bodies:
        return [f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()]
    return [
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n".encode() + body
        for body in bodies
    ]


class KeepAliveConnection:
    """The least a client can do: send prepared bytes, read one answer by its Content-Length.

    ``http.client`` parses headers into objects and costs about as much CPU per request as the
    server's own /healthz; on two cores that CPU is taken from the server being measured.
    """

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.pending = b""

    def exchange(self, request: bytes) -> tuple[int, bytes]:
        """Send one request; return the answer's status and body."""
        self.sock.sendall(request)
        data = self.pending
        while (end := data.find(b"\r\n\r\n")) < 0:
            data += self._receive()
        head = data[:end].lower()
        start = head.find(b"content-length:")
        if start < 0:
            raise ConnectionError(f"an answer without Content-Length: {head[:200]!r}")
        line_end = head.find(b"\r\n", start)
        length = int(head[start + 15 : line_end if line_end >= 0 else len(head)])
        body_start = end + 4
        while len(data) - body_start < length:
            data += self._receive()
        self.pending = data[body_start + length :]
        return int(head[9:12]), data[body_start : body_start + length]

    def _receive(self) -> bytes:
        chunk = self.sock.recv(262144)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        return chunk

    def close(self) -> None:
        self.sock.close()


@dataclass(frozen=True)
class Measurement:
    target: str
    clients: int
    requests: int
    errors: int
    seconds: float
    median_ms: float
    p99_ms: float
    requests_per_s: float
    server_cpu_ms_per_request: float
    client_cpu_ms_per_request: float


def _client(
    target: Target,
    offset: int,
    limit: int,
    start: threading.Barrier,
    deadline_box: list[float],
    latencies: list[float],
    errors: list[int],
) -> None:
    connection = KeepAliveConnection(target.server.port)
    requests = target.requests
    index = offset
    start.wait()
    deadline = deadline_box[0]
    timed: list[float] = []
    failed = 0
    clock = time.perf_counter
    while len(timed) < limit and clock() < deadline:
        request = requests[index % len(requests)]
        index += 1
        began = clock()
        status, _ = connection.exchange(request)
        timed.append(clock() - began)
        failed += status != 200
    connection.close()
    latencies.extend(timed)  # list.extend is atomic under the GIL
    errors.append(failed)


@dataclass
class Sample:
    """What one round of one target gave; rounds of the same target are added up."""

    latencies: list[float]
    errors: int
    seconds: float
    server_cpu: float
    client_cpu: float


def measure(target: Target, clients: int, max_requests: int, max_seconds: float) -> Sample:
    """`clients` concurrent keep-alive clients, until max_requests or max_seconds is reached."""
    latencies: list[float] = []
    errors: list[int] = []
    start = threading.Barrier(clients + 1)
    deadline_box = [math.inf]
    per_client = max(1, max_requests // clients)
    threads = [
        threading.Thread(
            target=_client,
            args=(target, 7 * i, per_client, start, deadline_box, latencies, errors),
        )
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    server = psutil.Process(target.server.pid)
    server_cpu_before = sum(server.cpu_times()[:2])
    client_cpu_before = time.process_time()
    began = time.perf_counter()
    deadline_box[0] = began + max_seconds
    start.wait()
    for thread in threads:
        thread.join()
    return Sample(
        latencies=latencies,
        errors=sum(errors),
        seconds=time.perf_counter() - began,
        server_cpu=sum(server.cpu_times()[:2]) - server_cpu_before,
        client_cpu=time.process_time() - client_cpu_before,
    )


def combine(target: Target, clients: int, samples: list[Sample]) -> Measurement:
    latencies = [latency for sample in samples for latency in sample.latencies]
    done = len(latencies)
    seconds = sum(sample.seconds for sample in samples)
    in_ms = np.array(latencies) * 1000.0
    return Measurement(
        target=target.label,
        clients=clients,
        requests=done,
        errors=sum(sample.errors for sample in samples),
        seconds=round(seconds, 3),
        median_ms=round(float(np.median(in_ms)), 3),
        p99_ms=round(float(np.percentile(in_ms, 99)), 3),
        requests_per_s=round(done / seconds, 1),
        server_cpu_ms_per_request=round(
            sum(sample.server_cpu for sample in samples) * 1000.0 / done, 3
        ),
        client_cpu_ms_per_request=round(
            sum(sample.client_cpu for sample in samples) * 1000.0 / done, 3
        ),
    )


def check_answers(server: Server, drawings: list[tuple[int, str]]) -> float:
    """Send every drawing once (warming the server up); the share read as the drawn digit."""
    connection = KeepAliveConnection(server.port)
    right = 0
    requests = http_requests("POST", "/predict", predict_bodies(drawings))
    for (digit, _), request in zip(drawings, requests, strict=True):
        status, body = connection.exchange(request)
        answer = json.loads(body)
        if status != 200:
            raise SystemExit(f"{server.name} answered {status}: {answer}")
        right += answer["prediction"] == digit
    connection.close()
    return right / len(drawings)


def measure_in_turns(
    targets: list[Target],
    clients: int,
    rounds: int,
    max_requests: Callable[[Target], int],
    max_seconds: float,
) -> list[Measurement]:
    """Each target measured in ``rounds`` short rounds that take turns with the other targets,
    so that a machine that speeds up or slows down during the run (a shared VM does) weighs on
    all of them alike; one row printed per target."""
    samples: dict[str, list[Sample]] = {target.label: [] for target in targets}
    for _ in range(rounds):
        for target in targets:
            samples[target.label].append(
                measure(target, clients, max_requests(target) // rounds, max_seconds / rounds)
            )
    results = [combine(target, clients, samples[target.label]) for target in targets]
    for result in results:
        print(row(result), flush=True)
    return results


HEADER = (
    f"{'target':<17} {'clients':>7} {'requests':>8} {'median ms':>10} {'p99 ms':>9} "
    f"{'req/s':>9} {'server CPU ms/req':>18} {'client CPU ms/req':>18}"
)


def row(m: Measurement) -> str:
    errors = f"  ({m.errors} errors)" if m.errors else ""
    return (
        f"{m.target:<17} {m.clients:>7} {m.requests:>8} {m.median_ms:>10.3f} {m.p99_ms:>9.3f} "
        f"{m.requests_per_s:>9.1f} {m.server_cpu_ms_per_request:>18.3f} "
        f"{m.client_cpu_ms_per_request:>18.3f}{errors}"
    )


def target_check(value: float, limit: float, at_most: bool) -> dict[str, Any]:
    """A target as the results files record it: the value, the target, whether it passed."""
    return {
        "value": value,
        "target": f"{'<=' if at_most else '>='} {limit:g}",
        "pass": value <= limit if at_most else value >= limit,
    }


def verdict_lines(targets: dict[str, dict[str, Any]]) -> list[str]:
    """One line per target: its value, the target and PASS or FAIL."""
    return [
        f"  {name} = {t['value']:g}  (target {t['target']})  {'PASS' if t['pass'] else 'FAIL'}"
        for name, t in targets.items()
    ]


def exit_status(targets: dict[str, dict[str, Any]]) -> int:
    """A benchmark's exit status: 1 when a target is missed."""
    return 0 if all(target["pass"] for target in targets.values()) else 1


def write_results(summary: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten to {os.path.relpath(path, REPO_ROOT)}")
