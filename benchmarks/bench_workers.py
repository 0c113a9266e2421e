"""`make bench` (second part): requests/s of POST /predict with 1 and with 2 workers.

Starts `digits-serve --workers 1` and `digits-serve --workers 2` (the command the Docker image
runs) side by side on free loopback ports, and sends the same 280×280 canvas PNGs as
benchmarks/bench_predict.py (drawings/canvas.py; clients and measurement from
benchmarks/load_client.py) from 16 concurrent keep-alive clients. The two servers take turns in
short rounds, so that a shared machine that speeds up or slows down weighs on both alike.

Also reported, because they size a Kubernetes pod (deploy/kubernetes/): each worker's memory
after start-up and its peak under the load (RSS, and PSS, which shares the pages the workers
have in common fairly), the CPU the workers and the client used per request, and how the
clients' connections were spread over the workers.

Target: 2 workers answer ≥ 1.6 × the requests/s of 1. On a 2-core machine the client shares the
cores with the server, so the report also gives the ceiling that the CPU leaves on an otherwise
idle machine: all cores divided by the CPU a request costs server and client together, and at
most one core per worker (Python's GIL). Results go to benchmarks/results/workers.json; the exit
status is 1 when the target is missed.

Over 300 lines because it runs, measures and explains its figures itself: the ceiling the CPU
allows and the memory each worker takes are part of the report.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from benchmarks.bench_command import bench_arguments
from benchmarks.load_client import (
    RESULTS_DIR,
    Measurement,
    Sample,
    Server,
    Target,
    check_answers,
    combine,
    free_port,
    http_requests,
    measure,
    server_env,
    server_process,
    target_check,
    write_results,
)
from drawings.canvas import canvas_data_urls, predict_bodies

RESULTS_PATH = RESULTS_DIR / "workers.json"
SERVE = Path(sys.executable).parent / "digits-serve"
WORKER_COUNTS = (1, 2)
CLIENTS = 16
ROUNDS = 6
SPEED_UP_TARGET = 1.6
STARTUP_TIMEOUT_S = 180.0
MiB = 1024 * 1024


@dataclass
class WorkerServer:
    workers: int
    server: Server
    process: psutil.Process
    memory_after_startup: list[dict[str, float]] = field(default_factory=list)
    peak_rss_mib: dict[int, float] = field(default_factory=dict)
    cpu_seconds: float = 0.0
    connections_per_worker: list[list[int]] = field(default_factory=list)

    def worker_processes(self) -> list[psutil.Process]:
        """uvicorn's workers: children of digits-serve that run the app (not the resource
        tracker multiprocessing starts beside them)."""
        found = []
        for child in self.process.children(recursive=True):
            try:
                if "resource_tracker" not in " ".join(child.cmdline()):
                    found.append(child)
            except psutil.Error:
                pass
        # One worker: uvicorn serves in the digits-serve process itself.
        return found or [self.process]

    def cpu_total(self) -> float:
        processes = {p.pid: p for p in [self.process, *self.worker_processes()]}
        return sum(sum(p.cpu_times()[:2]) for p in processes.values())


@contextmanager
def serving(workers: int, log_path: Path) -> Iterator[WorkerServer]:
    env = server_env(DIGITS_WORKERS=str(workers))
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)  # digits-serve makes a fresh one for 2 workers
    port = free_port()
    command = [str(SERVE), "--port", str(port), "--log-level", "warning"]
    with server_process(command, env, log_path, stop_timeout_s=30) as popen:
        _wait_for_all_workers(popen, port, workers, log_path)
        yield WorkerServer(
            workers, Server(f"{workers} worker(s)", port, popen.pid), psutil.Process(popen.pid)
        )


def _wait_for_all_workers(
    popen: subprocess.Popen[bytes], port: int, workers: int, log_path: Path
) -> None:
    """Until /healthz answers from as many distinct workers as asked for (a new connection may
    reach any of them, and each loads TensorFlow on its own)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    answered: set[int] = set()
    parent = psutil.Process(popen.pid)
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise SystemExit(
                f"digits-serve --workers {workers} exited with {popen.returncode}; its log "
                f"({log_path}):\n{log_path.read_text(errors='replace')[-2000:]}"
            )
        try:
            with httpx.Client(timeout=5) as client:  # a new connection each time
                if client.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                    answered |= _pids_with_connections(parent, port)
        except httpx.HTTPError:
            pass
        if len(answered) >= workers:
            return
        time.sleep(0.2)
    raise SystemExit(f"digits-serve --workers {workers}: not every worker answered in time")


def _pids_with_connections(parent: psutil.Process, port: int) -> set[int]:
    pids = set()
    for process in [parent, *parent.children(recursive=True)]:
        try:
            for connection in process.net_connections(kind="tcp"):
                if connection.laddr.port == port and connection.status != psutil.CONN_LISTEN:
                    pids.add(process.pid)
        except psutil.Error:
            pass
    return pids


def memory_of(process: psutil.Process) -> dict[str, float]:
    info = process.memory_full_info()
    return {
        "pid": process.pid,
        "rss_mib": round(info.rss / MiB, 1),
        "pss_mib": round(info.pss / MiB, 1),
        "uss_mib": round(info.uss / MiB, 1),
    }


class PeakMemory:
    """Polls the workers' RSS while the block runs; keeps each one's highest."""

    def __init__(self, target: WorkerServer) -> None:
        self.target = target
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        peaks = self.target.peak_rss_mib
        while not self.stop.wait(0.1):
            for process in self.target.worker_processes():
                try:
                    rss = process.memory_info().rss / MiB
                except psutil.Error:
                    continue
                peaks[process.pid] = round(max(peaks.get(process.pid, 0.0), rss), 1)

    def __enter__(self) -> PeakMemory:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()


def connections_per_worker(target: WorkerServer) -> list[int]:
    counts = []
    for process in target.worker_processes():
        try:
            counts.append(
                sum(
                    1
                    for c in process.net_connections(kind="tcp")
                    if c.laddr.port == target.server.port and c.status == psutil.CONN_ESTABLISHED
                )
            )
        except psutil.Error:
            counts.append(0)
    return counts


def measure_round(target: WorkerServer, requests: list[bytes], args: argparse.Namespace) -> Sample:
    """One round of `CLIENTS` clients on one server; the CPU of all its workers is counted
    (bench_predict's measure counts only the process it started, here the supervisor)."""
    cpu_before = target.cpu_total()
    spread: list[list[int]] = []
    sampler = threading.Timer(args.seconds / ROUNDS / 2, lambda: spread.append(
        connections_per_worker(target)
    ))
    sampler.start()
    sample = measure(
        Target(target.server.name, target.server, requests),
        CLIENTS,
        args.requests // ROUNDS,
        args.seconds / ROUNDS,
    )
    sampler.join()
    target.cpu_seconds += target.cpu_total() - cpu_before
    target.connections_per_worker.extend(spread)
    return sample


def run(args: argparse.Namespace) -> dict[str, Any]:
    drawings = canvas_data_urls(args.drawings)
    bodies = predict_bodies(drawings)
    requests = http_requests("POST", "/predict", bodies)
    with (
        serving(1, RESULTS_DIR / "workers-1.log") as one,
        serving(2, RESULTS_DIR / "workers-2.log") as two,
    ):
        servers = [one, two]
        for target in servers:
            target.memory_after_startup = [memory_of(p) for p in target.worker_processes()]
            if check_answers(target.server, drawings) < 0.9:
                raise SystemExit(f"{target.server.name}: the drawings are not read as drawn")
            # Warm-up, not reported: every worker sees requests before the timing starts.
            measure(Target("warm-up", target.server, requests), CLIENTS, 400, 2.0)
        samples: dict[int, list[Sample]] = {target.workers: [] for target in servers}
        for _ in range(ROUNDS):
            for target in servers:
                with PeakMemory(target):
                    samples[target.workers].append(measure_round(target, requests, args))
        results = {
            target.workers: combine(
                Target(target.server.name, target.server, requests),
                CLIENTS,
                samples[target.workers],
            )
            for target in servers
        }
    return summary(servers, results, samples, bodies, args)


def summary(
    servers: list[WorkerServer],
    results: dict[int, Measurement],
    samples: dict[int, list[Sample]],
    bodies: list[bytes],
    args: argparse.Namespace,
) -> dict[str, Any]:
    speed_up = results[2].requests_per_s / results[1].requests_per_s
    per_server: dict[str, Any] = {}
    for target in servers:
        result = results[target.workers]
        client_cpu_ms = sum(s.client_cpu for s in samples[target.workers]) * 1000 / result.requests
        server_cpu_ms = target.cpu_seconds * 1000 / result.requests
        cores = os.cpu_count() or 1
        per_server[f"{target.workers}_workers"] = {
            "requests": result.requests,
            "errors": result.errors,
            "requests_per_s": result.requests_per_s,
            "median_ms": result.median_ms,
            "p99_ms": result.p99_ms,
            "server_cpu_ms_per_request": round(server_cpu_ms, 3),
            "client_cpu_ms_per_request": round(client_cpu_ms, 3),
            "server_cores_busy": round(target.cpu_seconds / result.seconds, 2),
            # The most this machine could give if nothing else ran: every core busy with this
            # server and its client, and each worker using at most about one core (the GIL).
            "cpu_ceiling_requests_per_s": round(
                min(
                    cores * 1000 / (server_cpu_ms + client_cpu_ms),
                    target.workers * 1000 / server_cpu_ms,
                ),
                1,
            ),
            "memory_after_startup": target.memory_after_startup,
            "peak_rss_mib_under_load": sorted(target.peak_rss_mib.values()),
            "connections_per_worker_samples": target.connections_per_worker,
        }
    return {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        },
        "setup": {
            "command": "digits-serve --workers N --log-level warning (access log off)",
            "clients": CLIENTS,
            "rounds": ROUNDS,
            "max_seconds_per_server": args.seconds,
            "drawings": len(bodies),
            "canvas": "280x280 RGBA PNG data URLs as the page exports (bench_predict's)",
        },
        "servers": per_server,
        "cpu_ceiling_speed_up_2_over_1": round(
            per_server["2_workers"]["cpu_ceiling_requests_per_s"]
            / per_server["1_workers"]["cpu_ceiling_requests_per_s"],
            2,
        ),
        "speed_up_2_over_1": target_check(round(speed_up, 2), SPEED_UP_TARGET, at_most=False),
    }


def report(result: dict[str, Any]) -> str:
    lines = [
        f"{'workers':>7} {'req/s':>8} {'median ms':>10} {'p99 ms':>8} {'server CPU ms/req':>18} "
        f"{'client CPU ms/req':>18} {'cores busy':>10} {'CPU ceiling req/s':>18}"
    ]
    for key, s in result["servers"].items():
        lines.append(
            f"{key.split('_')[0]:>7} {s['requests_per_s']:>8.1f} {s['median_ms']:>10.2f} "
            f"{s['p99_ms']:>8.2f} {s['server_cpu_ms_per_request']:>18.3f} "
            f"{s['client_cpu_ms_per_request']:>18.3f} {s['server_cores_busy']:>10.2f} "
            f"{s['cpu_ceiling_requests_per_s']:>18.1f}"
            + (f"  ({s['errors']} errors)" if s["errors"] else "")
        )
    lines.append("")
    for key, s in result["servers"].items():
        startup = ", ".join(
            f"RSS {m['rss_mib']:.0f} MiB (PSS {m['pss_mib']:.0f})"
            for m in s["memory_after_startup"]
        )
        peaks = ", ".join(f"{rss:.0f}" for rss in s["peak_rss_mib_under_load"])
        spread = s["connections_per_worker_samples"]
        lines.append(
            f"{key.replace('_', ' ')}: each worker after start-up {startup}; peak RSS under "
            f"load {peaks} MiB; connections per worker {spread[-1] if spread else '?'}"
        )
    verdict = result["speed_up_2_over_1"]
    lines.append("")
    lines.append(
        f"2 workers / 1 worker requests/s = {verdict['value']:.2f}  (target "
        f"{verdict['target']})  {'PASS' if verdict['pass'] else 'FAIL'}"
    )
    lines.append(
        f"(the CPU each request took would allow "
        f"{result['cpu_ceiling_speed_up_2_over_1']:.2f}× on an otherwise idle machine)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = bench_arguments(
        "bench_workers", __doc__, seconds=12.0, requests=12000,
        seconds_help="time per server, all rounds", requests_help="request cap per server",
    ).parse_args(argv)
    print(
        f"workers benchmark: {CLIENTS} clients, {args.drawings} canvases; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs before starting",
        flush=True,
    )
    result = run(args)
    print(report(result))
    write_results(result, RESULTS_PATH)
    return 0 if result["speed_up_2_over_1"]["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
