"""`make bench` (the backward pass): what a POST /gradients costs beside a POST /predict of the
same drawing.

Starts our server (`uvicorn app.main:app`, one worker) and sends the same 280×280 canvas PNG
data URLs as benchmarks/bench_predict.py (drawings/canvas.py; the clients and the
measurement are benchmarks/load_client.py's) to /predict and to /gradients, each drawing asking
to be the other digit (what the page's "Teach it" sends after a wrong answer), from one
keep-alive client and from 16. The two endpoints take turns in short rounds, so that a shared
machine that speeds up or slows down weighs on both alike.

The same for the convolutional network (`?model=digits-0-9-cnn`, when it is in the store).

Targets (one client): the median /gradients call takes ≤ 2 × the median /predict call, for the
default model and for the CNN. Also reported: the server CPU per request of each. Results go
to benchmarks/results/gradients.json; the exit status is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from benchmarks.bench_command import bench_arguments, run_and_report, setup_of
from benchmarks.load_client import (
    REPO_ROOT,
    RESULTS_DIR,
    Measurement,
    Target,
    http_requests,
    measure,
    measure_in_turns,
    serving,
    target_check,
)
from drawings.canvas import canvas_data_urls, predict_bodies

RESULTS_PATH = RESULTS_DIR / "gradients.json"
MEDIAN_RATIO_TARGET = 2.0  # /gradients median ≤ 2 × /predict median (1 client)
CNN_MODEL = "digits-0-9-cnn"
HAS_CNN = (REPO_ROOT / "model_store" / f"{CNN_MODEL}.json").is_file()
# (label of the /predict target, label of the /gradients target, ratio's name suffix)
PAIRS = [("predict", "gradients", "")] + (
    [(f"predict {CNN_MODEL}", f"gradients {CNN_MODEL}", "_cnn")] if HAS_CNN else []
)
CONCURRENCIES = (1, 16)
ROUNDS = 8


def request_bodies(drawings: list[tuple[int, str]]) -> tuple[list[bytes], list[bytes]]:
    """The same drawings for /predict, and for /gradients with the other digit as target."""
    predict = predict_bodies(drawings)
    gradients = [
        json.dumps({"image": url, "target": str(1 - digit)}).encode() for digit, url in drawings
    ]
    return predict, gradients


def check_gradients(target: Target, count: int) -> None:
    """Every /gradients request answers 200 with a loss (a benchmark of errors proves nothing)."""
    sample = measure(Target(target.label, target.server, target.requests[:count]), 1, count, 60)
    if sample.errors:
        raise SystemExit(f"{sample.errors} of {count} /gradients requests failed")


def run(args: argparse.Namespace) -> dict[str, Any]:
    drawings = canvas_data_urls(args.drawings)
    for_predict, for_gradients = request_bodies(drawings)
    measurements: list[Measurement] = []
    with serving("our server", "app.main:app", "/healthz", RESULTS_DIR / "gradients.log") as ours:
        targets = [
            Target("predict", ours, http_requests("POST", "/predict", for_predict)),
            Target("gradients", ours, http_requests("POST", "/gradients", for_gradients)),
        ]
        if HAS_CNN:
            query = f"?model={CNN_MODEL}"
            targets += [
                Target(f"predict {CNN_MODEL}", ours,
                       http_requests("POST", f"/predict{query}", for_predict)),
                Target(f"gradients {CNN_MODEL}", ours,
                       http_requests("POST", f"/gradients{query}", for_gradients)),
            ]
            check_gradients(targets[3], len(drawings))
        check_gradients(targets[1], len(drawings))
        for target in targets:
            measure(target, 1, args.warmup, args.seconds)  # warm-up, not reported
        for clients in CONCURRENCIES:
            measurements += measure_in_turns(
                targets, clients, ROUNDS, lambda _: args.requests, args.seconds
            )
    return summarize(measurements, args)


def summarize(measurements: list[Measurement], args: argparse.Namespace) -> dict[str, Any]:
    def find(target: str, clients: int) -> Measurement:
        return next(m for m in measurements if m.target == target and m.clients == clients)

    ratios: dict[str, dict[str, float]] = {}
    for clients in CONCURRENCIES:
        ratios[f"{clients}_clients"] = {}
        for predict_label, gradients_label, suffix in PAIRS:
            predict, gradients = find(predict_label, clients), find(gradients_label, clients)
            ratios[f"{clients}_clients"] |= {
                f"gradients_median_over_predict_median{suffix}": round(
                    gradients.median_ms / predict.median_ms, 3
                ),
                f"gradients_cpu_over_predict_cpu{suffix}": round(
                    gradients.server_cpu_ms_per_request / predict.server_cpu_ms_per_request, 3
                ),
            }
    return {
        "setup": setup_of(args),
        "measurements": [vars(m) for m in measurements],
        "ratios": ratios,
        "targets": {
            f"gradients_median_over_predict_median{suffix}_1_client": target_check(
                ratios["1_clients"][f"gradients_median_over_predict_median{suffix}"],
                MEDIAN_RATIO_TARGET,
                at_most=True,
            )
            for _, _, suffix in PAIRS
        },
    }


def report(summary: dict[str, Any]) -> list[str]:
    lines = []
    for clients_key, ratios in summary["ratios"].items():
        for _, _, suffix in PAIRS:
            lines.append(
                f"{clients_key.replace('_', ' ')}{' ' + CNN_MODEL if suffix else ''}: "
                f"gradients/predict median = "
                f"{ratios[f'gradients_median_over_predict_median{suffix}']:.2f}×, server CPU per "
                f"request {ratios[f'gradients_cpu_over_predict_cpu{suffix}']:.2f}×"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = bench_arguments("bench_gradients", __doc__, requests=2000, warmup=100)
    args = parser.parse_args(argv)
    banner = f"/gradients beside /predict: {args.drawings} canvases, ≤ {args.seconds:g} s each"
    return run_and_report(args, banner, run, report, "target (one client):", RESULTS_PATH)


if __name__ == "__main__":
    sys.exit(main())
