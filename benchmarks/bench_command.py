"""What the endpoint benchmarks' commands share: their flags, the setup their results record,
and the end of a run (the report, the targets' verdicts, the results file, the exit status).

The servers, clients and measurements themselves are benchmarks/load_client.py's.
"""

from __future__ import annotations

import argparse
import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.load_client import HEADER, exit_status, verdict_lines, write_results


def bench_arguments(
    prog: str,
    module_doc: str,
    *,
    seconds: float = 4.0,
    requests: int,
    warmup: int | None = None,
    drawings: int = 32,
    seconds_help: str = "time cap per measurement",
    requests_help: str = "request cap per measurement",
) -> argparse.ArgumentParser:
    """A benchmark's flags: --seconds, --requests, --warmup (when it warms up by a count of
    requests) and --drawings, described by the first line of its module's docstring; the
    caller adds its own before parsing."""
    parser = argparse.ArgumentParser(prog=prog, description=module_doc.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=seconds, help=seconds_help)
    parser.add_argument("--requests", type=int, default=requests, help=requests_help)
    if warmup is not None:
        parser.add_argument("--warmup", type=int, default=warmup,
                            help="warm-up requests per target")
    parser.add_argument("--drawings", type=int, default=drawings, help="distinct canvases sent")
    return parser


def setup_of(args: argparse.Namespace) -> dict[str, Any]:
    """The results' record of how the run was set up and on what."""
    return {
        "drawings": args.drawings,
        "seconds_per_measurement": args.seconds,
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_before": round(os.getloadavg()[0], 2),
    }


def run_and_report(
    args: argparse.Namespace,
    banner: str,
    run: Callable[[argparse.Namespace], dict[str, Any]],
    report: Callable[[dict[str, Any]], list[str]],
    targets_heading: str,
    results_path: Path,
) -> int:
    """Print the banner and the table's header, run (its rows print as they are measured), then
    the report's lines and each target's verdict; write the results; 1 when a target is missed."""
    print(banner)
    print(HEADER, flush=True)
    summary = run(args)
    print("\n".join(["", *report(summary), targets_heading, *verdict_lines(summary["targets"])]))
    write_results(summary, results_path)
    return exit_status(summary["targets"])
