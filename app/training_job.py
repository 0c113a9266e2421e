"""One training run of WebSocket /train, on its own thread: data, the recipe, snapshots.

The network is built, fitted and evaluated by the same recipe as `python -m training.train`
(core/recipe.py); this module only adds a Keras callback (app/live_training.py) that sends
snapshots, waits between them when a person is watching, and pauses, steps and stops the run as
its `RunControl` says. Messages go out through `emit`, which must be safe to call from this
thread.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.model_registry import LoadedModel, served_layers
from app.training_leftovers import releasing_leftovers
from app.training_runs import Emit, RunControl, RunRequest
from core import recipe
from core.epochs import as_inputs
from core.mnist_data import NPZ_NAME, Mnist, load_mnist
from core.model_card import build_model_card

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
    alerts: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class DivergedRun:
    """A run whose loss ran away: stopped at once, its model not kept (nothing to use)."""

    alerts: list[dict[str, Any]]
    training_time_s: float


def run_job(
    request: RunRequest,
    run_id: str,
    model_name: str,
    data_path: Path,
    control: RunControl,
    emit: Emit,
    progress_wanted: Callable[[], bool] = lambda: True,
) -> TrainedRun | DivergedRun | None:
    """Train as `request` says, sending started/progress/epoch messages; the model at the end
    (None when the client left or erred: nobody would take it, so it is not evaluated; a
    `DivergedRun` when the loss ran away). What the run leaves in TensorFlow is let go of when
    it ends, however it ends."""
    with releasing_leftovers():
        return train(request, run_id, model_name, data_path, control, emit, progress_wanted)


def train(
    request: RunRequest,
    run_id: str,
    model_name: str,
    data_path: Path,
    control: RunControl,
    emit: Emit,
    progress_wanted: Callable[[], bool],
) -> TrainedRun | DivergedRun | None:
    # Over 60 lines: the recipe's steps with the messages the page shows between them, in order.
    settings = request.recipe_settings()
    mnist = load_training_mnist(data_path)
    splits = recipe.select_digits(
        mnist, settings.digits, settings.validation_fraction, settings.seed,
        settings.train_examples,
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
    # Imported here, not with the app: it imports Keras, which the app loads (quietly) with the
    # models at start-up, not when its modules are imported.
    from app.live_training import LiveTraining

    epochs = recipe.training_epochs(settings, splits)

    def batch_of(epoch: int, batch: int) -> tuple[Any, Any]:
        images, targets = epochs.batch(epoch - 1, batch - 1, settings.batch_size)
        return as_inputs(images), targets

    callback = LiveTraining(request, control, emit, len(splits.y_train), progress_wanted,
                            batch_of)
    fitted = recipe.fit(model, settings, epochs, splits.validation, callbacks=[callback])
    if control.abandoned:
        return None
    if control.stop_reason == "diverged":
        return DivergedRun(list(callback.alerts.raised), fitted.training_time_s)
    model = recipe.without_dropout(model)  # what is served and saved
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
        layers=served_layers(model, f"{model_name}.keras"),
        card=card,
    )
    return TrainedRun(loaded, keras_file, metrics, fitted.training_time_s,
                      list(callback.alerts.raised))


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
            "initializer": request.initializer,
            "l2": request.l2,
            "dropout": request.dropout,
            "train_examples": request.train_examples,
            "snapshot_every": request.snapshot_every,
            "pace": request.pace,
            "stopped": control.stop_reason,
        },
    )
