"""The Keras callback of a live training run: snapshots out, the client's controls obeyed.

Keras calls it on the training thread (app/training_job.py) after every batch and epoch. It
sends a `progress` snapshot every `snapshot_every` batches (the first layer's weights as
images, the running loss and accuracy, each layer's signals and the run's alerts
(app/training_signals.py), and the watched drawing's answer), waits between snapshots when a
person is watching (`pace: "watch"`), and pauses, steps or stops the run when its `RunControl`
says so. After every batch it checks the loss: a run that diverges stops at once. Messages go
out through `emit`, which is safe to call from the thread.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from app.training_runs import WATCH_SNAPSHOTS_PER_S, Emit, RunControl, RunRequest
from app.training_signals import Alerts, dense_twins, layer_signals
from core.epochs import Epoch
from core.network import class_probabilities, forward, layers_from_keras

FIRST_LAYER_IMAGES = 32  # the first layer's weights are shown for at most this many units
# (epoch, batch), both from 1 → that batch's (inputs (n, 784) float32, class indices (n,)).
BatchOf = Callable[[int, int], Epoch]


class LiveTraining(keras.callbacks.Callback):
    """Where the run is (epoch and batch, from 1), and when it last showed itself."""

    def __init__(
        self,
        request: RunRequest,
        control: RunControl,
        emit: Emit,
        n_train: int,
        progress_wanted: Callable[[], bool],
        batch_of: BatchOf,
    ) -> None:
        super().__init__()
        self.request, self.control, self.emit = request, control, emit
        self.n_train = n_train
        self.progress_wanted = progress_wanted
        self.batch_of = batch_of
        self.batches = -(-n_train // request.batch_size)  # per epoch
        self.min_gap_s = 1.0 / WATCH_SNAPSHOTS_PER_S if request.pace == "watch" else 0.0
        self.epoch, self.batch = 0, 0
        self.last_snapshot_at = -float("inf")
        self.snapshot_batch = (0, -1)  # (epoch, batch) of the last snapshot
        self.alerts = Alerts(request.as_message(), self.batches)
        self.running_loss = 0.0  # Keras's loss in the logs: the mean over this epoch so far
        # The kernels before the batch under way, kept when a snapshot may follow it.
        self.kernels_before: tuple[tuple[int, int], list[np.ndarray]] | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        # Batch 0: the random weights the network starts from (the "static" the strokes form
        # out of), sent before Keras traces its training step, which takes seconds.
        self.epoch, self.batch = 1, 0
        self.snapshot({}, force=True)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.epoch, self.batch = epoch + 1, 0
        self.running_loss = 0.0

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        upcoming = batch + 1
        snapshot_may_follow = (
            upcoming % self.request.snapshot_every == 0
            or upcoming == self.batches
            or self.control.paused
        )
        if self.signals_on() and snapshot_may_follow:
            kernels = [layer.weights for layer in dense_twins(self.model)]
            self.kernels_before = ((self.epoch, upcoming), kernels)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.batch = batch + 1
        if self.diverged(logs or {}):
            self.control.stop("diverged")
            self.model.stop_training = True
            return
        on_the_grid = self.batch % self.request.snapshot_every == 0 or self.batch == self.batches
        # A paused run shows where it stops (below), also after a step, not on the way there.
        if on_the_grid and not self.control.paused:
            self.snapshot(logs or {})
        if self.control.checkpoint(before_waiting=lambda: self.snapshot(logs or {}, force=True)):
            self.model.stop_training = True

    def diverged(self, logs: dict[str, Any]) -> bool:
        """This batch's loss, from the epoch's running mean Keras logs, checked for divergence."""
        if logs.get("loss") is None:
            return False
        mean = float(logs["loss"])
        with np.errstate(all="ignore"):
            batch_loss = self.batch * mean - (self.batch - 1) * self.running_loss
        self.running_loss = mean
        if self.batch > 1 and not np.isfinite(batch_loss) and np.isfinite(mean):
            batch_loss = mean  # the earlier mean overflowed, not this batch
        return self.alerts.after_batch(float(batch_loss), self.where()) is not None

    def where(self) -> dict[str, int]:
        seen_this_epoch = min(self.batch * self.request.batch_size, self.n_train)
        return {
            "epoch": self.epoch,
            "batch": self.batch,
            "seen": (self.epoch - 1) * self.n_train + seen_this_epoch,  # examples so far
        }

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
        where = self.where()
        message: dict[str, Any] = {
            "type": "progress",
            "epoch": where["epoch"],
            "batch": where["batch"],
            "batches": self.batches,
            "seen": where["seen"],
            "loss": _number(logs.get("loss")),
            "accuracy": _number(logs.get("accuracy")),
            "first_layer": first_layer_images(self.model),
        }
        layers = numpy_twins(self.model)
        if self.signals_on():
            message["layers"] = self.signals(layers, where)
            message["alerts"] = list(self.alerts.raised)  # the thread adds more later
        watched = self.control.watched
        if watched is not None:
            message["watch"] = watch_answer(layers, watched, len(self.request.digits))
        return message

    def signals_on(self) -> bool:
        """Layer signals are asked for, and the network is one of Dense layers (the signals of
        a convolutional one are not measured yet)."""
        return self.request.signals and is_dense(self.model)

    def signals(self, layers: tuple[Any, ...], where: dict[str, int]) -> list[dict[str, Any]]:
        """Each layer's signals on the batch just trained (before the first: on the first one,
        at the starting weights), and the alerts they raise."""
        x, y = self.batch_of(self.epoch, max(self.batch, 1))
        before = None
        if self.kernels_before is not None and self.kernels_before[0] == (self.epoch, self.batch):
            before = self.kernels_before[1]
        signals = layer_signals(layers, x, y, before, self.request.l2)
        self.alerts.after_snapshot(signals, where)
        return signals


def is_dense(model: Any) -> bool:
    return all(isinstance(layer, keras.layers.Dense | keras.layers.Dropout)
               for layer in model.layers)


def numpy_twins(model: Any) -> tuple[Any, ...]:
    """The network as the app's NumPy layers, for the watched drawing and the signals: its
    Dense layers (a Dropout layer only acts while fitting), or all of a convolutional one."""
    return dense_twins(model) if is_dense(model) else layers_from_keras(model)


def first_layer_images(model: keras.Model) -> dict[str, Any]:
    """The first layer's weights as images, one per unit (at most 32): a dense layer's 784
    weights per unit as a 28×28 image, a convolution's kernel per filter as a k×k image (`kind`
    says which). Each image's weights are scaled by its largest |w| to bytes,
    128 + round(127 · w / scale), base64-encoded, so a snapshot of 32 units is ~33 kB of JSON
    rather than ~200 kB of numbers."""
    first = next(layer for layer in model.layers if hasattr(layer, "kernel"))
    kernel = first.kernel.numpy()
    kind = "conv2d" if kernel.ndim == 4 else "dense"
    side = kernel.shape[0] if kind == "conv2d" else 28
    # A first convolution sees one grey channel: its (k, k, 1, filters) kernel is one k×k
    # image per filter, read row by row.
    kernel = kernel.reshape(-1, kernel.shape[-1])
    weights = kernel[:, :FIRST_LAYER_IMAGES].T  # (units, inputs)
    scales = np.maximum(np.abs(weights).max(axis=1), 1e-12)
    codes = np.clip(np.rint(weights / scales[:, None] * 127) + 128, 1, 255).astype(np.uint8)
    return {
        "kind": kind,
        "units": int(kernel.shape[1]),
        "side": int(side),
        "scales": [round(float(s), 6) for s in scales],
        "images": [base64.b64encode(row.tobytes()).decode("ascii") for row in codes],
    }


def watch_answer(layers: tuple[Any, ...], pixels: np.ndarray, n_classes: int) -> dict[str, Any]:
    """The watched drawing under the weights so far, by the app's own NumPy forward pass."""
    probabilities = class_probabilities(forward(layers, pixels)[-1].a, n_classes)
    return {
        "probabilities": [round(float(p), 6) for p in probabilities],
        "prediction": int(np.argmax(probabilities)),
    }


def _number(value: Any) -> float | None:
    """A log's number for JSON, which has no NaN or infinity: those are None."""
    if value is None or not np.isfinite(float(value)):
        return None
    return round(float(value), 6)
