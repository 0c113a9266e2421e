"""The Keras callback of a live training run: snapshots out, the client's controls obeyed.

Keras calls it on the training thread (app/training_job.py) after every batch and epoch. It
sends a `progress` snapshot every `snapshot_every` batches (the first layer's weights as
images, the running loss and accuracy, and the watched drawing's answer), waits between
snapshots when a person is watching (`pace: "watch"`), and pauses, steps or stops the run when
its `RunControl` says so. Messages go out through `emit`, which is safe to call from the thread.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from app.training_runs import WATCH_SNAPSHOTS_PER_S, Emit, RunControl, RunRequest
from core.network import class_probabilities, forward, layers_from_keras

FIRST_LAYER_IMAGES = 32  # the first hidden layer's weights are shown for at most this many units


class LiveTraining(keras.callbacks.Callback):
    """Where the run is (epoch and batch, from 1), and when it last showed itself."""

    def __init__(
        self,
        request: RunRequest,
        control: RunControl,
        emit: Emit,
        n_train: int,
        progress_wanted: Callable[[], bool],
    ) -> None:
        super().__init__()
        self.request, self.control, self.emit = request, control, emit
        self.n_train = n_train
        self.progress_wanted = progress_wanted
        self.batches = -(-n_train // request.batch_size)  # per epoch
        self.min_gap_s = 1.0 / WATCH_SNAPSHOTS_PER_S if request.pace == "watch" else 0.0
        self.epoch, self.batch = 0, 0
        self.last_snapshot_at = -float("inf")
        self.snapshot_batch = (0, -1)  # (epoch, batch) of the last snapshot

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        # Batch 0: the random weights the network starts from (the "static" the strokes form
        # out of), sent before Keras traces its training step, which takes seconds.
        self.epoch, self.batch = 1, 0
        self.snapshot({}, force=True)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch, self.batch = epoch + 1, 0

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.batch = batch + 1
        on_the_grid = self.batch % self.request.snapshot_every == 0 or self.batch == self.batches
        # A paused run shows where it stops (below), also after a step, not on the way there.
        if on_the_grid and not self.control.paused:
            self.snapshot(logs or {})
        if self.control.checkpoint(before_waiting=lambda: self.snapshot(logs or {}, force=True)):
            self.model.stop_training = True

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        logs = logs or {}
        self.emit({
            "type": "epoch",
            "epoch": epoch + 1,
            **{key: _number(logs.get(key)) for key in (
                "loss", "accuracy", "val_loss", "val_accuracy")},
        })

    def snapshot(self, logs: dict[str, Any], force: bool = False) -> None:
        if self.snapshot_batch == (self.epoch, self.batch):
            return  # this batch was shown already (a pause right after a snapshot)
        if not force and not self.progress_wanted():
            return  # the client has not read the last ones yet: skip rather than pile up
        wait = self.last_snapshot_at + self.min_gap_s - time.monotonic()
        if wait > 0 and not force:
            time.sleep(wait)
        self.last_snapshot_at = time.monotonic()
        self.snapshot_batch = (self.epoch, self.batch)
        self.emit(self.progress(logs))

    def progress(self, logs: dict[str, Any]) -> dict[str, Any]:
        seen_this_epoch = min(self.batch * self.request.batch_size, self.n_train)
        message: dict[str, Any] = {
            "type": "progress",
            "epoch": self.epoch,
            "batch": self.batch,
            "batches": self.batches,
            "seen": (self.epoch - 1) * self.n_train + seen_this_epoch,  # examples so far
            "loss": _number(logs.get("loss")),
            "accuracy": _number(logs.get("accuracy")),
            "first_layer": first_layer_images(self.model.get_layer("hidden_1").kernel.numpy()),
        }
        watched = self.control.watched
        if watched is not None:
            message["watch"] = watch_answer(self.model, watched, len(self.request.digits))
        return message


def first_layer_images(kernel: np.ndarray) -> dict[str, Any]:
    """The first hidden layer's weights, one 28×28 image per unit (at most 32): each unit's 784
    weights scaled by its largest |w| to bytes, 128 + round(127 · w / scale), base64-encoded,
    so a snapshot of 32 units is ~33 kB of JSON rather than ~200 kB of numbers."""
    weights = kernel[:, :FIRST_LAYER_IMAGES].T  # (units, 784)
    scales = np.maximum(np.abs(weights).max(axis=1), 1e-12)
    codes = np.clip(np.rint(weights / scales[:, None] * 127) + 128, 1, 255).astype(np.uint8)
    return {
        "units": int(kernel.shape[1]),
        "side": 28,
        "scales": [round(float(s), 6) for s in scales],
        "images": [base64.b64encode(row.tobytes()).decode("ascii") for row in codes],
    }


def watch_answer(model: Any, pixels: np.ndarray, n_classes: int) -> dict[str, Any]:
    """The watched drawing under the weights so far, by the app's own NumPy forward pass."""
    layers = layers_from_keras(model)
    probabilities = class_probabilities(forward(layers, pixels)[-1].a, n_classes)
    return {
        "probabilities": [round(float(p), 6) for p in probabilities],
        "prediction": int(np.argmax(probabilities)),
    }


def _number(value: Any) -> float | None:
    return None if value is None else round(float(value), 6)
