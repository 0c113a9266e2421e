"""WebSocket /train: train a network from the page and watch it learn.

The protocol is in docs/api.md ("WebSocket /train"). A run trains on a thread of its own
(app/training_job.py), never on the event loop, so /predict keeps answering; at most
DIGITS_MAX_TRAINING_JOBS run at once, each for at most DIGITS_MAX_TRAINING_S. The model it
trains joins the temporary models (app/temporary_models.py) and can be downloaded.

A stranger can open this socket, so what one costs is bounded: with training off, or with
MAX_WAITING_SOCKETS already open and silent, the handshake itself is refused; a socket that
sends no settings within FIRST_MESSAGE_TIMEOUT_S is closed; every message is checked for size
before it is read (app/training_runs.py); and a client that reads slowly or not at all holds at
most the latest snapshot (`Outbox`), not a growing queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Request, WebSocket
from fastapi.responses import JSONResponse
from starlette.websockets import WebSocketDisconnect

from app.metrics import TRAINING_RUNS_IN_PROGRESS
from app.routers import training_report
from app.settings import Settings
from app.temporary_models import TEMPORARY_PREFIX, TemporaryModels
from app.training_job import TrainedRun, missing_data_help, mnist_location, run_job
from app.training_runs import (
    CLOSE_POLICY,
    BadMessage,
    RunControl,
    RunRequest,
    parse_control,
    parse_message,
    parse_run_request,
)
from core.mnist_data import DataError
from core.run_settings import digits_label

logger = logging.getLogger(__name__)
router = APIRouter(tags=["training"])

# The page sends its settings as soon as the socket opens.
FIRST_MESSAGE_TIMEOUT_S = 10
# Sockets accepted in this worker that have not sent their settings yet; more are refused at
# the handshake (each may hold a message of up to the server's frame limit while it is read).
MAX_WAITING_SOCKETS = 8
CLOSE_NORMAL, CLOSE_INTERNAL, CLOSE_TRY_LATER = 1000, 1011, 1013
TRAINING_OFF = "training is turned off on this server (DIGITS_ALLOW_TRAINING)"
TRAINING_FAILED = "training failed (an internal error, now in the server's log); try again"
DATA_UNREADABLE = (
    "this server's MNIST cannot be read (the server's log says why); tell its operator"
)


class Refusal(Exception):
    """The server will not go on (busy, no data, no settings in time): an `error`, a close."""

    def __init__(self, detail: str, code: int = CLOSE_POLICY) -> None:
        super().__init__(detail)
        self.detail, self.code = detail, code


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


async def receive_json(websocket: WebSocket) -> Any:
    """The next client message as JSON; WebSocketDisconnect when the client has gone."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", CLOSE_NORMAL))
    return parse_message(message.get("text"))


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
    except (BadMessage, Refusal) as error:
        detail = error.detail if isinstance(error, Refusal) else str(error)
        await _end(websocket, {"type": "error", "detail": detail}, error.code)


async def _end(websocket: WebSocket, message: dict[str, Any], code: int) -> None:
    try:
        await websocket.send_text(json.dumps(message))
        await websocket.close(code=code)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the client has gone already


class Outbox:
    """What is still to be sent to one client, bounded whatever the client does.

    At most one progress snapshot waits (a newer one replaces it: a client that never reads, or
    sends `step` again and again while paused, gets the latest picture, not a growing queue),
    and at most one `error` about a control message. The rest is a run's few others: `started`,
    one `epoch` per epoch (at most 50), and the last. Changed from the event loop only;
    `progress_waiting` may be read from the training thread.
    """

    REPLACED = ("progress", "error")

    def __init__(self) -> None:
        self._messages: deque[dict[str, Any]] = deque()
        self._ready = asyncio.Event()
        self._closed = False
        self.progress_waiting = False

    def put(self, message: dict[str, Any]) -> None:
        if self._closed:
            return
        if message["type"] in self.REPLACED:
            for queued in [m for m in self._messages if m["type"] == message["type"]]:
                self._messages.remove(queued)
        self._messages.append(message)
        self._changed()

    def close(self, last: dict[str, Any] | None, drop_waiting: bool = False) -> None:
        """Nothing more after `last` (if any); `drop_waiting` drops what is still unsent."""
        if drop_waiting:
            self._messages.clear()
        if last is not None:
            self._messages.append(last)
        self._closed = True
        self._changed()

    async def get(self) -> dict[str, Any] | None:
        """The next message; None once the outbox is closed and empty."""
        while not self._messages:
            if self._closed:
                return None
            self._ready.clear()
            await self._ready.wait()
        message = self._messages.popleft()
        self._changed()
        return message

    def __len__(self) -> int:
        return len(self._messages)

    def _changed(self) -> None:
        self.progress_waiting = any(m["type"] == "progress" for m in self._messages)
        self._ready.set()


class TrainingSession:
    """One run: its thread, the messages out, and the client's controls in."""

    def __init__(self, websocket: WebSocket, request: RunRequest, data_path: Path) -> None:
        self.websocket = websocket
        self.request = request
        self.data_path = data_path
        self.app = websocket.app
        settings: Settings = self.app.state.settings
        self.run_id = secrets.token_hex(6)
        # Whoever holds the name can use the model: 128 random bits, so nobody guesses it.
        token = secrets.token_hex(16)
        self.model_name = f"{TEMPORARY_PREFIX}{digits_label(request.digits)}-{token}"
        self.control = RunControl(deadline=time.monotonic() + settings.max_training_s)
        self.outbox = Outbox()
        self.loop = asyncio.get_running_loop()

    def emit(self, message: dict[str, Any]) -> None:
        """From the training thread: queue a message for the client (dropped once closed)."""
        # RuntimeError: the event loop has stopped (the server is shutting down).
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.outbox.put, message)

    def progress_wanted(self) -> bool:
        """From the training thread: no snapshot is waiting to be sent, so a new one is worth
        making (a read of the loop's state, which at worst makes one that replaces another)."""
        return not self.outbox.progress_waiting

    async def run(self) -> None:
        slots: RunSlots = self.app.state.training_slots
        slots.running.add(self.run_id)
        TRAINING_RUNS_IN_PROGRESS.inc()
        job = asyncio.ensure_future(asyncio.to_thread(
            run_job, self.request, self.run_id, self.model_name, self.data_path, self.control,
            self.emit, self.progress_wanted,
        ))
        # The slot is free when the thread has ended, however this handler ends (a server that
        # shuts down cancels it, and a cancelled handler may not get to await anything).
        job.add_done_callback(self.release_slot)
        sender = asyncio.create_task(self.send_outbox())
        receiver = asyncio.create_task(self.receive_controls())
        last: dict[str, Any] | None = None
        code = CLOSE_NORMAL
        try:
            await asyncio.wait({job, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if job.done():
                last, code = self.job_outcome(job)
            else:
                # The client erred or left: the thread stops after its current batch, by
                # itself; the answer does not wait for it.
                last, code = self.receiver_outcome(receiver)
        finally:
            if not job.done():
                self.control.stop("disconnected")  # before any await: it may be cancelled
            receiver.cancel()
            self.outbox.close(last, drop_waiting=code != CLOSE_NORMAL)
        await sender
        if self.control.stop_reason != "disconnected":
            with contextlib.suppress(Exception):  # the client may have gone meanwhile
                await self.websocket.close(code=code)

    def release_slot(self, job: asyncio.Future[TrainedRun | None]) -> None:
        self.app.state.training_slots.running.discard(self.run_id)
        TRAINING_RUNS_IN_PROGRESS.dec()
        if not job.cancelled() and job.exception() is not None and self.control.stop_reason:
            logger.warning("training run %s ended with %r", self.run_id, job.exception())

    def job_outcome(
        self, job: asyncio.Future[TrainedRun | None]
    ) -> tuple[dict[str, Any] | None, int]:
        """The run's last message: `done` with the model, or an error that names no path."""
        error = job.exception()
        if isinstance(error, DataError):
            logger.error("training run %s cannot read MNIST: %s", self.run_id, error)
            return {"type": "error", "detail": DATA_UNREADABLE}, CLOSE_INTERNAL
        if error is not None:
            logger.error("training run %s failed", self.run_id, exc_info=error)
            return {"type": "error", "detail": TRAINING_FAILED}, CLOSE_INTERNAL
        trained = job.result()
        return (self.finish(trained) if trained else None), CLOSE_NORMAL

    def receiver_outcome(self, receiver: asyncio.Task[None]) -> tuple[dict[str, Any] | None, int]:
        """Why the client's side ended: gone (the run stops), or a message refused."""
        error = receiver.exception()
        if isinstance(error, BadMessage):
            self.control.stop("error")
            return {"type": "error", "detail": str(error)}, error.code
        self.control.stop("disconnected")
        return None, CLOSE_NORMAL

    def finish(self, trained: TrainedRun) -> dict[str, Any]:
        self.app.state.temporary_models.add(trained.model, trained.keras_file)
        reason = self.control.stop_reason
        return {
            "type": "done",
            "run": self.run_id,
            "model": trained.model.name,
            "metrics": {
                split: {key: values[key] for key in ("loss", "accuracy", "count")}
                for split, values in trained.metrics.items()
            },
            "training_time_s": round(trained.training_time_s, 3),
            "stopped": reason == "client",
            "stop_reason": reason,
        }

    async def send_outbox(self) -> None:
        while (message := await self.outbox.get()) is not None:
            try:
                await self.websocket.send_text(json.dumps(message, separators=(",", ":")))
            except Exception:  # whatever the server's kind of "closed": nobody to send to
                self.control.stop("disconnected")
                return

    async def receive_controls(self) -> None:
        while True:
            try:
                kind, pixels = parse_control(await receive_json(self.websocket))
            except BadMessage as error:
                if error.fatal:
                    raise
                self.outbox.put({"type": "error", "detail": str(error)})  # the run goes on
                continue
            if kind == "watch" and pixels is not None:
                self.control.watch(pixels)
            elif kind == "pause":
                self.control.pause()
            elif kind == "resume":
                self.control.resume()
            elif kind == "step":
                self.control.step(self.request.snapshot_every)
            elif kind == "stop":
                self.control.stop("client")
