"""`GET /metrics` in the Prometheus text format, and the middleware that counts what it shows.

What a cluster's operators scrape (deploy/kubernetes/ carries the prometheus.io annotations):

- ``digits_http_requests_total{method, route, status}`` and
  ``digits_http_request_duration_seconds{method, route, status}``: every HTTP request, labelled
  by its route *template* (``/models/{name}``, never the raw path, so that no client can create
  labels at will); a path that matches no route is ``unmatched``;
- ``digits_predictions_total{model}``: the answered ``POST /predict`` per model of the store;
  those of models trained from the page all count as ``temporary``;
- ``digits_training_runs_in_progress``: training runs going on now; the page's training
  (WebSocket /train) sets it with ``TRAINING_RUNS_IN_PROGRESS.inc()/.dec()``.

Several workers (``DIGITS_WORKERS`` > 1) each count their own requests. ``digits-serve`` then
gives them a fresh ``PROMETHEUS_MULTIPROC_DIR`` before any of them starts, prometheus-client
keeps every worker's values in files there, and a scrape, answered by any one worker, adds them
all up (the library's multiprocess mode). A worker that stops marks itself dead, so the gauge
counts only the workers that are alive; one killed outright (out of memory) cannot, and its
last gauge value stays in the sum until digits-serve restarts.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from weakref import WeakKeyDictionary

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.exposition import choose_encoder
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MULTIPROC_DIR_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
UNMATCHED_ROUTE = "unmatched"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
TEMPORARY_MODEL_LABEL = "temporary"
# /healthz answers in well under a millisecond and /predict in a few; a burst of 16 clients on
# one worker takes tens of milliseconds, a huge image a second or more.
LATENCY_BUCKETS_S = (
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
)

HTTP_REQUESTS = Counter(
    "digits_http_requests",
    "HTTP requests answered, by method, route template and status code.",
    ("method", "route", "status"),
)
HTTP_LATENCY = Histogram(
    "digits_http_request_duration_seconds",
    "Time from a request's arrival to the last byte of its answer, by method, route template "
    "and status code.",
    ("method", "route", "status"),
    buckets=LATENCY_BUCKETS_S,
)
PREDICTIONS = Counter(
    "digits_predictions", "Drawings classified (POST /predict answered 200), by model.", ("model",)
)
TRAINING_RUNS_IN_PROGRESS = Gauge(
    "digits_training_runs_in_progress",
    "Training runs going on now (the page's 'Train your own').",
    multiprocess_mode="livesum",  # the sum over the workers that are alive
)


def multiprocess_dir() -> str | None:
    """The folder the workers share their values in, when digits-serve set one."""
    return os.environ.get(MULTIPROC_DIR_VARIABLE) or None


class MetricsMiddleware:
    """Pure ASGI (a BaseHTTPMiddleware would cost more than the count itself): times every HTTP
    request to the end of its answer and counts it under its route template."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # (method, route, status) → the counter and histogram children: labels() on every
        # request would look them up under a lock each time.
        self._children: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        root_path = scope.get("root_path", "")
        status = 500  # what the client gets if the app fails before it answers

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            route = route_template(scope, root_path)
            method = scope["method"] if scope["method"] in KNOWN_METHODS else "other"
            requests, latency = self._child(method, route, str(status))
            requests.inc()
            latency.observe(time.perf_counter() - began)

    def _child(self, method: str, route: str, status: str) -> tuple[Counter, Histogram]:
        key = (method, route, status)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = (
                HTTP_REQUESTS.labels(*key),
                HTTP_LATENCY.labels(*key),
            )
        return child


def route_template(scope: Scope, root_path: str) -> str:
    """The path template of the route that answered (``/models/{name}``, ``/static/{path}``),
    or, for a request answered before routing (a body refused for its declared size), of the
    API route its path has; ``unmatched`` when there is none. `root_path` is the scope's
    before the app ran: a mounted app (the static files) is seen by the prefix routing added."""
    route = scope.get("route")
    template = getattr(route, "path_format", None)
    if isinstance(template, str):
        return template
    mounted_at = scope.get("root_path", root_path)
    if len(mounted_at) > len(root_path) and mounted_at.startswith(root_path):
        return mounted_at[len(root_path) :] + "/{path}"
    return _api_route_for(scope.get("app"), scope.get("path", "")) or UNMATCHED_ROUTE


def _api_route_for(app: object, path: str) -> str | None:
    """The OpenAPI path template `path` falls under, if any: a public description of the routes
    that holds whatever router classes the framework uses inside."""
    if not isinstance(app, FastAPI):
        return None
    patterns = _TEMPLATE_PATTERNS.get(app)
    if patterns is None:
        templates = app.openapi().get("paths", {})
        patterns = _TEMPLATE_PATTERNS[app] = [
            (compile_path(template)[0], template) for template in templates
        ]
    return next((template for regex, template in patterns if regex.match(path)), None)


_TEMPLATE_PATTERNS: WeakKeyDictionary[FastAPI, list[tuple[re.Pattern[str], str]]] = (
    WeakKeyDictionary()
)


def count_prediction(model_name: str, shipped: bool) -> None:
    """Count one answered POST /predict for its model. Models trained from the page are all
    counted as ``temporary``: each run makes a new name, and a label per name would grow
    without end."""
    PREDICTIONS.labels(model_name if shipped else TEMPORARY_MODEL_LABEL).inc()


@asynccontextmanager
async def mark_worker_dead_on_exit(app: FastAPI) -> AsyncIterator[None]:
    yield
    path = multiprocess_dir()
    if path is not None:
        # As prometheus-client's docs ask of every worker that exits in multiprocess mode: drop
        # its live gauges, so that they stop counting in the sum.
        multiprocess.mark_process_dead(os.getpid(), path)


router = APIRouter(lifespan=mark_worker_dead_on_exit)


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """A plain def: FastAPI runs it on a thread, so reading the workers' files (several
    workers) never holds up the event loop."""
    path = multiprocess_dir()
    if path is not None:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=path)
    else:
        registry = REGISTRY
    encoder, content_type = choose_encoder(request.headers.get("accept", ""))
    return Response(encoder(registry), media_type=content_type)


def add_metrics(app: FastAPI) -> None:
    """GET /metrics, and the middleware that counts every request. Call it after the app's
    other middleware, so that it is the outermost and times everything, refusals included."""
    app.include_router(router)
    app.add_middleware(MetricsMiddleware)
