"""`make bench` ("Train your own"): what a training run from the page costs the server.

Starts our server (`uvicorn app.main:app`, one worker) with DIGITS_DATA_DIR set to the MNIST
folder given by --data and talks to WebSocket /train as the page does (the `websockets`
client). Five figures, each with its target:

1. the first `progress` message arrives ≤ 3 s after the first message (0/1, pace fast; the
   median of three runs). Reported too: the first progress after a trained batch (the first
   one shows the starting weights, before Keras has traced its training step);
2. with pace fast, an epoch of 0/1 takes ≤ 2 s (the time between consecutive `epoch` messages,
   epochs 2-5; the first epoch, which includes the tracing, is reported beside them), and an
   epoch of a small CNN on 0/1 (the page's "Convolutions" 4,8) ≤ 5 s (epochs 2-3);
3. while a ten-digit run trains (pace fast), POST /predict's median (one keep-alive client, the
   canvas PNGs of bench_predict) is ≤ 3 × its idle median. The run is paused and resumed in
   turns, so the idle and the busy rounds alternate and a drifting machine weighs on both;
4. the server's memory (resident set) while that ten-digit run trains stays < 1.2 GB;
5. the training lab's signals (each snapshot's layer signals and alerts) cost little: a 0/1
   epoch at pace fast with them takes ≤ 1.5 × as long as without (`"signals": false`), the
   median of epochs 2-4 of a run each way, measured one after the other in one server.

Results go to benchmarks/results/training.json; the exit status is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import psutil
from websockets.sync.client import ClientConnection, connect

from benchmarks.load_client import (
    REPO_ROOT,
    RESULTS_DIR,
    Server,
    Target,
    combine,
    http_requests,
    measure,
    server_env,
    serving,
)
from drawings.canvas import canvas_data_urls, predict_bodies

RESULTS_PATH = RESULTS_DIR / "training.json"
LOG_PATH = RESULTS_DIR / "training-server.log"
FIRST_PROGRESS_TARGET_S = 3.0
EPOCH_TARGET_S = 2.0
CNN_EPOCH_TARGET_S = 5.0
CNN = {"conv": [4, 8], "hidden": [16], "activation": "relu"}
PREDICT_RATIO_TARGET = 3.0
SIGNALS_RATIO_TARGET = 1.5
MEMORY_TARGET_BYTES = 1.2e9
ROUNDS = 6  # idle and training rounds of /predict, alternating
ROUND_S = 3.0


def serving_with_data(data: Path) -> AbstractContextManager[Server]:
    env = server_env(DIGITS_DATA_DIR=str(data))
    return serving("our server", "app.main:app", "/healthz", LOG_PATH, env)


class RunReader:
    """Reads a run's messages on a thread, noting when each arrived."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.messages: list[tuple[float, dict[str, Any]]] = []
        self.finished = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for text in self.socket:
                message = json.loads(text)
                self.messages.append((time.perf_counter(), message))
                if message["type"] in ("done", "error"):
                    break
        finally:
            self.finished.set()

    def first(self, predicate: Any, timeout_s: float = 120.0) -> tuple[float, dict[str, Any]]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for at, message in list(self.messages):
                if predicate(message):
                    return at, message
            if self.finished.is_set() and not any(predicate(m) for _, m in self.messages):
                break
            time.sleep(0.01)
        raise SystemExit(f"no such message; got {[m['type'] for _, m in self.messages][-5:]}")


@contextmanager
def training_run(
    port: int, settings: dict[str, Any]
) -> Iterator[tuple[ClientConnection, RunReader, float]]:
    """A run over WebSocket /train: the socket, its reader, and when the settings were sent."""
    with connect(f"ws://127.0.0.1:{port}/train", max_size=2**22) as socket:
        sent_at = time.perf_counter()
        socket.send(json.dumps(settings))
        yield socket, RunReader(socket), sent_at


def first_progress(port: int) -> dict[str, float]:
    with training_run(port, {"digits": "0,1", "epochs": 1, "pace": "fast"}) as (_, reader, sent_at):
        any_at, _ = reader.first(lambda m: m["type"] == "progress")
        trained_at, _ = reader.first(lambda m: m["type"] == "progress" and m["batch"] > 0)
        reader.first(lambda m: m["type"] == "done")
    return {"first_progress_s": any_at - sent_at, "first_trained_progress_s": trained_at - sent_at}


def epoch_times(port: int, epochs: int = 5, **settings: Any) -> dict[str, Any]:
    run = {"digits": "0,1", "epochs": epochs, "pace": "fast", **settings}
    with training_run(port, run) as (_, reader, _):
        reader.first(lambda m: m["type"] == "done")
    start, _ = reader.first(lambda m: m["type"] == "progress")
    ends = [at for at, m in reader.messages if m["type"] == "epoch"]
    durations = [b - a for a, b in zip([start, *ends[:-1]], ends, strict=True)]
    return {"first_epoch_s": durations[0], "later_epochs_s": durations[1:]}


def signals_cost(port: int) -> dict[str, Any]:
    """A 0/1 epoch at pace fast with the layer signals and without, one run each way."""
    without = epoch_times(port, epochs=4, signals=False)["later_epochs_s"]
    with_signals = epoch_times(port, epochs=4, signals=True)["later_epochs_s"]
    ratio = statistics.median(with_signals) / statistics.median(without)
    return {"epochs_without_signals_s": without, "epochs_with_signals_s": with_signals,
            "signals_epoch_ratio": ratio}


def predict_while_training(server: Server) -> dict[str, Any]:
    """/predict idle and while a ten-digit run trains (paused and resumed in turns); the
    server's resident memory sampled throughout."""
    bodies = predict_bodies(canvas_data_urls(64))
    target = Target("POST /predict", server, http_requests("POST", "/predict", bodies))
    measure(target, 1, 300, 2.0)  # warm up
    process = psutil.Process(server.pid)
    idle_rss = process.memory_info().rss
    peak = [idle_rss]
    sampling = threading.Event()

    def sample_memory() -> None:
        while not sampling.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.1)

    sampler = threading.Thread(target=sample_memory, daemon=True)
    sampler.start()
    idle, busy = [], []
    ten_digits = {"digits": "0-9", "hidden": [128, 64], "epochs": 50, "pace": "fast"}
    with training_run(server.port, ten_digits) as (socket, reader, _):
        reader.first(lambda m: m["type"] == "progress" and m["batch"] > 0)
        for _ in range(ROUNDS // 2):
            busy.append(measure(target, 1, 100_000, ROUND_S))
            socket.send(json.dumps({"type": "pause"}))
            time.sleep(0.3)  # the batch under way ends
            idle.append(measure(target, 1, 100_000, ROUND_S))
            socket.send(json.dumps({"type": "resume"}))
            time.sleep(0.3)
        socket.send(json.dumps({"type": "stop"}))
        reader.first(lambda m: m["type"] == "done", timeout_s=60)
    sampling.set()
    sampler.join()
    idle_m, busy_m = combine(target, 1, idle), combine(target, 1, busy)
    return {
        "predict_idle": idle_m.__dict__,
        "predict_training": busy_m.__dict__,
        "predict_median_ratio": busy_m.median_ms / idle_m.median_ms,
        "idle_rss_bytes": idle_rss,
        "peak_rss_bytes_ten_digit_run": peak[0],
        "epochs_trained_meanwhile": sum(1 for _, m in reader.messages if m["type"] == "epoch"),
    }


def main(argv: list[str] | None = None) -> int:
    # Over 60 lines: the measurements, their checks and their printed report, in that order.
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared" / "data")
    args = parser.parse_args(argv)
    if not args.data.exists():
        print(f"bench_training: skipped, no MNIST at {args.data} (pass --data)")
        return 0
    with serving_with_data(args.data.resolve()) as server:
        starts = [first_progress(server.port) for _ in range(3)]
        epochs = epoch_times(server.port)
        signals = signals_cost(server.port)
        cnn_epochs = epoch_times(server.port, epochs=3, **CNN)
        load = predict_while_training(server)
    first = statistics.median(s["first_progress_s"] for s in starts)
    first_trained = statistics.median(s["first_trained_progress_s"] for s in starts)
    slowest_epoch = max(epochs["later_epochs_s"])
    checks = {
        "first progress ≤ 3 s": first <= FIRST_PROGRESS_TARGET_S,
        "0/1 epoch (pace fast) ≤ 2 s": slowest_epoch <= EPOCH_TARGET_S,
        "0/1 CNN epoch (pace fast) ≤ 5 s": max(cnn_epochs["later_epochs_s"]) <= CNN_EPOCH_TARGET_S,
        "/predict median while training ≤ 3× idle": (
            load["predict_median_ratio"] <= PREDICT_RATIO_TARGET
        ),
        "memory during a ten-digit run < 1.2 GB": (
            load["peak_rss_bytes_ten_digit_run"] < MEMORY_TARGET_BYTES
        ),
        "0/1 epoch with signals ≤ 1.5× without": (
            signals["signals_epoch_ratio"] <= SIGNALS_RATIO_TARGET
        ),
    }
    results = {
        "first_progress_s": round(first, 3),
        "first_trained_progress_s": round(first_trained, 3),
        "first_progress_runs": starts,
        **epochs,
        **signals,
        "cnn": {**CNN, **cnn_epochs},
        **load,
        "checks": checks,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    RESULTS_PATH.write_text(json.dumps(results, indent=2) + "\n")
    idle, busy = load["predict_idle"], load["predict_training"]
    print(f"first progress {first:.2f} s (after a trained batch {first_trained:.2f} s)")
    print(f"0/1 epochs, pace fast: first {epochs['first_epoch_s']:.2f} s (with tracing), then "
          + ", ".join(f"{s:.2f}" for s in epochs["later_epochs_s"]) + " s")
    print("0/1 epochs, pace fast, without signals "
          + ", ".join(f"{t:.2f}" for t in signals["epochs_without_signals_s"]) + " s, with "
          + ", ".join(f"{t:.2f}" for t in signals["epochs_with_signals_s"])
          + f" s ({signals['signals_epoch_ratio']:.2f}×)")
    print(f"0/1 CNN epochs (conv 4,8), pace fast: first {cnn_epochs['first_epoch_s']:.2f} s, then "
          + ", ".join(f"{s:.2f}" for s in cnn_epochs["later_epochs_s"]) + " s")
    print(f"/predict median idle {idle['median_ms']:.2f} ms, while training "
          f"{busy['median_ms']:.2f} ms ({load['predict_median_ratio']:.2f}×)")
    print(f"server memory: idle {load['idle_rss_bytes'] / 1e6:.0f} MB, ten-digit run peak "
          f"{load['peak_rss_bytes_ten_digit_run'] / 1e6:.0f} MB")
    for name, ok in checks.items():
        print(f"{'ok  ' if ok else 'MISS'} {name}")
    print(f"wrote {RESULTS_PATH.relative_to(REPO_ROOT)}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
