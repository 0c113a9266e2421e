"""The Keras recipe: choose the digits, build the network, fit it, evaluate it.

The command line (`python -m training.train`) and the page's live training call these same
functions; the live one only adds Keras callbacks (snapshots, pause, stop) to `fit`. Nothing
here parses arguments, reads or writes files, or prints: the only output is Keras's own
progress, and only when the caller asks for it (`verbose`).

    splits = select_digits(mnist, settings.digits, settings.validation_fraction, settings.seed)
    model = build_network(settings)                # seeded: the same seed gives the same weights
    fitted = fit(model, settings, splits, callbacks=[...])
    metrics = evaluate_splits(model, splits, settings.classes)
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from core import network
from core.mnist_data import DataError, Mnist

if TYPE_CHECKING:
    import keras

HIDDEN_ACTIVATIONS = ("sigmoid", "relu", "tanh")
LEARNING_RATE_SCHEDULES = ("constant", "cosine")


@dataclass
class RecipeSettings:
    """What the network is and how it learns. The defaults build the seed's 0/1 network.

    The command line extends this with where the data comes from and where the model goes
    (training/settings.py); live training builds it from the client's first message.
    """

    digits: tuple[int, ...] = (0, 1)
    hidden: tuple[int, ...] = (25, 15)
    activation: str = "sigmoid"
    epochs: int = 20
    batch_size: int = 128
    learning_rate: float = 0.005  # Adam's
    validation_fraction: float = 0.1  # held out of the training split
    seed: int = 1  # one seed for the split, the weights and the shuffling
    # Change the training images afresh every epoch (core/augmentation.py, its TRAINING
    # strengths): rotation, slant, stretch, stroke width, elastic distortion, blur, shifts and
    # writing-style variants. The command line turns it on for the shipped models.
    augment: bool = False
    # Adam's learning rate over the epochs: "constant", or "cosine" (from learning_rate down
    # towards 0 along half a cosine, epoch by epoch: big steps first, fine ones at the end).
    learning_rate_schedule: str = "constant"

    @property
    def is_binary(self) -> bool:
        """Two digits get one sigmoid output unit, as in the seed's notebook."""
        return len(self.digits) == 2

    @property
    def classes(self) -> list[str]:
        return [str(d) for d in self.digits]


@dataclass
class Splits:
    """The selected digits as network inputs: x (n, 784) float32 in [0,1] (or uint8 0-255, see
    `select_digits`), y class indices."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    test_indices: np.ndarray  # positions of the test rows in the full MNIST test set


@dataclass
class Fitted:
    """What `fit` leaves besides the trained model: Keras's per-epoch history and the time."""

    history: dict[str, list[float]]
    training_time_s: float
    # With `fit(keep_augmented_epochs=k)`: the first k epochs' augmented training images (n,
    # 28, 28) uint8 and their class indices, in the epoch's order, by epoch (for the "neither"
    # detector).
    augmented_epochs: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def as_inputs(images: np.ndarray) -> np.ndarray:
    """Digits (n, 28, 28) uint8 → network inputs (n, 784) float32 in [0, 1]: how every input
    the networks train and are measured on is scaled (`select_digits`, the shifted test set,
    the detector's data)."""
    return images.reshape(len(images), -1).astype(np.float32) / 255.0


def as_images(x: np.ndarray) -> np.ndarray:
    """Network inputs (n, 784) in [0, 1] → digits (n, 28, 28) uint8, for the augmentation,
    which works on images: `as_inputs` undone, exactly."""
    return np.rint(x.reshape(-1, 28, 28) * 255).astype(np.uint8)


def select_digits(
    mnist: Mnist,
    digits: tuple[int, ...],
    validation_fraction: float,
    seed: int,
    keep_uint8: bool = False,
) -> Splits:
    """Keep the requested digits, scale to [0,1], flatten to 784, hold out a validation split.

    Class i is the i-th requested digit. The test split stays apart: it is for the final report.
    With ``keep_uint8`` the rows stay uint8 (a quarter of the memory): `fit` and `evaluate`
    then scale them batch by batch (the page's live training, app/training_job.py).
    """
    for split, labels in (("training", mnist.y_train), ("test", mnist.y_test)):
        missing = [d for d in digits if not np.any(labels == d)]
        if missing:
            raise DataError(
                f"the {split} set has no examples of digit(s) {', '.join(map(str, missing))}"
            )
    class_of_digit = np.full(10, -1, dtype=np.int64)
    class_of_digit[list(digits)] = np.arange(len(digits))

    def prepare(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, ...]:
        keep = np.flatnonzero(np.isin(labels, digits))
        x = images[keep].reshape(len(keep), -1) if keep_uint8 else as_inputs(images[keep])
        return x, class_of_digit[labels[keep]], keep

    x, y, _ = prepare(mnist.x_train, mnist.y_train)
    x_test, y_test, test_indices = prepare(mnist.x_test, mnist.y_test)

    # A seeded shuffle, so the validation split is the same on every run with the same seed.
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = max(1, round(len(x) * validation_fraction))
    val, train = order[:n_val], order[n_val:]
    return Splits(x[train], y[train], x[val], y[val], x_test, y_test, test_indices)


def loss_name(settings: RecipeSettings) -> str:
    return "binary_crossentropy" if settings.is_binary else "sparse_categorical_crossentropy"


def build_network(settings: RecipeSettings, name: str = "digits") -> keras.Model:
    """The seed's network: Dense hidden layers, then one sigmoid unit or a softmax; compiled.
    ``name`` is the Keras model's name (letters, digits, '-' and '_').

    Seeds Python, NumPy and TensorFlow from ``settings.seed`` and turns on TensorFlow's
    deterministic kernels (for the whole process) first, so that the same seed and data give
    the same weights on the same machine. Other CPUs may differ in the last digits: the order
    of float sums depends on the kernels (oneDNN or not) and the vector width.
    """
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(settings.seed)
    tf.config.experimental.enable_op_determinism()

    layers: list[Any] = [keras.Input(shape=(784,), name="pixels")]
    for i, units in enumerate(settings.hidden, start=1):
        layers.append(keras.layers.Dense(units, activation=settings.activation, name=f"hidden_{i}"))
    if settings.is_binary:
        # One unit: p(second class), with binary cross-entropy, as in the seed's notebook.
        layers.append(keras.layers.Dense(1, activation="sigmoid", name="output"))
    else:
        layers.append(keras.layers.Dense(len(settings.digits), activation="softmax", name="output"))
    model = keras.Sequential(layers, name=name)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=settings.learning_rate),
        loss=loss_name(settings),
        metrics=["accuracy"],
    )
    return model


def fit(
    model: keras.Model,
    settings: RecipeSettings,
    splits: Splits,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int = 0,
    keep_augmented_epochs: int = 0,
) -> Fitted:
    """Train ``model`` on the training split, validating after each epoch.

    ``callbacks`` are passed on to Keras (live training adds its snapshot, pause and stop
    callbacks here). ``verbose`` is Keras's: 0 silent, 1 a progress bar (for a terminal),
    2 one line per epoch (for a log file). ``keep_augmented_epochs`` keeps the first that
    many epochs' augmented images in `Fitted.augmented_epochs` (with ``settings.augment``).
    """
    started = time.perf_counter()
    training_data: dict[str, Any] = {
        "x": splits.x_train,
        "y": splits.y_train,
        "batch_size": settings.batch_size,
        "shuffle": True,
    }
    kept_epochs: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    if settings.augment:
        from core.augmented_epochs import AugmentedEpochs, epoch_dataset, steps_per_epoch

        images = as_images(splits.x_train)
        digits = np.asarray(settings.digits)[splits.y_train]
        epochs = AugmentedEpochs(images, splits.y_train, digits, settings.seed,
                                 keep=keep_augmented_epochs)
        # The epochs shuffle themselves, seeded: Keras must not reorder them.
        training_data = {
            "x": epoch_dataset(epochs, settings.epochs, settings.batch_size),
            "steps_per_epoch": steps_per_epoch(len(images), settings.batch_size),
            "shuffle": False,
        }
        kept_epochs = epochs.kept
    validation_data: Any = (splits.x_val, splits.y_val)
    if splits.x_train.dtype == np.uint8 and not settings.augment:
        from core.scaled_batches import ScaledBatches

        # Converted to float batch by batch; shuffled by the batches themselves, seeded.
        training_data = {
            "x": ScaledBatches(splits.x_train, splits.y_train, settings.batch_size,
                               settings.seed, shuffle=True),
            "shuffle": False,
        }
        validation_data = ScaledBatches(splits.x_val, splits.y_val, 1024, settings.seed,
                                        shuffle=False)
    schedule = []
    if settings.learning_rate_schedule == "cosine":
        schedule = [cosine_schedule(settings.learning_rate, settings.epochs)]
    history = model.fit(
        **training_data,
        validation_data=validation_data,
        epochs=settings.epochs,
        callbacks=[*schedule, *callbacks],
        verbose=verbose,
    )
    return Fitted(
        history={
            key: [float(v) for v in values]
            for key, values in history.history.items()
            if key != "learning_rate"  # the schedule's, known from the settings
        },
        training_time_s=time.perf_counter() - started,
        augmented_epochs=kept_epochs,
    )


def cosine_schedule(start: float, epochs: int) -> keras.callbacks.Callback:
    """The Keras callback that sets each epoch's rate by `cosine_learning_rate`: one place for
    the classifier's `fit` and the "neither" detector's (training/ood_detector.py)."""
    import keras

    return keras.callbacks.LearningRateScheduler(
        lambda epoch: cosine_learning_rate(start, epoch, epochs)
    )


def cosine_learning_rate(start: float, epoch: int, epochs: int) -> float:
    """Epoch `epoch`'s (from 0) rate on half a cosine from `start` at the first epoch down
    towards 0 after the last (Loshchilov & Hutter, SGDR, ICLR 2017, without restarts)."""
    return start * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))


def class_probabilities(model: keras.Model, x: np.ndarray, binary: bool) -> np.ndarray:
    """(n, classes) probabilities, also for the one-unit sigmoid output (as the app reads it).
    uint8 rows are scaled and run 4096 at a time, so no float copy of them all is made."""
    if x.dtype == np.uint8:
        from core.scaled_batches import scaled

        out = np.concatenate([
            np.asarray(model(scaled(x[i : i + 4096]), training=False), dtype=np.float64)
            for i in range(0, len(x), 4096)
        ])
    else:
        out = np.asarray(model(x, training=False), dtype=np.float64)
    return network.class_probabilities(out, 2 if binary else out.shape[-1])


def evaluate(model: keras.Model, x: np.ndarray, y: np.ndarray, binary: bool) -> dict[str, Any]:
    """Cross-entropy and accuracy from the probabilities the app would show."""
    probabilities = class_probabilities(model, x, binary)
    picked = np.clip(probabilities[np.arange(len(y)), y], 1e-7, 1.0)
    return {
        "loss": float(-np.mean(np.log(picked))),
        "accuracy": float(np.mean(probabilities.argmax(axis=1) == y)),
        "count": len(y),
    }


def evaluate_splits(model: keras.Model, splits: Splits, classes: list[str]) -> dict[str, Any]:
    """Loss and accuracy per split; for the test split also its confusion matrix (rows: true
    class, columns: predicted) and which MNIST test images it gets wrong."""
    binary = len(classes) == 2
    metrics = {
        "train": evaluate(model, splits.x_train, splits.y_train, binary),
        "validation": evaluate(model, splits.x_val, splits.y_val, binary),
        "test": evaluate(model, splits.x_test, splits.y_test, binary),
    }
    predicted = class_probabilities(model, splits.x_test, binary).argmax(axis=1)
    confusion = np.zeros((len(classes), len(classes)), dtype=np.int64)
    np.add.at(confusion, (splits.y_test, predicted), 1)
    metrics["test"]["confusion_matrix"] = confusion.tolist()
    metrics["test"]["misclassified"] = [
        {
            "mnist_test_index": int(splits.test_indices[i]),
            "true": classes[splits.y_test[i]],
            "predicted": classes[predicted[i]],
        }
        for i in np.flatnonzero(predicted != splits.y_test)
    ]
    return metrics
