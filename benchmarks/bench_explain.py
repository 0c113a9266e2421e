"""`make bench` (the atlas): what a POST /explain costs beside a POST /predict of the same
drawing, and what the digit atlas adds to start-up.

Starts our server (`uvicorn app.main:app`, one worker) and sends the same 280×280 canvas PNG
data URLs as benchmarks/bench_predict.py (drawings/canvas.py; the clients and the measurement
are benchmarks/load_client.py's) to /predict and to /explain, for each shipped model, from one
keep-alive client. The endpoints take turns in short rounds, so that a shared machine that
speeds up or slows down weighs on both alike. Then it times the app's start-up (the lifespan,
in this process) on the shipped model store and on a copy of it without the atlas, in turns.

Targets: the median /explain call takes ≤ 3 × the median /predict call, for each model; the
atlas adds ≤ 2 s to start-up (median of the turns). Results go to
benchmarks/results/explain.json; the exit status is 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
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

RESULTS_PATH = RESULTS_DIR / "explain.json"
MEDIAN_RATIO_TARGET = 3.0  # /explain median ≤ 3 × /predict median (1 client)
STARTUP_GROWTH_TARGET_S = 2.0
MODELS = ("digits-0-1", "digits-0-9")
ROUNDS = 8
STARTUP_TURNS = 3


def measure_requests(args: argparse.Namespace) -> list[Measurement]:
    bodies = predict_bodies(canvas_data_urls(args.drawings))
    measurements: list[Measurement] = []
    with serving("our server", "app.main:app", "/healthz", RESULTS_DIR / "explain.log") as ours:
        for model in MODELS:
            targets = [
                Target(f"predict {model}", ours,
                       http_requests("POST", f"/predict?model={model}", bodies)),
                Target(f"explain {model}", ours,
                       http_requests("POST", f"/explain?model={model}", bodies)),
            ]
            for target in targets:
                warm_up = measure(target, 1, args.warmup, args.seconds)
                if warm_up.errors:
                    raise SystemExit(f"{target.label}: {warm_up.errors} requests failed")
            measurements += measure_in_turns(
                targets, 1, ROUNDS, lambda _: args.requests, args.seconds
            )
    return measurements


def start_up_seconds(model_dir: Path) -> float:
    """The app's lifespan start (models loaded and checked, atlas mapped) on ``model_dir``."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    started = time.perf_counter()
    with TestClient(create_app(Settings(model_dir=model_dir))):
        return time.perf_counter() - started


def measure_start_up() -> dict[str, Any]:
    from core.atlas import ATLAS_FILE

    shipped = REPO_ROOT / "model_store"
    with tempfile.TemporaryDirectory() as folder:
        without = Path(folder) / "model_store"
        shutil.copytree(shipped, without, ignore=shutil.ignore_patterns(ATLAS_FILE, ".*"))
        start_up_seconds(without)  # TensorFlow's import and first load, not counted
        turns: dict[str, list[float]] = {"with_atlas_s": [], "without_atlas_s": []}
        for _ in range(STARTUP_TURNS):
            turns["with_atlas_s"].append(start_up_seconds(shipped))
            turns["without_atlas_s"].append(start_up_seconds(without))
    medians = {key: round(statistics.median(values), 3) for key, values in turns.items()}
    return {"turns": turns, **medians,
            "growth_s": round(medians["with_atlas_s"] - medians["without_atlas_s"], 3)}


def summarize(
    measurements: list[Measurement], start_up: dict[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    def median(label: str) -> float:
        return next(m.median_ms for m in measurements if m.target == label)

    ratios = {
        model: round(median(f"explain {model}") / median(f"predict {model}"), 3)
        for model in MODELS
    }
    return {
        "setup": setup_of(args),
        "measurements": [vars(m) for m in measurements],
        "explain_median_over_predict_median": ratios,
        "start_up": start_up,
        "targets": {
            **{
                f"explain_over_predict_{model}": target_check(
                    ratio, MEDIAN_RATIO_TARGET, at_most=True
                )
                for model, ratio in ratios.items()
            },
            "start_up_growth_s": target_check(
                start_up["growth_s"], STARTUP_GROWTH_TARGET_S, at_most=True
            ),
        },
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    measurements = measure_requests(args)
    return summarize(measurements, measure_start_up(), args)


def report(summary: dict[str, Any]) -> list[str]:
    lines = []
    for model, ratio in summary["explain_median_over_predict_median"].items():
        lines.append(f"{model}: explain/predict median = {ratio:.2f}×")
    start_up = summary["start_up"]
    lines.append(
        f"start-up: {start_up['with_atlas_s']:.2f} s with the atlas, "
        f"{start_up['without_atlas_s']:.2f} s without (+{start_up['growth_s']:.2f} s)"
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    args = bench_arguments("bench_explain", __doc__, requests=1000, warmup=50).parse_args(argv)
    banner = f"/explain beside /predict: {args.drawings} canvases, ≤ {args.seconds:g} s each"
    return run_and_report(args, banner, run, report, "targets:", RESULTS_PATH)


if __name__ == "__main__":
    sys.exit(main())
