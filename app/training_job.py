"""One training run of WebSocket /train, on its own thread: data, the recipe, snapshots.

The network is built, fitted and evaluated by the same recipe as `python -m training.train`
(core/recipe.py); this module only adds a Keras callback that sends snapshots, waits between
them when a person is watching, and pauses, steps and stops the run as its `RunControl` says.
Messages go out through `emit`, which must be safe to call from this thread.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.model_registry import LoadedModel, dense_layers
from app.training_runs import WATCH_SNAPSHOTS_PER_S, RunControl, RunRequest
from core import recipe
from core.mnist_data import NPZ_NAME, Mnist, load_mnist
from core.model_card import build_model_card
from core.network import class_probabilities, forward, layers_from_keras

Emit = Callable[[dict[str, Any]], None]
FIRST_LAYER_IMAGES = 32  # the first hidden layer's weights are shown for at most this many units

_mnist_cache: dict[Path, Mnist] = {}
_mnist_lock = threading.Lock()


def keras_cache_file() -> Path:
    """Where `keras.datasets.mnist.load_data()` keeps the MNIST it downloaded."""
    home = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras"))
    return home / "datasets" / NPZ_NAME


def mnist_location(data_dir: Path | None) -> Path | None:
    """The MNIST runs learn from: DIGITS_DATA_DIR, else Keras's cache; None when neither."""
    if data_dir is not None:
        return data_dir if data_dir.exists() else None
    cached = keras_cache_file()
    return cached if cached.is_file() else None


def missing_data_help(data_dir: Path | None) -> str:
    """Why the page cannot train here, for any visitor: the setting to change, no server path."""
    where = "DIGITS_DATA_DIR names no folder that exists" if data_dir else "no MNIST here"
    return (
        f"training needs MNIST and this server has none ({where}): its operator can set "
        f"DIGITS_DATA_DIR to a folder of the four MNIST IDX files or mnist.npz and restart it "
        f"(`make run` does when ../shared/data holds them), or fill Keras's cache once with "
        f"keras.datasets.mnist.load_data()"
    )


def load_training_mnist(path: Path) -> Mnist:
    """MNIST as uint8 (47 MB), read once per process and shared by every run."""
    with _mnist_lock:
        if path not in _mnist_cache:
            _mnist_cache[path] = load_mnist(path)
        return _mnist_cache[path]


@dataclass
class TrainedRun:
    model: LoadedModel
    keras_file: bytes  # the .keras file, for the download
    metrics: dict[str, Any]
    training_time_s: float


def run_job(
    request: RunRequest,
    run_id: str,
    model_name: str,
    data_path: Path,
    control: RunControl,
    emit: Emit,
    progress_wanted: Callable[[], bool] = lambda: True,
) -> TrainedRun | None:
    """Train as `request` says, sending started/progress/epoch messages; the model at the end
    (None when the client left or erred: nobody would take it, so it is not evaluated)."""
    settings = request.recipe_settings()
    mnist = load_training_mnist(data_path)
    splits = recipe.select_digits(
        mnist, settings.digits, settings.validation_fraction, settings.seed
    )
    emit({
        "type": "started",
        "run": run_id,
        "settings": request.as_message(),
        "classes": settings.classes,
        "examples": {
            "train": len(splits.y_train),
            "validation": len(splits.y_val),
            "test": len(splits.y_test),
        },
    })
    model = recipe.build_network(settings, name=model_name.replace(".", "_"))
    callback = live_callback(request, control, emit, len(splits.y_train), progress_wanted)
    fitted = recipe.fit(model, settings, recipe.training_epochs(settings, splits),
                        splits.validation, callbacks=[callback])
    if control.abandoned:
        return None
    metrics = recipe.evaluate_splits(model, splits, settings.classes)
    card = model_card(model_name, request, mnist, splits, model, fitted, metrics, control)
    with tempfile.TemporaryDirectory(prefix="digits-train-") as folder:
        path = Path(folder) / f"{model_name}.keras"
        model.save(path)
        keras_file = path.read_bytes()
    # As the model store's writer records it: the download loads in any model store.
    card["files"] = {
        "model": f"{model_name}.keras", "model_sha256": hashlib.sha256(keras_file).hexdigest()
    }
    loaded = LoadedModel(
        name=model_name,
        classes=tuple(settings.classes),
        layers=dense_layers(model, f"{model_name}.keras"),
        card=card,
    )
    return TrainedRun(loaded, keras_file, metrics, fitted.training_time_s)


def live_callback(
    request: RunRequest,
    control: RunControl,
    emit: Emit,
    n_train: int,
    progress_wanted: Callable[[], bool],
) -> Any:
    """The Keras callback that turns a run into messages and obeys its controls."""
    import keras

    batches = -(-n_train // request.batch_size)
    min_gap_s = 1.0 / WATCH_SNAPSHOTS_PER_S if request.pace == "watch" else 0.0

    class LiveTraining(keras.callbacks.Callback):
        epoch = 0
        batch = 0
        last_snapshot_at = -float("inf")
        snapshot_batch = (0, -1)  # (epoch, batch) of the last snapshot

        def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
            # Batch 0: the random weights the network starts from (the "static" the strokes
            # form out of), sent before Keras traces its training step, which takes seconds.
            self.epoch, self.batch = 1, 0
            self.snapshot({}, force=True)

        def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            self.epoch, self.batch = epoch + 1, 0

        def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
            self.batch = batch + 1
            on_the_grid = self.batch % request.snapshot_every == 0 or self.batch == batches
            # A paused run shows where it stops (below), also after a step, not on the way there.
            if on_the_grid and not control.paused:
                self.snapshot(logs or {})
            if control.checkpoint(before_waiting=lambda: self.snapshot(logs or {}, force=True)):
                self.model.stop_training = True

        def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
            logs = logs or {}
            emit({
                "type": "epoch",
                "epoch": epoch + 1,
                **{key: _number(logs.get(key)) for key in (
                    "loss", "accuracy", "val_loss", "val_accuracy")},
            })

        def snapshot(self, logs: dict[str, Any], force: bool = False) -> None:
            if self.snapshot_batch == (self.epoch, self.batch):
                return  # this batch was shown already (a pause right after a snapshot)
            if not force and not progress_wanted():
                return  # the client has not read the last ones yet: skip rather than pile up
            wait = self.last_snapshot_at + min_gap_s - time.monotonic()
            if wait > 0 and not force:
                time.sleep(wait)
            self.last_snapshot_at = time.monotonic()
            self.snapshot_batch = (self.epoch, self.batch)
            emit(self.progress(logs))

        def progress(self, logs: dict[str, Any]) -> dict[str, Any]:
            seen_this_epoch = min(self.batch * request.batch_size, n_train)
            message: dict[str, Any] = {
                "type": "progress",
                "epoch": self.epoch,
                "batch": self.batch,
                "batches": batches,
                "seen": (self.epoch - 1) * n_train + seen_this_epoch,  # examples so far
                "loss": _number(logs.get("loss")),
                "accuracy": _number(logs.get("accuracy")),
                "first_layer": first_layer_images(self.model.get_layer("hidden_1").kernel.numpy()),
            }
            watched = control.watched
            if watched is not None:
                message["watch"] = watch_answer(self.model, watched, len(request.digits))
            return message

    return LiveTraining()


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


def model_card(
    name: str,
    request: RunRequest,
    mnist: Mnist,
    splits: recipe.Splits,
    model: Any,
    fitted: recipe.Fitted,
    metrics: dict[str, Any],
    control: RunControl,
) -> dict[str, Any]:
    """The card the app reads: the command line's card (core/model_card.py), plus how the page
    ran it (snapshots, pace, and why it stopped, if it did)."""
    return build_model_card(
        name,
        "Trained from the page's 'Train your own' panel (WebSocket /train).",
        request.recipe_settings(),
        mnist,
        splits,
        model,
        fitted,
        metrics,
        command="WebSocket /train " + json.dumps(request.as_message()),
        training_extra={
            "snapshot_every": request.snapshot_every,
            "pace": request.pace,
            "stopped": control.stop_reason,
        },
    )
