"""One accepted WebSocket /train run, from its settings to its last message.

A session runs three things at once and ends when the first of the two that can end it does:

- the job: the training itself, on a thread (app/training_job.py), never on the event loop;
- the receiver: the client's controls (watch, pause, resume, step, stop) into the `RunControl`
  the job obeys between batches;
- the sender: the `Outbox`, the job's messages out to the client.

The job ends with `done` (or an `error` that names no server path); the receiver ends when the
client leaves or sends a message that ends the run. Either way the job is told to stop, the
last message goes out, and the socket closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import WebSocket
from starlette.websockets import WebSocketDisconnect

from app.metrics import TRAINING_RUNS_IN_PROGRESS
from app.settings import Settings
from app.temporary_models import TEMPORARY_PREFIX
from app.training_job import DivergedRun, TrainedRun, run_job
from app.training_runs import Refusal, RunControl, RunRequest, parse_control, parse_message
from core.mnist_data import DataError
from core.run_settings import digits_label

logger = logging.getLogger(__name__)

CLOSE_NORMAL, CLOSE_INTERNAL = 1000, 1011
TRAINING_FAILED = "training failed (an internal error, now in the server's log); try again"
DATA_UNREADABLE = (
    "this server's MNIST cannot be read (the server's log says why); tell its operator"
)
Message = dict[str, Any]
Job = asyncio.Future[TrainedRun | DivergedRun | None]


async def receive_json(websocket: WebSocket) -> Any:
    """The next client message as JSON; WebSocketDisconnect when the client has gone."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", CLOSE_NORMAL))
    return parse_message(message.get("text"))


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
        self._messages: deque[Message] = deque()
        self._ready = asyncio.Event()
        self._closed = False
        self.progress_waiting = False

    def put(self, message: Message) -> None:
        if self._closed:
            return
        if message["type"] in self.REPLACED:
            for queued in [m for m in self._messages if m["type"] == message["type"]]:
                self._messages.remove(queued)
        self._messages.append(message)
        self._changed()

    def close(self, last: Message | None, drop_waiting: bool = False) -> None:
        """Nothing more after `last` (if any); `drop_waiting` drops what is still unsent."""
        if drop_waiting:
            self._messages.clear()
        if last is not None:
            self._messages.append(last)
        self._closed = True
        self._changed()

    async def get(self) -> Message | None:
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
        # What each control message does to the run (`watch` also carries its drawing).
        self.controls: dict[str, Callable[[], None]] = {
            "pause": self.control.pause,
            "resume": self.control.resume,
            "step": lambda: self.control.step(self.request.snapshot_every),
            "stop": lambda: self.control.stop("client"),
        }

    async def run(self) -> None:
        """Train until the job or the client ends the run, then send the last message."""
        job = self.start_job()
        sender = asyncio.create_task(self.send_outbox())
        receiver = asyncio.create_task(self.receive_controls())
        last: Message | None = None
        code = CLOSE_NORMAL
        try:
            await asyncio.wait({job, receiver}, return_when=asyncio.FIRST_COMPLETED)
            # The client erred or left: the thread stops after its current batch, by itself;
            # the answer does not wait for it.
            last, code = self.job_outcome(job) if job.done() else self.receiver_outcome(receiver)
        finally:
            if not job.done():
                self.control.stop("disconnected")  # before any await: it may be cancelled
            receiver.cancel()
            self.outbox.close(last, drop_waiting=code != CLOSE_NORMAL)
        await sender
        if self.control.stop_reason != "disconnected":
            with contextlib.suppress(Exception):  # the client may have gone meanwhile
                await self.websocket.close(code=code)

    # --- the job, on its thread --------------------------------------------------------------

    def start_job(self) -> Job:
        """The training thread, holding a run slot until it has ended."""
        self.app.state.training_slots.running.add(self.run_id)
        TRAINING_RUNS_IN_PROGRESS.inc()
        job = asyncio.ensure_future(asyncio.to_thread(
            run_job, self.request, self.run_id, self.model_name, self.data_path, self.control,
            self.emit, self.progress_wanted,
        ))
        # The slot is free when the thread has ended, however this handler ends (a server that
        # shuts down cancels it, and a cancelled handler may not get to await anything).
        job.add_done_callback(self.release_slot)
        return job

    def emit(self, message: Message) -> None:
        """From the training thread: queue a message for the client (dropped once closed)."""
        # RuntimeError: the event loop has stopped (the server is shutting down).
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.outbox.put, message)

    def progress_wanted(self) -> bool:
        """From the training thread: no snapshot is waiting to be sent, so a new one is worth
        making (a read of the loop's state, which at worst makes one that replaces another)."""
        return not self.outbox.progress_waiting

    def release_slot(self, job: Job) -> None:
        self.app.state.training_slots.running.discard(self.run_id)
        TRAINING_RUNS_IN_PROGRESS.dec()
        if not job.cancelled() and job.exception() is not None and self.control.stop_reason:
            logger.warning("training run %s ended with %r", self.run_id, job.exception())

    def job_outcome(self, job: Job) -> tuple[Message | None, int]:
        """The run's last message: `done` with the model (or none, when the run diverged), or an
        error that names no path."""
        error = job.exception()
        if isinstance(error, DataError):
            logger.error("training run %s cannot read MNIST: %s", self.run_id, error)
            return {"type": "error", "detail": DATA_UNREADABLE}, CLOSE_INTERNAL
        if error is not None:
            logger.error("training run %s failed", self.run_id, exc_info=error)
            return {"type": "error", "detail": TRAINING_FAILED}, CLOSE_INTERNAL
        trained = job.result()
        if trained is None:  # the client left or erred: nobody takes the model
            return None, CLOSE_NORMAL
        if isinstance(trained, DivergedRun):  # nothing worth keeping
            return self.diverged_message(trained), CLOSE_NORMAL
        self.app.state.temporary_models.add(trained.model, trained.keras_file)
        return self.done_message(trained), CLOSE_NORMAL

    def done_message(self, trained: TrainedRun) -> Message:
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
            "alerts": trained.alerts,
        }

    def diverged_message(self, diverged: DivergedRun) -> Message:
        return {
            "type": "done",
            "run": self.run_id,
            "model": None,
            "metrics": None,
            "training_time_s": round(diverged.training_time_s, 3),
            "stopped": False,
            "stop_reason": "diverged",
            "alerts": diverged.alerts,
        }

    # --- the client's side -------------------------------------------------------------------

    async def send_outbox(self) -> None:
        while (message := await self.outbox.get()) is not None:
            try:
                await self.websocket.send_text(json.dumps(message, separators=(",", ":")))
            except Exception:  # whatever the server's kind of "closed": nobody to send to
                self.control.stop("disconnected")
                return

    async def receive_controls(self) -> None:
        """Each control message into the run, until one ends it (a refusal that ends the run
        is raised; one that does not is answered, and the run goes on)."""
        while True:
            try:
                kind, pixels = parse_control(await receive_json(self.websocket))
            except Refusal as refusal:
                if refusal.ends_run:
                    raise
                self.outbox.put({"type": "error", "detail": refusal.detail})
                continue
            if kind == "watch":
                if pixels is not None:
                    self.control.watch(pixels)
            else:
                self.controls[kind]()

    def receiver_outcome(self, receiver: asyncio.Task[None]) -> tuple[Message | None, int]:
        """Why the client's side ended: gone (the run stops), or a message refused."""
        error = receiver.exception()
        if isinstance(error, Refusal):
            self.control.stop("error")
            return {"type": "error", "detail": error.detail}, error.code
        self.control.stop("disconnected")
        return None, CLOSE_NORMAL
