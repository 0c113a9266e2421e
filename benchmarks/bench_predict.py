"""`make bench`: how fast /predict answers canvas drawings, as ratios measured in one run.

Starts our server (`uvicorn app.main:app`, one worker) and the tutorial-style server
(benchmarks/tutorial_server.py: plain resize + ``model.predict`` per request, one worker) on
free loopback ports, then measures, each at 1 and at 16 concurrent clients:

- ``GET /healthz`` on our server (what the server stack alone costs),
- ``POST /predict`` on our server with realistic 280×280 canvas PNG data URLs (encoded as
  Chromium's canvas encodes them: tests/browser checks against the page's real export),
- ``POST /predict`` on the tutorial server with the same bodies,
- ``POST /predict?model=digits-0-9`` and ``?model=digits-0-9-cnn`` on our server: what the
  convolutional network costs beside the dense ten-digit one (when the CNN is in the store).

The clients, the measurements and the servers' start and stop are benchmarks/load_client.py's
(shared with the other benchmarks); the drawings are drawings/canvas.py's. Reported per
measurement: median and p99 latency, requests/s, and the CPU each side spent per request.

Targets (one worker, one client): /predict median ≤ 10 × /healthz median, and our /predict
requests/s ≥ 25 × the tutorial server's (simplicity is worth a fraction of a millisecond, not
more); /predict with the CNN median ≤ 3 × /predict with digits-0-9 median. Results go to
benchmarks/results/latest.json.
The exit status is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from dataclasses import asdict
from typing import Any

import numpy as np

from benchmarks.bench_command import bench_arguments, run_and_report
from benchmarks.load_client import (
    REPO_ROOT,
    RESULTS_DIR,
    Measurement,
    Target,
    check_answers,
    http_requests,
    measure,
    measure_in_turns,
    server_env,
    serving,
    target_check,
)
from drawings.canvas import CANVAS_SIDE, canvas_data_urls, predict_bodies

RESULTS_PATH = RESULTS_DIR / "latest.json"
MODEL_PATH = REPO_ROOT / "model_store" / "digits-0-1.keras"
MEDIAN_RATIO_TARGET = 10.0  # /predict median ≤ 10 × /healthz median (1 client)
THROUGHPUT_RATIO_TARGET = 25.0  # our /predict req/s ≥ 25 × the tutorial server's (1 client)
# The convolutional network beside the dense one of the same ten digits (1 client).
DENSE_MODEL, CNN_MODEL = "digits-0-9", "digits-0-9-cnn"
CNN_RATIO_TARGET = 3.0  # /predict?model=CNN median ≤ 3 × /predict?model=DENSE median
HAS_CNN = (REPO_ROOT / "model_store" / f"{CNN_MODEL}.json").is_file()
CONCURRENCIES = (1, 16)
ROUNDS = 8  # each measurement is split into rounds that alternate with the other targets


def run(args: argparse.Namespace) -> dict[str, Any]:
    drawings = canvas_data_urls(args.drawings)
    bodies = predict_bodies(drawings)
    sizes = [len(body) for body in bodies]
    env = server_env(BENCH_TUTORIAL_MODEL=str(MODEL_PATH))
    measurements: list[Measurement] = []
    accuracy: dict[str, float] = {}
    with (
        serving("our server", "app.main:app", "/healthz", RESULTS_DIR / "ours.log", env) as ours,
        serving(
            "tutorial server", "benchmarks.tutorial_server:app", "/",
            RESULTS_DIR / "tutorial.log", env,
        ) as tutorial,
    ):
        accuracy["ours"] = check_answers(ours, drawings)
        accuracy["tutorial"] = check_answers(tutorial, drawings)
        predict_requests = http_requests("POST", "/predict", bodies)
        targets = [
            Target("healthz", ours, http_requests("GET", "/healthz")),
            Target("predict", ours, predict_requests),
            Target("tutorial predict", tutorial, predict_requests),
        ]
        if HAS_CNN:
            targets += [
                Target(f"predict {name}", ours,
                       http_requests("POST", f"/predict?model={name}", bodies))
                for name in (DENSE_MODEL, CNN_MODEL)
            ]
        for target in targets:
            measure(target, 1, args.warmup, args.seconds)  # warm-up, not reported
        for clients in CONCURRENCIES:
            measurements += measure_in_turns(
                targets, clients, ROUNDS,
                lambda t: args.requests if t.server is ours else args.tutorial_requests,
                args.seconds,
            )
    return _summary(measurements, accuracy, sizes, args)


def _find(measurements: list[Measurement], target: str, clients: int) -> Measurement:
    return next(m for m in measurements if m.target == target and m.clients == clients)


def _summary(
    measurements: list[Measurement],
    accuracy: dict[str, float],
    sizes: list[int],
    args: argparse.Namespace,
) -> dict[str, Any]:
    # Over 60 lines: the results file's layout, written out as one literal.
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
        if HAS_CNN:
            dense = _find(measurements, f"predict {DENSE_MODEL}", clients)
            cnn = _find(measurements, f"predict {CNN_MODEL}", clients)
            ratios[clients]["cnn_predict_median_over_dense_predict_median"] = round(
                cnn.median_ms / dense.median_ms, 2
            )
    median_ratio = ratios[1]["predict_median_over_healthz_median"]
    throughput_ratio = ratios[1]["predict_rps_over_tutorial_rps"]
    cnn_target = {}
    if HAS_CNN:
        cnn_target["cnn_predict_median_over_dense_predict_median"] = target_check(
            ratios[1]["cnn_predict_median_over_dense_predict_median"], CNN_RATIO_TARGET,
            at_most=True,
        )
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
            "predict_median_over_healthz_median": target_check(
                median_ratio, MEDIAN_RATIO_TARGET, at_most=True
            ),
            "predict_rps_over_tutorial_rps": target_check(
                throughput_ratio, THROUGHPUT_RATIO_TARGET, at_most=False
            ),
            **cnn_target,
        },
    }

def report(summary: dict[str, Any]) -> list[str]:
    """The ratios (the table itself is printed row by row as it is measured)."""
    lines = []
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
            + (f", {CNN_MODEL}/{DENSE_MODEL} median = "
               f"{ratios['cnn_predict_median_over_dense_predict_median']:.2f}×"
               if "cnn_predict_median_over_dense_predict_median" in ratios else "")
        )
    lines.append("")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = bench_arguments(
        "bench_predict", __doc__, requests=4000, warmup=100,
        requests_help="request cap (our server)",
    )
    parser.add_argument(
        "--tutorial-requests", type=int, default=400, help="request cap (tutorial server)"
    )
    args = parser.parse_args(argv)
    banner = (
        f"benchmark: {args.drawings} canvases, ≤ {args.seconds:g} s per measurement; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs before starting"
    )
    return run_and_report(
        args, banner, run, report, "targets (one worker, one client):", RESULTS_PATH
    )


if __name__ == "__main__":
    sys.exit(main())
