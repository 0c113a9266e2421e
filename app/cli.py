"""`digits-serve`: serve the app with uvicorn (what `make run` and the Docker image run)."""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import tempfile
from pathlib import Path

import uvicorn
from uvicorn.main import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from app.header_deadline import HeaderDeadlineProtocol
from app.settings import get_settings
from app.training_runs import MAX_MESSAGE_BYTES

# prometheus-client's own variable. Not imported from app.metrics: importing it here would
# create the metrics in this supervising process too, whose files no worker would clean up.
MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
WS_MAX_SIZE = MAX_MESSAGE_BYTES + 16 * 1024
KEEP_ALIVE_TIMEOUT_S = 5
MAX_HEADER_BYTES = 64 * 1024


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
    # Several workers add up their metrics through files; so does one whose operator chose
    # the folder (app/metrics.py).
    metrics_dir = None
    if args.workers > 1 or os.environ.get(MULTIPROC_DIR_VARIABLE):
        metrics_dir = prepare_metrics_dir()
    # Hides TensorFlow's C++ notices that honour it; set before any worker imports TensorFlow.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    config = server_config(
        args.host, args.port, args.workers, args.log_level, settings.max_connections
    )
    server = AnnouncingServer(config)
    try:
        if config.workers > 1:
            # Each of uvicorn's workers runs its own uvicorn.Server: Multiprocess takes no target.
            Multiprocess(config, sockets=[config.bind_socket()]).run()
        else:
            server.run()
            if not server.started:  # the lifespan refused to start, its one line printed
                sys.exit(STARTUP_FAILURE)
    finally:
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def server_config(
    host: str, port: int, workers: int, log_level: str, max_connections: int = 200
) -> uvicorn.Config:
    """uvicorn, told what a plain `uvicorn app.main:app` leaves open. It has no deadline for a
    request's headers or body of its own: its protocol is given one for headers
    (DIGITS_HEADER_TIMEOUT_S, app/header_deadline.py) and the app cuts off slow bodies
    (DIGITS_BODY_TIMEOUT_S, app/middleware.py); docs/deployment.md says what a proxy adds."""
    return uvicorn.Config(
        "app.main:app",
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        # More connections than this get 503 at once: a flood cannot queue without end.
        limit_concurrency=max_connections,
        # Headers trickled a byte at a time (slowloris) are cut off: app/header_deadline.py.
        http=HeaderDeadlineProtocol,
        # An idle keep-alive connection is closed after this (uvicorn's default, stated).
        timeout_keep_alive=KEEP_ALIVE_TIMEOUT_S,
        # Request headers of at most this many bytes (h11; httptools caps them at 80 KiB).
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        # WebSocket /train refuses client messages over 64 KiB; without this, uvicorn would
        # buffer a frame of up to 16 MiB (its default) before the app could refuse it. The slack
        # lets a message just over the limit reach the app, which says what the limit is.
        ws_max_size=WS_MAX_SIZE,
    )


class AnnouncingServer(uvicorn.Server):
    """Says "Serving the app at …" once it is true: the models loaded (the lifespan finished)
    and the socket bound. A start-up that fails says only its one `cannot start:` line."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and not self.should_exit:
            host, port = self.config.host, self.config.port
            if self.servers and self.servers[0].sockets:
                host, port = self.servers[0].sockets[0].getsockname()[:2]
            print(f"Serving the app at http://{host}:{port}  (Ctrl+C stops it)", flush=True)


def prepare_metrics_dir() -> Path | None:
    """Several workers count requests in files that GET /metrics adds up (app/metrics.py):
    prometheus-client's multiprocess mode. The folder must be set before any worker starts and
    must hold nothing from an earlier run, or old counts would be added to the new ones.

    Without PROMETHEUS_MULTIPROC_DIR, a fresh folder in the temporary directory, removed when
    the server stops (returned). With it (a folder the operator chose, e.g. an emptyDir in
    Kubernetes), that folder, emptied of earlier runs' files (nothing to remove: None)."""
    chosen = os.environ.get(MULTIPROC_DIR_VARIABLE)
    if chosen:
        folder = Path(chosen)
        if not folder.is_dir():
            raise SystemExit(
                f"cannot start: {MULTIPROC_DIR_VARIABLE}={chosen} is not a folder; create it "
                f"or unset the variable (a fresh one is then made in the temporary directory)"
            )
        for old_values in folder.glob("*.db"):
            old_values.unlink()
        return None
    fresh = Path(tempfile.mkdtemp(prefix="digit-lens-metrics-"))
    os.environ[MULTIPROC_DIR_VARIABLE] = str(fresh)  # the workers inherit the environment
    return fresh


if __name__ == "__main__":
    main()
