"""`make bench` (fool it, and what it wants to see): what a POST /adversarial and a POST /dream
cost beside a POST /predict of the same drawing, in one run.

Starts our server (`uvicorn app.main:app`, one worker) and sends the 280×280 canvas PNG data URLs
of benchmarks/bench_predict.py (drawings/canvas.py) to /predict and to /adversarial (each drawing
asked to become the other digit: what the page's "Fool it" sends), at the default 20 steps and at
the bound of 100, on the default 0/1 model, the ten-digit model (512 and 256 units, the widest
shipped) and the CNN (three convolutions, the costliest pass per step); and /dream for each class
and for hidden units of the 0/1 model, at the default 50 steps and at 100, and for classes and
map cells of the CNN at 100. One keep-alive client; the targets take turns in short rounds, so
that a shared machine that speeds up or slows down weighs on all alike.

Target (what a user would feel): the page's call, /adversarial at the default settings, takes
≤ 5 × a /predict's median; every call at the bound of 100 steps stays under a second. Results go
to benchmarks/results/fool_and_dream.json; the exit status is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from benchmarks.bench_command import bench_arguments, run_and_report, setup_of
from benchmarks.load_client import (
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

RESULTS_PATH = RESULTS_DIR / "fool_and_dream.json"
DEFAULT_RATIO_TARGET = 5.0  # /adversarial (default settings) median ≤ 5 × /predict median
BOUND_MS_TARGET = 1000.0  # any call at 100 steps: median under a second
ROUNDS = 4


def adversarial_bodies(drawings: list[tuple[int, str]], **settings: Any) -> list[bytes]:
    """The drawings, each asked to become the other digit."""
    return [
        json.dumps({"image": url, "target": str(1 - digit), **settings}).encode()
        for digit, url in drawings
    ]


def dream_bodies(steps: int | None = None) -> list[bytes]:
    """Each class of the 0/1 model and a few units of each hidden layer."""
    extra = {} if steps is None else {"steps": steps}
    wanted: list[dict[str, Any]] = [{"class": "0"}, {"class": "1"}]
    wanted += [{"layer": "hidden_1", "unit": unit} for unit in (0, 7, 19)]
    wanted += [{"layer": "hidden_2", "unit": unit} for unit in (2, 11)]
    return [json.dumps({**body, **extra}).encode() for body in wanted]


def cnn_dream_bodies(steps: int) -> list[bytes]:
    """Two classes of the CNN, a cell of its first and second convolutions' maps and a unit
    of its dense layer."""
    wanted: list[dict[str, Any]] = [{"class": "3"}, {"class": "7"}]
    wanted += [{"layer": "conv_1", "unit": 6000}, {"layer": "conv_2", "unit": 3000},
               {"layer": "hidden_1", "unit": 5}]
    return [json.dumps({**body, "steps": steps}).encode() for body in wanted]


def targets_on(server: Any, drawings: list[tuple[int, str]]) -> list[Target]:
    ten = "/adversarial?model=digits-0-9"
    cnn = "/adversarial?model=digits-0-9-cnn"
    return [
        Target("predict", server, http_requests("POST", "/predict", predict_bodies(drawings))),
        Target("adversarial", server, http_requests(
            "POST", "/adversarial", adversarial_bodies(drawings))),
        Target("adversarial_100", server, http_requests(
            "POST", "/adversarial", adversarial_bodies(drawings, steps=100))),
        Target("adversarial_0-9", server, http_requests(
            "POST", ten, adversarial_bodies(drawings))),
        Target("adversarial_0-9_100", server, http_requests(
            "POST", ten, adversarial_bodies(drawings, steps=100))),
        Target("adversarial_cnn", server, http_requests(
            "POST", cnn, adversarial_bodies(drawings))),
        Target("adversarial_cnn_100", server, http_requests(
            "POST", cnn, adversarial_bodies(drawings, steps=100))),
        Target("dream", server, http_requests("POST", "/dream", dream_bodies())),
        Target("dream_100", server, http_requests("POST", "/dream", dream_bodies(100))),
        Target("dream_cnn_100", server, http_requests(
            "POST", "/dream?model=digits-0-9-cnn", cnn_dream_bodies(100))),
    ]


def check_answers(targets: list[Target]) -> None:
    """Every request answers 200 (a benchmark of errors proves nothing)."""
    for target in targets:
        count = len(target.requests)
        sample = measure(target, 1, count, 120)
        if sample.errors:
            raise SystemExit(f"{sample.errors} of {count} {target.label} requests failed")


def run(args: argparse.Namespace) -> dict[str, Any]:
    drawings = canvas_data_urls(args.drawings)
    log = RESULTS_DIR / "fool_and_dream.log"
    with serving("our server", "app.main:app", "/healthz", log) as ours:
        targets = targets_on(ours, drawings)
        check_answers(targets)  # also the warm-up
        measurements = measure_in_turns(
            targets, 1, ROUNDS, lambda _: args.requests, args.seconds
        )
    return summarize(measurements, args)


def summarize(measurements: list[Measurement], args: argparse.Namespace) -> dict[str, Any]:
    by_target = {m.target: m for m in measurements}
    predict = by_target["predict"]
    ratios = {
        f"{name}_median_over_predict_median": round(m.median_ms / predict.median_ms, 3)
        for name, m in by_target.items()
        if name != "predict"
    }
    slowest_bound = max(m.median_ms for name, m in by_target.items() if name.endswith("_100"))
    return {
        "setup": setup_of(args),
        "measurements": [vars(m) for m in measurements],
        "ratios": ratios,
        "targets": {
            "adversarial_median_over_predict_median": target_check(
                ratios["adversarial_median_over_predict_median"], DEFAULT_RATIO_TARGET, True
            ),
            "slowest_100_step_median_ms": target_check(
                round(slowest_bound, 1), BOUND_MS_TARGET, True
            ),
        },
    }


def report(summary: dict[str, Any]) -> list[str]:
    return [
        f"{name.removesuffix('_median_over_predict_median'):<22} {ratio:7.2f}× /predict's median"
        for name, ratio in summary["ratios"].items()
    ]


def main(argv: list[str] | None = None) -> int:
    args = bench_arguments(
        "bench_fool_and_dream", __doc__, requests=400, drawings=16
    ).parse_args(argv)
    banner = (f"/adversarial and /dream beside /predict: {args.drawings} canvases, "
              f"≤ {args.seconds:g} s each")
    return run_and_report(args, banner, run, report, "targets (one client):", RESULTS_PATH)


if __name__ == "__main__":
    sys.exit(main())
