"""WebSocket /train: train a network from the page and watch it learn.

The protocol is in docs/api.md ("WebSocket /train"). This module decides whether a socket may
open and a run may start; the run itself is app/training_session.py's, on a thread of its own
(app/training_job.py), never on the event loop, so /predict keeps answering. At most
DIGITS_MAX_TRAINING_JOBS run at once, each for at most DIGITS_MAX_TRAINING_S. The model it
trains joins the temporary models (app/temporary_models.py) and can be downloaded.

A stranger can open this socket, so what one costs is bounded: with training off, or with
MAX_WAITING_SOCKETS already open and silent, the handshake itself is refused; a socket that
sends no settings within FIRST_MESSAGE_TIMEOUT_S is closed; every message is checked for size
before it is read (app/training_runs.py); and a client that reads slowly or not at all holds at
most the latest snapshot (app/training_session.py's `Outbox`), not a growing queue.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse
from starlette.websockets import WebSocketDisconnect

from app.routers import training_report
from app.settings import Settings
from app.temporary_models import TemporaryModels
from app.training_job import missing_data_help, mnist_location
from app.training_runs import CLOSE_POLICY, Refusal, parse_run_request
from app.training_session import TrainingSession, receive_json

router = APIRouter(tags=["training"])

# The page sends its settings as soon as the socket opens.
FIRST_MESSAGE_TIMEOUT_S = 10
# Sockets accepted in this worker that have not sent their settings yet; more are refused at
# the handshake (each may hold a message of up to the server's frame limit while it is read).
MAX_WAITING_SOCKETS = 8
CLOSE_TRY_LATER = 1013
TRAINING_OFF = "training is turned off on this server (DIGITS_ALLOW_TRAINING)"


@dataclass
class RunSlots:
    """Runs going on in this worker, and sockets waiting to send their settings; one event
    loop changes it, so no lock is needed."""

    limit: int
    running: set[str] = field(default_factory=set)
    waiting: int = 0


def add_training(app: FastAPI) -> None:
    """The training routes, the run slots and the temporary models (with the app's settings)."""
    settings: Settings = app.state.settings
    app.state.training_slots = RunSlots(settings.max_training_jobs)
    app.state.temporary_models = TemporaryModels(settings.max_trained_models)
    app.include_router(router)
    app.include_router(training_report.router)


@router.get("/train/availability", summary="Whether this server lets the page train")
def availability(request: Request) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    if not settings.allow_training:
        return {"available": False, "detail": TRAINING_OFF}
    if mnist_location(settings.data_dir) is None:
        return {"available": False, "detail": missing_data_help(settings.data_dir)}
    return {"available": True, "detail": None}


def origin_allowed(websocket: WebSocket, settings: Settings) -> bool:
    """A page's socket only from this server's own origin or one allowed in the settings, so
    that no page elsewhere can spend this server's CPU through its visitors' browsers. No Origin
    at all is not a browser page (a script, a test client), which needs no such protection."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    allowed = {o.strip().rstrip("/") for o in settings.training_origins.split(",") if o.strip()}
    if origin.rstrip("/") in allowed:
        return True
    parts = urlsplit(origin)
    host = websocket.headers.get("host", "")
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


def handshake_refusal(websocket: WebSocket, settings: Settings) -> tuple[int, str] | None:
    """Why this socket is refused before it is accepted, as (HTTP status, detail); None: it
    may open."""
    if not origin_allowed(websocket, settings):
        return 403, "this page's origin may not train on this server (DIGITS_TRAINING_ORIGINS)"
    if not settings.allow_training:
        return 403, TRAINING_OFF
    if websocket.app.state.training_slots.waiting >= MAX_WAITING_SOCKETS:
        return 503, "too many sockets are waiting to send their settings; try again soon"
    return None


async def refuse_handshake(websocket: WebSocket, status: int, detail: str) -> None:
    """An HTTP answer instead of the upgrade, with the reason as JSON where the server can send
    one (uvicorn can); else the bare 403 a close before accept() gives."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(JSONResponse({"detail": detail}, status))
    else:
        await websocket.close(code=CLOSE_POLICY)


@router.websocket("/train")
async def train(websocket: WebSocket) -> None:
    settings: Settings = websocket.app.state.settings
    refusal = handshake_refusal(websocket, settings)
    if refusal is not None:
        await refuse_handshake(websocket, *refusal)
        return
    slots: RunSlots = websocket.app.state.training_slots
    try:
        slots.waiting += 1
        try:
            await websocket.accept()
            first = await asyncio.wait_for(receive_json(websocket), FIRST_MESSAGE_TIMEOUT_S)
        except TimeoutError:
            raise Refusal(
                f"send the run's settings within {FIRST_MESSAGE_TIMEOUT_S} s of connecting"
            ) from None
        finally:
            slots.waiting -= 1
        request = parse_run_request(first)
        data_path = mnist_location(settings.data_dir)
        if data_path is None:
            raise Refusal(missing_data_help(settings.data_dir))
        if len(slots.running) >= slots.limit:
            raise Refusal(
                f"the server is busy: {slots.limit} training run(s) at once; try again soon",
                CLOSE_TRY_LATER,
            )
        await TrainingSession(websocket, request, data_path).run()
    except WebSocketDisconnect:
        return
    except Refusal as refusal:
        await _end(websocket, {"type": "error", "detail": refusal.detail}, refusal.code)


async def _end(websocket: WebSocket, message: dict[str, Any], code: int) -> None:
    try:
        await websocket.send_text(json.dumps(message))
        await websocket.close(code=code)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the client has gone already
