"""What a client of WebSocket /train may ask for, checked, and the controls of a run.

The first message chooses the run (`parse_run_request`); its fields mean what the training
script's flags mean (`python -m training.train --digits … --hidden …`) and are checked by the
same functions (core/run_settings.py), with tighter limits, because a visitor spends this
server's CPU: at most 50 epochs, 2 convolution layers of at most 32 filters, 4 hidden layers of
at most 256 units and batches of 1,024.
Later messages (`parse_control`) watch a drawing, pause, resume, step or stop the run;
`RunControl` carries them to the training thread (app/training_job.py).

Over 300 lines because a visitor may send anything: each field's check, with a message that
names what to send instead, lives here beside the others, so the socket's whole contract is
read in one place.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from core import run_settings
from core.recipe import QUICK_RUN, RecipeSettings
from core.run_settings import shown

MAX_EPOCHS = 50
MAX_HIDDEN_LAYERS = 4
MAX_UNITS = 256
# A convolution costs far more per example than a dense layer of as many numbers: two small
# ones (28×28 → 14×14 → 7×7 maps) are what the page's CNN needs and what a run can afford.
MAX_CONV_LAYERS = 2
MAX_FILTERS = 32
# A batch's activations and gradients are held at once: 1,024 examples keep a run's memory
# small whatever the network (the command line allows more).
MAX_BATCH_SIZE = 1024
MAX_SNAPSHOT_EVERY = 10_000
PACES = ("watch", "fast")
# pace "watch": at most this many snapshots a second, so that a person can follow them.
WATCH_SNAPSHOTS_PER_S = 5
# The app's own cap on a client message, whatever the server's (uvicorn takes 16 MiB unless told
# otherwise; `digits-serve` tells it this): a watched drawing, 28×28 numbers, is ~10 KiB.
MAX_MESSAGE_BYTES = 64 * 1024
# Integers of more digits than this are no setting's: they are never converted (int() of a long
# text takes time, and Python refuses past 4,300 digits).
MAX_INTEGER_DIGITS = 18
CONTROL_TYPES = ("watch", "pause", "resume", "step", "stop")
RUN_FIELDS = (
    "digits", "conv", "hidden", "activation", "epochs", "batch_size", "learning_rate",
    "optimizer", "initializer", "l2", "dropout", "train_examples", "snapshot_every", "pace",
    "signals",
)
CLOSE_POLICY, CLOSE_TOO_BIG = 1008, 1009
# How a run sends a message to its client; safe to call from the training thread.
Emit = Callable[[dict[str, Any]], None]


class Refusal(Exception):
    """What the server will not do, and what to do instead: a client message it cannot act on,
    or a run it will not start (busy, no data, no settings in time). The socket sends `detail`
    as an `error` and closes with `code`; a refusal with `ends_run=False` (a watched drawing
    that is not one) is only answered, and the run goes on."""

    def __init__(self, detail: str, code: int = CLOSE_POLICY, ends_run: bool = True) -> None:
        super().__init__(detail)
        self.detail, self.code, self.ends_run = detail, code, ends_run


class HugeNumber:
    """A JSON integer too long to be any setting, kept as its length: no check takes it."""

    def __init__(self, digits: int) -> None:
        self.digits = digits

    def __repr__(self) -> str:
        return f"<a number of {self.digits:,} digits>"


def _integer(text: str) -> int | HugeNumber:
    return int(text) if len(text.lstrip("-")) <= MAX_INTEGER_DIGITS else HugeNumber(len(text))


def parse_message(text: str | None) -> Any:
    """A client's message (None: a binary one) as JSON, its size checked first."""
    if text is None:
        raise Refusal("send JSON text messages, not binary ones")
    if len(text) > MAX_MESSAGE_BYTES or len(text.encode()) > MAX_MESSAGE_BYTES:
        raise Refusal(
            f"a message may be at most {MAX_MESSAGE_BYTES // 1024} KiB; a watched drawing is "
            f"28×28 numbers",
            CLOSE_TOO_BIG,
        )
    try:
        return json.loads(text, parse_int=_integer)
    except ValueError as error:
        raise Refusal(f"a message must be JSON ({shown(str(error), 80)})") from None
    except RecursionError:  # 64 KiB of "[" is valid-looking JSON nested too deep to read
        raise Refusal("a message must be JSON nested at most a few levels deep") from None


@dataclass(frozen=True)
class RunRequest:
    """A run as the client chose it. The defaults are the page's quick run (core/recipe.py),
    which the page's form starts from too (app/routers/pages.py)."""

    digits: tuple[int, ...] = QUICK_RUN.digits
    conv: tuple[int, ...] = QUICK_RUN.conv
    hidden: tuple[int, ...] = QUICK_RUN.hidden
    activation: str = QUICK_RUN.activation
    epochs: int = QUICK_RUN.epochs
    batch_size: int = QUICK_RUN.batch_size
    learning_rate: float = QUICK_RUN.learning_rate
    optimizer: str = QUICK_RUN.optimizer
    initializer: str = QUICK_RUN.initializer
    l2: float = QUICK_RUN.l2
    dropout: float = QUICK_RUN.dropout
    train_examples: int | None = QUICK_RUN.train_examples
    snapshot_every: int = 10
    pace: str = "watch"
    # Each snapshot's layer signals and alerts (app/training_signals.py); false leaves them out
    # (a diverged run still stops).
    signals: bool = True

    def recipe_settings(self) -> RecipeSettings:
        return RecipeSettings(
            digits=self.digits,
            conv=self.conv,
            hidden=self.hidden,
            activation=self.activation,
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            optimizer=self.optimizer,
            initializer=self.initializer,
            l2=self.l2,
            dropout=self.dropout,
            train_examples=self.train_examples,
        )

    def as_message(self) -> dict[str, Any]:
        fields = asdict(self)
        fields["digits"] = ",".join(map(str, self.digits))
        fields["conv"] = list(self.conv)
        fields["hidden"] = list(self.hidden)
        return fields


def _whole_number(fields: dict[str, Any], name: str, lo: int, hi: int, default: int) -> int:
    value = fields.get(name, default)
    if type(value) is not int or not lo <= value <= hi:
        raise Refusal(f"{name} {shown(value)}: give a whole number from {lo} to {hi}")
    return value


def parse_run_request(message: Any) -> RunRequest:
    """The first message: every field optional; anything unknown or out of range is refused.
    (Over 60 lines: one check a field, each with the message that says what to send instead.)"""
    if not isinstance(message, dict):
        raise Refusal("the first message must be a JSON object choosing the run, e.g. {}")
    fields = dict(message)
    kind = fields.pop("type", "start")
    if kind != "start":
        there_is_no = f"there is no run to {kind} yet" if kind in CONTROL_TYPES else "no such type"
        raise Refusal(
            f"the first message chooses the run (type 'start' or none), not {shown(kind)}: "
            f"{there_is_no}"
        )
    unknown = sorted(set(fields) - set(RUN_FIELDS))
    if unknown:
        names = ", ".join(shown(name, 30) for name in unknown[:3])
        more = f" and {len(unknown) - 3:,} more" if len(unknown) > 3 else ""
        raise Refusal(
            f"unknown field(s) {names}{more}; a run takes {', '.join(RUN_FIELDS)}"
        )
    defaults = RunRequest()
    pace = fields.get("pace", defaults.pace)
    if not isinstance(pace, str) or pace not in PACES:
        raise Refusal(
            f"pace {shown(pace)}: choose 'watch' (snapshots a person can follow) or 'fast'"
        )
    signals = fields.get("signals", defaults.signals)
    if type(signals) is not bool:
        raise Refusal(f"signals {shown(signals)}: give true (layer signals and alerts) or false")
    try:
        # Checked as the training script checks its flags (core/run_settings.py), with the
        # socket's tighter caps on epochs and on the network's size.
        conv = run_settings.parse_conv(fields.get("conv", list(defaults.conv)),
                                       max_filters=MAX_FILTERS)
        if len(conv) > MAX_CONV_LAYERS:
            raise Refusal(f"conv: at most {MAX_CONV_LAYERS} convolution layers, like [4, 8]")
        return RunRequest(
            digits=run_settings.parse_digits(fields.get("digits", list(defaults.digits))),
            conv=conv,
            hidden=run_settings.parse_hidden(
                fields.get("hidden", list(defaults.hidden)),
                max_layers=MAX_HIDDEN_LAYERS,
                max_units=MAX_UNITS,
            ),
            activation=run_settings.check_activation(
                fields.get("activation", defaults.activation)
            ),
            epochs=run_settings.check_epochs(
                fields.get("epochs", defaults.epochs), max_epochs=MAX_EPOCHS
            ),
            batch_size=run_settings.check_batch_size(
                fields.get("batch_size", defaults.batch_size), max_batch_size=MAX_BATCH_SIZE
            ),
            learning_rate=run_settings.check_learning_rate(
                fields.get("learning_rate", defaults.learning_rate)
            ),
            optimizer=run_settings.check_optimizer(fields.get("optimizer", defaults.optimizer)),
            initializer=run_settings.check_initializer(
                fields.get("initializer", defaults.initializer)
            ),
            l2=run_settings.check_l2(fields.get("l2", defaults.l2)),
            dropout=run_settings.check_dropout(fields.get("dropout", defaults.dropout)),
            train_examples=run_settings.check_train_examples(
                fields.get("train_examples", defaults.train_examples)
            ),
            snapshot_every=_whole_number(
                fields, "snapshot_every", 1, MAX_SNAPSHOT_EVERY, defaults.snapshot_every
            ),
            pace=pace,
            signals=signals,
        )
    except run_settings.SettingsError as error:
        raise Refusal(str(error)) from None


def parse_control(message: Any) -> tuple[str, np.ndarray | None]:
    """A message during a run → (type, the watched drawing as 784 floats for 'watch')."""
    kind = message.get("type") if isinstance(message, dict) else None
    if not isinstance(kind, str) or kind not in CONTROL_TYPES:
        settings_again = kind == "start" or (
            isinstance(message, dict) and kind is None and set(message) & set(RUN_FIELDS)
        )
        raise Refusal(
            f"during a run, send a JSON object whose type is one of {', '.join(CONTROL_TYPES)}"
            + ("; the run's settings can only be chosen once" if settings_again else "")
            + (f" (got type {shown(kind)})" if kind is not None else "")
        )
    if kind != "watch":
        return kind, None
    return kind, watched_pixels(message.get("pixels"))


def watched_pixels(pixels: Any) -> np.ndarray:
    """A watched drawing: 28 rows of 28 JSON numbers in [0, 1] → 784 float32s. Anything else is
    refused without ending the run (it goes on watching what it watched before)."""
    if not (
        isinstance(pixels, list)
        and len(pixels) == 28
        and all(isinstance(row, list) and len(row) == 28 for row in pixels)
    ):
        raise Refusal(
            "watch: 'pixels' must be 28 rows of 28 numbers in [0, 1] (MNIST form)", ends_run=False
        )
    # Only JSON numbers: NumPy would also read "0.5" or true, and a huge integer overflows it.
    if not all(type(value) is int or type(value) is float for row in pixels for value in row):
        raise Refusal(
            "watch: 'pixels' must hold only numbers in [0, 1], not text or true/false",
            ends_run=False,
        )
    image = np.asarray(pixels, dtype=np.float64)
    if not np.all(np.isfinite(image)) or image.min() < 0 or image.max() > 1:
        raise Refusal(
            "watch: 'pixels' must hold only numbers in [0, 1] (no NaN or Infinity)", ends_run=False
        )
    return image.reshape(784).astype(np.float32)


class RunControl:
    """What the client asks of a running job, handed from the event loop to its thread.

    The thread calls `checkpoint` after every batch; it returns at once while the run goes on,
    blocks while the run is paused, and tells the thread when to stop.
    """

    def __init__(self, deadline: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.deadline = deadline
        self.clock = clock
        # "client", "time_limit", "diverged" (the loss ran away: no model is kept);
        # "disconnected" or "error" (the client's side ended)
        self.stop_reason: str | None = None
        self.watched: np.ndarray | None = None
        self._paused = False
        self._steps_left = 0  # batches a "step" lets through while paused
        self._changed = threading.Condition()

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def abandoned(self) -> bool:
        """The client has gone or erred: nobody is there to take the model."""
        return self.stop_reason in ("disconnected", "error")

    def pause(self) -> None:
        with self._changed:
            self._paused, self._steps_left = True, 0

    def resume(self) -> None:
        with self._changed:
            self._paused, self._steps_left = False, 0
            self._changed.notify_all()

    def step(self, batches: int) -> None:
        with self._changed:
            if not self._paused:
                raise Refusal(
                    "step trains one snapshot's worth of a paused run: send pause first"
                )
            self._steps_left += batches
            self._changed.notify_all()

    def stop(self, reason: str) -> None:
        with self._changed:
            if self.stop_reason is None:
                self.stop_reason = reason
            self._changed.notify_all()

    def watch(self, pixels: np.ndarray) -> None:
        self.watched = pixels  # one reference swap: the thread reads whichever is current

    def checkpoint(self, before_waiting: Callable[[], None] = lambda: None) -> bool:
        """After a batch: wait while paused (and no step is owed); True when the run must stop.

        `before_waiting` runs (without the lock) once before the thread starts waiting, so that
        the client sees where a pause or a step left the network.
        """
        announced = False
        with self._changed:
            while True:
                if self.clock() >= self.deadline and self.stop_reason is None:
                    self.stop_reason = "time_limit"
                if self.stop_reason is not None:
                    return True
                if not self._paused:
                    return False
                if self._steps_left > 0:
                    self._steps_left -= 1
                    return False
                if not announced:
                    announced = True
                    self._changed.release()
                    try:
                        before_waiting()
                    finally:
                        self._changed.acquire()
                    continue
                self._changed.wait(timeout=max(0.0, min(1.0, self.deadline - self.clock())))
