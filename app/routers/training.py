"""WebSocket /train: train a network from the page and watch it learn.

The protocol is in docs/api.md ("WebSocket /train"). A run trains on a thread of its own
(app/training_job.py), never on the event loop, so /predict keeps answering; at most
DIGITS_MAX_TRAINING_JOBS run at once, each for at most DIGITS_MAX_TRAINING_S. The model it
trains joins the temporary models (app/temporary_models.py) and can be downloaded.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, FastAPI, Request, WebSocket
from starlette.websockets import WebSocketDisconnect

from app.metrics import TRAINING_RUNS_IN_PROGRESS
from app.routers import training_report
from app.settings import Settings
from app.temporary_models import TemporaryModels
from app.training_job import TrainedRun, missing_data_help, mnist_location, run_job
from app.training_runs import (
    MAX_MESSAGE_BYTES,
    BadMessage,
    RunControl,
    RunRequest,
    parse_control,
    parse_run_request,
)
from core.mnist_data import DataError
from core.run_settings import digits_label

logger = logging.getLogger(__name__)
router = APIRouter(tags=["training"])

FIRST_MESSAGE_TIMEOUT_S = 60
# Unsent progress messages allowed before snapshots are skipped: a slow client gets the latest
# picture, not a growing queue.
MAX_UNSENT_PROGRESS = 4
CLOSE_NORMAL, CLOSE_POLICY, CLOSE_TOO_BIG, CLOSE_INTERNAL, CLOSE_TRY_LATER = (
    1000, 1008, 1009, 1011, 1013,
)


class Refusal(Exception):
    """Ends the socket with an `error` message and a close code."""

    def __init__(self, detail: str, code: int = CLOSE_POLICY) -> None:
        super().__init__(detail)
        self.detail, self.code = detail, code


@dataclass
class RunSlots:
    """Runs going on in this worker; one event loop changes it, so no lock is needed."""

    limit: int
    running: set[str] = field(default_factory=set)


def add_training(app: FastAPI) -> None:
    """The training routes, the run slots and the temporary models (with the app's settings)."""
    settings: Settings = app.state.settings
    app.state.training_slots = RunSlots(settings.max_training_jobs)
    app.state.temporary_models = TemporaryModels(
        settings.max_trained_models,
        # A dropped model's formatted weights (GET /models/{name}) go with it.
        on_drop=lambda name: getattr(app.state, "model_details", {}).pop(name, None),
    )
    app.include_router(router)
    app.include_router(training_report.router)


@router.get("/train/availability", summary="Whether this server lets the page train")
def availability(request: Request) -> dict[str, Any]:
    settings: Settings = request.app.state.settings
    if not settings.allow_training:
        return {"available": False, "detail": "training is turned off on this server"}
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
    text = message.get("text")
    if text is None:
        raise Refusal("send JSON text messages, not binary ones")
    if len(text) > MAX_MESSAGE_BYTES or len(text.encode()) > MAX_MESSAGE_BYTES:
        raise Refusal(
            f"a message may be at most {MAX_MESSAGE_BYTES // 1024} KiB; a watched drawing is "
            f"28×28 numbers", CLOSE_TOO_BIG,
        )
    try:
        return json.loads(text)
    except ValueError as error:
        raise Refusal(f"a message must be JSON ({error})") from None
    except RecursionError:  # 64 KiB of "[" is valid-looking JSON nested too deep to read
        raise Refusal("a message must be JSON nested at most a few levels deep") from None


@router.websocket("/train")
async def train(websocket: WebSocket) -> None:
    settings: Settings = websocket.app.state.settings
    if not origin_allowed(websocket, settings):
        await websocket.close(code=CLOSE_POLICY)  # before accepting: the handshake gets 403
        return
    await websocket.accept()
    try:
        try:
            first = await asyncio.wait_for(receive_json(websocket), FIRST_MESSAGE_TIMEOUT_S)
        except TimeoutError:
            raise Refusal("send the run's settings as the first message") from None
        if not settings.allow_training:
            raise Refusal("training is turned off on this server (DIGITS_ALLOW_TRAINING)")
        request = parse_run_request(first)
        data_path = mnist_location(settings.data_dir)
        if data_path is None:
            raise Refusal(missing_data_help(settings.data_dir))
        slots: RunSlots = websocket.app.state.training_slots
        if len(slots.running) >= slots.limit:
            raise Refusal(
                f"the server is busy: {slots.limit} training run(s) at once; try again soon",
                CLOSE_TRY_LATER,
            )
        await TrainingSession(websocket, request, data_path).run()
    except WebSocketDisconnect:
        return
    except BadMessage as error:
        await _end(websocket, {"type": "error", "detail": str(error)}, CLOSE_POLICY)
    except Refusal as refusal:
        await _end(websocket, {"type": "error", "detail": refusal.detail}, refusal.code)


async def _end(websocket: WebSocket, message: dict[str, Any], code: int) -> None:
    try:
        await websocket.send_text(json.dumps(message))
        await websocket.close(code=code)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the client has gone already


class TrainingSession:
    """One run: its thread, the messages out, and the client's controls in."""

    def __init__(self, websocket: WebSocket, request: RunRequest, data_path: Path) -> None:
        self.websocket = websocket
        self.request = request
        self.data_path = data_path
        self.app = websocket.app
        settings: Settings = self.app.state.settings
        self.run_id = secrets.token_hex(6)
        self.model_name = f"yours-{digits_label(request.digits)}-{self.run_id[:6]}"
        self.control = RunControl(deadline=time.monotonic() + settings.max_training_s)
        self.outbox: asyncio.Queue[dict[str, Any] | None] = asyncio.Queue()
        self.progress_emitted = 0
        self.progress_sent = 0
        self.closing = False
        self.loop = asyncio.get_running_loop()

    def emit(self, message: dict[str, Any]) -> None:
        """From the training thread: queue a message for the client (dropped once closing)."""
        if self.closing:
            return
        if message["type"] == "progress":
            self.progress_emitted += 1
        # RuntimeError: the event loop has stopped (the server is shutting down).
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.outbox.put_nowait, message)

    def progress_wanted(self) -> bool:
        # Each count is written by one thread only (emitted: the run's, sent: the loop's).
        return self.progress_emitted - self.progress_sent < MAX_UNSENT_PROGRESS

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
        final: dict[str, Any] | None = None
        code = CLOSE_NORMAL
        try:
            await asyncio.wait({job, receiver}, return_when=asyncio.FIRST_COMPLETED)
            if receiver.done():
                final, code = self.receiver_outcome(receiver)
            try:
                trained = await asyncio.shield(job)  # the thread stops after its current batch
            except DataError as error:
                final, code = {"type": "error", "detail": str(error)}, CLOSE_POLICY
            except Exception as error:
                logger.exception("training run %s failed", self.run_id)
                final = {"type": "error", "detail": f"training failed: {error}"}
                code = CLOSE_INTERNAL
            else:
                if final is None and self.control.stop_reason != "disconnected":
                    final = self.finish(trained)
        finally:
            if not job.done():
                self.control.stop("disconnected")  # before any await: it may be cancelled
            receiver.cancel()
            self.closing = True
            if final is not None:
                self.outbox.put_nowait(final)
            self.outbox.put_nowait(None)
        await sender
        if self.control.stop_reason != "disconnected":
            with contextlib.suppress(Exception):  # the client may have gone meanwhile
                await self.websocket.close(code=code)

    def release_slot(self, job: asyncio.Future[TrainedRun]) -> None:
        self.app.state.training_slots.running.discard(self.run_id)
        TRAINING_RUNS_IN_PROGRESS.dec()
        if not job.cancelled() and job.exception() is not None and self.closing:
            logger.warning("training run %s ended with %r", self.run_id, job.exception())

    def receiver_outcome(self, receiver: asyncio.Task[None]) -> tuple[dict[str, Any] | None, int]:
        """Why the client's side ended: gone (the run stops), or a message refused."""
        error = receiver.exception()
        if isinstance(error, Refusal | BadMessage):
            self.control.stop("error")
            code = error.code if isinstance(error, Refusal) else CLOSE_POLICY
            detail = error.detail if isinstance(error, Refusal) else str(error)
            self.closing = True  # nothing from the thread after the error
            return {"type": "error", "detail": detail}, code
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
            if message["type"] == "progress":
                self.progress_sent += 1
            try:
                await self.websocket.send_text(json.dumps(message, separators=(",", ":")))
            except Exception:  # whatever the server's kind of "closed": nobody to send to
                self.control.stop("disconnected")

    async def receive_controls(self) -> None:
        while True:
            kind, pixels = parse_control(await receive_json(self.websocket))
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
