"""`make bench`: how fast /predict answers canvas drawings, as ratios measured in one run.

Starts our server (`uvicorn app.main:app`, one worker) and the tutorial-style server
(benchmarks/tutorial_server.py: plain resize + ``model.predict`` per request, one worker) on
free loopback ports, then measures, each at 1 and at 16 concurrent clients:

- ``GET /healthz`` on our server (what the server stack alone costs),
- ``POST /predict`` on our server with realistic 280×280 canvas PNG data URLs (encoded as
  Chromium's canvas encodes them: tests/browser checks against the page's real export),
- ``POST /predict`` on the tutorial server with the same bodies.

Each client is a thread with its own keep-alive socket that sends prepared request bytes and
reads each answer by its Content-Length. Every measurement is bounded in requests and in time.
Reported per measurement: median and p99 latency, requests/s, and the CPU each side spent per
request (the client's own cost is shown, not hidden: on this 2-core machine the client shares
the CPU with the server).

Targets (one worker, one client): /predict median ≤ 10 × /healthz median, and our /predict
requests/s ≥ 25 × the tutorial server's (issue 12: simplicity is worth a fraction of a
millisecond, not more). Results go to benchmarks/results/latest.json.
The exit status is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import math
import os
import platform
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psutil
from PIL import Image, ImageDraw

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_PATH = REPO_ROOT / "benchmarks" / "results" / "latest.json"
MODEL_PATH = REPO_ROOT / "model_store" / "digits-0-1.keras"

CANVAS_SIDE = 280  # what the page exports (static/js/drawing_canvas.js)
INK = (17, 24, 39, 255)  # #111827, opaque, as the page draws its strokes
STROKE_FRACTION = 0.075
SUPERSAMPLE = 3  # drawn larger, then reduced: anti-aliased edges like a browser canvas

MEDIAN_RATIO_TARGET = 10.0  # /predict median ≤ 10 × /healthz median (1 client)
THROUGHPUT_RATIO_TARGET = 25.0  # our /predict req/s ≥ 25 × the tutorial server's (1 client)
CONCURRENCIES = (1, 16)
ROUNDS = 8  # each measurement is split into rounds that alternate with the other targets
STARTUP_TIMEOUT_S = 120.0


# --- realistic canvas drawings ---------------------------------------------------------------


def _stroke(draw: ImageDraw.ImageDraw, points: list[tuple[float, float]], width: int) -> None:
    """A round-capped, round-joined polyline, as canvas lineCap/lineJoin = 'round' draws it."""
    draw.line(points, fill=INK, width=width, joint="curve")
    radius = width / 2
    for x, y in (points[0], points[-1]):
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=INK)


def draw_canvas(digit: int, rng: np.random.Generator) -> Image.Image:
    """A 280×280 transparent canvas with a hand-drawn-looking 0 (a wobbly loop) or 1 (a slanted bar,
    sometimes with a flag and a base), at a random size, place and slant."""
    side = CANVAS_SIDE * SUPERSAMPLE
    # The page's export: the strokes on a transparent canvas (static/js/drawing_canvas.js).
    image = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    width = round(side * STROKE_FRACTION * rng.uniform(0.8, 1.2))
    centre_x, centre_y = side * rng.uniform(0.4, 0.6), side * rng.uniform(0.42, 0.58)
    height = side * rng.uniform(0.5, 0.75)
    slant = rng.uniform(-0.25, 0.25)
    if digit == 0:
        turns = np.linspace(0.0, 2.0 * math.pi * rng.uniform(1.02, 1.12), 60)
        radius_x = height * rng.uniform(0.28, 0.4)
        wobble = 1.0 + 0.06 * np.sin(3 * turns + rng.uniform(0, 2 * math.pi))
        ys = centre_y - height / 2 * np.cos(turns) * wobble
        xs = centre_x + radius_x * np.sin(turns) * wobble + slant * (centre_y - ys)
        _stroke(draw, list(zip(xs.tolist(), ys.tolist(), strict=True)), width)
    else:
        top = (centre_x + slant * height / 2, centre_y - height / 2)
        bottom = (centre_x - slant * height / 2, centre_y + height / 2)
        _stroke(draw, [top, bottom], width)
        if rng.random() < 0.4:  # the flag of a European 1
            flag = (top[0] - height * 0.22, top[1] + height * 0.2)
            _stroke(draw, [flag, top], width)
        if rng.random() < 0.2:  # a base
            half = height * 0.18
            _stroke(draw, [(bottom[0] - half, bottom[1]), (bottom[0] + half, bottom[1])], width)
    return image.reduce(SUPERSAMPLE)


def png_like_chromium(image: Image.Image) -> bytes:
    """An RGBA image as PNG bytes the way Chromium's canvas.toDataURL() encodes them: every row
    with the Up filter, deflate at its fastest level (tests/browser check the filters, the level
    flag and the size against a real export).
    Pillow would choose filters per row and compress harder: a different, smaller file."""
    pixels = np.asarray(image.convert("RGBA"))
    height, width, _ = pixels.shape
    rows = pixels.reshape(height, width * 4)
    filtered = np.empty((height, 1 + width * 4), dtype=np.uint8)
    filtered[:, 0] = 2  # Up: each byte minus the byte above it
    filtered[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(filtered.tobytes(), 1))
        + _png_chunk(b"IEND", b"")
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def canvas_data_urls(count: int, seed: int = 0) -> list[tuple[int, str]]:
    """(digit, PNG data URL) pairs, half 0s and half 1s, encoded as Chromium encodes them."""
    rng = np.random.default_rng(seed)
    drawings = []
    for index in range(count):
        digit = index % 2
        png = png_like_chromium(draw_canvas(digit, rng))
        drawings.append((digit, "data:image/png;base64," + base64.b64encode(png).decode()))
    return drawings


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


@contextmanager
def serving(name: str, app: str, ready_path: str, log_path: Path) -> Iterator[Server]:
    """Run `uvicorn APP` with one worker on a free loopback port until the block ends."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("DIGITS_")}
    env.update(TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    env["BENCH_TUTORIAL_MODEL"] = str(MODEL_PATH)
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1", "--no-access-log", "--log-level", "warning",
    ]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
        )
        try:
            _wait_until_ready(name, process, port, ready_path, log_path)
            yield Server(name=name, port=port, pid=process.pid)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def _wait_until_ready(
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
    bodies = [json.dumps({"image": url}).encode() for _, url in drawings]
    right = 0
    requests = http_requests("POST", "/predict", bodies)
    for (digit, _), request in zip(drawings, requests, strict=True):
        status, body = connection.exchange(request)
        answer = json.loads(body)
        if status != 200:
            raise SystemExit(f"{server.name} answered {status}: {answer}")
        right += answer["prediction"] == digit
    connection.close()
    return right / len(drawings)


# --- the run ---------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    drawings = canvas_data_urls(args.drawings)
    bodies = [json.dumps({"image": url}).encode() for _, url in drawings]
    sizes = [len(body) for body in bodies]
    logs = REPO_ROOT / "benchmarks" / "results"
    measurements: list[Measurement] = []
    accuracy: dict[str, float] = {}
    with (
        serving("our server", "app.main:app", "/healthz", logs / "ours.log") as ours,
        serving("tutorial server", "benchmarks.tutorial_server:app", "/", logs / "tutorial.log")
        as tutorial,
    ):
        accuracy["ours"] = check_answers(ours, drawings)
        accuracy["tutorial"] = check_answers(tutorial, drawings)
        predict_requests = http_requests("POST", "/predict", bodies)
        targets = [
            Target("healthz", ours, http_requests("GET", "/healthz")),
            Target("predict", ours, predict_requests),
            Target("tutorial predict", tutorial, predict_requests),
        ]
        for target in targets:
            measure(target, 1, args.warmup, args.seconds)  # warm-up, not reported
        # The targets take turns, ROUNDS times each, so that a machine that speeds up or slows
        # down during the run (a shared 2-core VM does) weighs on all of them alike.
        for clients in CONCURRENCIES:
            samples: dict[str, list[Sample]] = {target.label: [] for target in targets}
            for _ in range(ROUNDS):
                for target in targets:
                    limit = args.requests if target.server is ours else args.tutorial_requests
                    samples[target.label].append(
                        measure(target, clients, limit // ROUNDS, args.seconds / ROUNDS)
                    )
            for target in targets:
                result = combine(target, clients, samples[target.label])
                measurements.append(result)
                print(_row(result), flush=True)
    return _summary(measurements, accuracy, sizes, args)


def _find(measurements: list[Measurement], target: str, clients: int) -> Measurement:
    return next(m for m in measurements if m.target == target and m.clients == clients)


def _summary(
    measurements: list[Measurement],
    accuracy: dict[str, float],
    sizes: list[int],
    args: argparse.Namespace,
) -> dict[str, Any]:
    ratios = {}
    for clients in CONCURRENCIES:
        healthz, predict = _find(measurements, "healthz", clients), _find(
            measurements, "predict", clients
        )
        tutorial = _find(measurements, "tutorial predict", clients)
        ratios[clients] = {
            "predict_median_over_healthz_median": round(predict.median_ms / healthz.median_ms, 2),
            "predict_rps_over_tutorial_rps": round(
                predict.requests_per_s / tutorial.requests_per_s, 1
            ),
        }
    median_ratio = ratios[1]["predict_median_over_healthz_median"]
    throughput_ratio = ratios[1]["predict_rps_over_tutorial_rps"]
    return {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1m": round(os.getloadavg()[0], 2),
        },
        "setup": {
            "workers_per_server": 1,
            "uvicorn_flags": "--workers 1 --no-access-log --log-level warning (both servers)",
            "drawings": len(sizes),
            "canvas": f"{CANVAS_SIDE}x{CANVAS_SIDE} RGBA PNG data URL, dark strokes on a "
            "transparent canvas, as the page exports, encoded as Chromium's toDataURL does "
            "(Up filter on every row, zlib level 1)",
            "rounds": ROUNDS,
            "body_bytes_median": int(np.median(sizes)),
            "max_seconds_per_measurement": args.seconds,
            "client": "one thread per client, each a keep-alive socket sending prepared requests",
        },
        "drawn_digit_read_correctly": accuracy,
        "measurements": [asdict(m) for m in measurements],
        "ratios": {f"{clients}_clients": value for clients, value in ratios.items()},
        "targets": {
            "predict_median_over_healthz_median": {
                "value": median_ratio,
                "target": f"<= {MEDIAN_RATIO_TARGET:g}",
                "pass": median_ratio <= MEDIAN_RATIO_TARGET,
            },
            "predict_rps_over_tutorial_rps": {
                "value": throughput_ratio,
                "target": f">= {THROUGHPUT_RATIO_TARGET:g}",
                "pass": throughput_ratio >= THROUGHPUT_RATIO_TARGET,
            },
        },
    }


HEADER = (
    f"{'target':<17} {'clients':>7} {'requests':>8} {'median ms':>10} {'p99 ms':>9} "
    f"{'req/s':>9} {'server CPU ms/req':>18} {'client CPU ms/req':>18}"
)


def _row(m: Measurement) -> str:
    errors = f"  ({m.errors} errors)" if m.errors else ""
    return (
        f"{m.target:<17} {m.clients:>7} {m.requests:>8} {m.median_ms:>10.3f} {m.p99_ms:>9.3f} "
        f"{m.requests_per_s:>9.1f} {m.server_cpu_ms_per_request:>18.3f} "
        f"{m.client_cpu_ms_per_request:>18.3f}{errors}"
    )


def report(summary: dict[str, Any]) -> str:
    """The ratios and verdicts (the table itself is printed row by row as it is measured)."""
    lines = [""]
    accuracy = summary["drawn_digit_read_correctly"]
    lines.append(
        f"drawn digit read correctly: ours {accuracy['ours']:.0%}, "
        f"tutorial {accuracy['tutorial']:.0%} (of {summary['setup']['drawings']} canvases)"
    )
    for clients_key, ratios in summary["ratios"].items():
        lines.append(
            f"{clients_key.replace('_', ' ')}: predict/healthz median = "
            f"{ratios['predict_median_over_healthz_median']:.2f}×, "
            f"ours/tutorial req/s = {ratios['predict_rps_over_tutorial_rps']:.1f}×"
        )
    lines.append("")
    lines.append("targets (one worker, one client):")
    for name, target in summary["targets"].items():
        verdict = "PASS" if target["pass"] else "FAIL"
        lines.append(f"  {name} = {target['value']:g}  (target {target['target']})  {verdict}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_predict", description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="time cap per measurement")
    parser.add_argument("--requests", type=int, default=4000, help="request cap (our server)")
    parser.add_argument(
        "--tutorial-requests", type=int, default=400, help="request cap (tutorial server)"
    )
    parser.add_argument("--warmup", type=int, default=100, help="warm-up requests per target")
    parser.add_argument("--drawings", type=int, default=32, help="distinct canvases sent")
    args = parser.parse_args(argv)

    load = os.getloadavg()[0]
    print(
        f"benchmark: {args.drawings} canvases, ≤ {args.seconds:g} s per measurement; "
        f"load average {load:.1f} on {os.cpu_count()} CPUs before starting"
    )
    print(HEADER, flush=True)
    summary = run(args)
    print(report(summary))
    RESULTS_PATH.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_PATH.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten to {RESULTS_PATH.relative_to(REPO_ROOT)}")
    return 0 if all(target["pass"] for target in summary["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
