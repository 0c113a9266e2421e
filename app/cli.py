"""`digits-serve`: serve the app with uvicorn (what `make run` and the Docker image run)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import uvicorn

from app.settings import get_settings


def main(argv: list[str] | None = None) -> None:
    settings = get_settings()  # DIGITS_* variables; a bad one stops here in one line
    parser = argparse.ArgumentParser(prog="digits-serve", description=__doc__)
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.port)
    parser.add_argument(
        "--workers",
        type=int,
        default=settings.workers,
        help="worker processes; each loads the models (~550 MB with TensorFlow)",
    )
    parser.add_argument(
        "--model-dir", type=Path, help="model folder (default: DIGITS_MODEL_DIR or model_store/)"
    )
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    if args.model_dir is not None:
        # The workers read their settings from the environment, so pass it on that way.
        os.environ["DIGITS_MODEL_DIR"] = str(args.model_dir.resolve())
        get_settings.cache_clear()  # the app, imported next, reads them again with this folder
    uvicorn.run(
        "app.main:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
    )


if __name__ == "__main__":
    main()
