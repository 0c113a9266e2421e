"""The Keras recipe: choose the digits, build the network, fit it, evaluate it.

The command line (`python -m training.train`) and the page's live training call these same
functions; the live one only adds Keras callbacks (snapshots, pause, stop) to `fit`, and the
out-of-distribution detector (training/ood_detector.py) is built and fitted by them too, with
one class more. Nothing here parses arguments, reads or writes files, or prints: the only output is
Keras's own progress, and only when the caller asks for it (`verbose`).

Digits stay as MNIST stores them, uint8 (n, 28, 28), until `fit` and `evaluate` hand them to
Keras: there, and only there, `as_inputs` (core/epochs.py) turns them into network inputs.

    splits = select_digits(mnist, settings.digits, settings.validation_fraction, settings.seed)
    model = build_network(settings)                # seeded: the same seed gives the same weights
    fitted = fit(model, settings, training_epochs(settings, splits), splits.validation)
    metrics = evaluate_splits(model, splits, settings.classes)

Over 300 lines because the whole recipe (settings, digits, network, fit, evaluation) reads top to
bottom in one place, shared by the command line and the page.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from core import network
from core.augmentation import TRAINING
from core.epochs import (
    INPUT_SIZE,
    DigitEpochs,
    Epoch,
    Epochs,
    as_inputs,
    epoch_dataset,
    steps_per_epoch,
)
from core.mnist_data import DataError, Mnist

if TYPE_CHECKING:
    import keras

HIDDEN_ACTIVATIONS = ("sigmoid", "relu", "tanh")
LEARNING_RATE_SCHEDULES = ("constant", "cosine")
# How a step moves the weights: plain gradient descent, the same with momentum 0.9, or Adam.
OPTIMIZERS = ("sgd", "momentum", "adam")
MOMENTUM = 0.9
# Where the kernels start (the biases start at 0): Keras's default (Glorot's uniform), He's
# normal (scaled for ReLU), all zeros (every unit of a layer alike, and alike they stay), or a
# normal with σ = 1 (large: sigmoid and tanh units start saturated).
INITIALIZERS = ("glorot", "he", "zeros", "large")


@dataclass
class RecipeSettings:
    """What the network is and how it learns. The defaults are the page's quick run of the
    learner's 25/15 network (`QUICK_RUN`); the training command starts from `ZERO_ONE_COMMAND`.

    The command line extends this with where the data comes from and where the model goes
    (training/settings.py); live training builds it from the client's first message.
    """

    digits: tuple[int, ...] = (0, 1)
    hidden: tuple[int, ...] = (25, 15)
    activation: str = "sigmoid"
    # Filters per convolution layer, e.g. (16, 32, 64): each a 3×3 ReLU convolution ("same"
    # padding) then 2×2 max pooling, before the dense hidden layers. () is a dense network.
    conv: tuple[int, ...] = ()
    epochs: int = 5
    batch_size: int = 128
    learning_rate: float = 0.005  # the optimizer's
    validation_fraction: float = 0.1  # held out of the training split
    seed: int = 1  # one seed for the split, the weights and the shuffling
    # Change the training images afresh every epoch (core/augmentation.py, its TRAINING
    # strengths): rotation, slant, stretch, stroke width, elastic distortion, blur, shifts and
    # writing-style variants. The command line turns it on for the shipped models.
    augment: bool = False
    # Adam's learning rate over the epochs: "constant", or "cosine" (from learning_rate down
    # towards 0 along half a cosine, epoch by epoch: big steps first, fine ones at the end).
    learning_rate_schedule: str = "constant"
    optimizer: str = "adam"  # one of OPTIMIZERS
    initializer: str = "glorot"  # one of INITIALIZERS
    l2: float = 0.0  # the kernels' L2 penalty, l2 · Σw², added to the loss
    dropout: float = 0.0  # share of each hidden layer's outputs dropped at random while fitting
    # Fit on only the first n digits of the (shuffled) training split, to watch a network learn
    # them by heart; None: all of them. The validation and test splits stay whole.
    train_examples: int | None = None

    @property
    def classes(self) -> list[str]:
        """The network's classes, in the order of its outputs: the digits'."""
        return [str(d) for d in self.digits]

    @property
    def is_binary(self) -> bool:
        """Two classes get one sigmoid output unit, as in the learner's notebook."""
        return len(self.classes) == 2


# Where a run starts when its user says nothing else, named for the run. The command line
# (training/settings.py), the socket (app/training_runs.py) and, through its data-* attributes,
# the page read them from here.
# The page's quick run: the learner's network, 5 epochs of 128 digits at Adam's 0.005, plain.
QUICK_RUN = RecipeSettings()
# The 0/1 command's, which trains the shipped 0/1 model within its 30 s: 12 epochs (each costs
# about a second of augmentation) of freshly augmented digits, twice the quick run's updates
# per epoch at twice its rate, falling along a cosine to fine steps at the end.
ZERO_ONE_COMMAND = replace(QUICK_RUN, epochs=12, batch_size=64, learning_rate=0.01,
                           learning_rate_schedule="cosine", augment=True)


@dataclass
class Splits:
    """The selected digits, uint8 (n, 28, 28) as MNIST stores them, and their class indices."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    test_indices: np.ndarray  # positions of the test rows in the full MNIST test set

    @property
    def validation(self) -> Epoch:
        return self.x_val, self.y_val


@dataclass
class Fitted:
    """What `fit` leaves besides the trained model: Keras's per-epoch history and the time."""

    history: dict[str, list[float]]
    training_time_s: float


def select_digits(
    mnist: Mnist,
    digits: tuple[int, ...],
    validation_fraction: float,
    seed: int,
    train_examples: int | None = None,
) -> Splits:
    """Keep the requested digits and hold out a validation split; class i is the i-th requested
    digit. The test split stays apart: it is for the final report. ``train_examples`` keeps
    only that many of the training digits (after the held-out ones are taken)."""
    for split, labels in (("training", mnist.y_train), ("test", mnist.y_test)):
        missing = [d for d in digits if not np.any(labels == d)]
        if missing:
            raise DataError(
                f"the {split} set has no examples of digit(s) {', '.join(map(str, missing))}"
            )
    class_of_digit = np.full(10, -1, dtype=np.int64)
    class_of_digit[list(digits)] = np.arange(len(digits))
    train = np.flatnonzero(np.isin(mnist.y_train, digits))
    test = np.flatnonzero(np.isin(mnist.y_test, digits))

    # A seeded shuffle, so the validation split is the same on every run with the same seed.
    order = train[np.random.default_rng(seed).permutation(len(train))]
    n_val = max(1, round(len(order) * validation_fraction))
    fitting, held_out = order[n_val:], order[:n_val]
    fitting = fitting[:train_examples]
    return Splits(
        mnist.x_train[fitting], class_of_digit[mnist.y_train[fitting]],
        mnist.x_train[held_out], class_of_digit[mnist.y_train[held_out]],
        mnist.x_test[test], class_of_digit[mnist.y_test[test]], test,
    )


def training_epochs(settings: RecipeSettings, splits: Splits) -> DigitEpochs:
    """The training split as epochs: shuffled afresh every epoch (seeded) and, with
    ``settings.augment``, augmented afresh too."""
    digits = np.asarray(settings.digits)[splits.y_train]
    strengths = TRAINING if settings.augment else None
    return DigitEpochs(splits.x_train, splits.y_train, digits, settings.seed, strengths)


def loss_name(settings: RecipeSettings) -> str:
    return "binary_crossentropy" if settings.is_binary else "sparse_categorical_crossentropy"


def build_network(settings: RecipeSettings, name: str = "digits") -> keras.Model:
    """Convolution layers if ``settings.conv`` names any (`conv_layers`), dense hidden layers,
    then one sigmoid unit (two classes) or a softmax; compiled.
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

    def dense(units: int, activation: str, name: str) -> keras.layers.Dense:
        return keras.layers.Dense(
            units,
            activation=activation,
            kernel_initializer=kernel_initializer(settings.initializer),
            kernel_regularizer=keras.regularizers.L2(settings.l2) if settings.l2 else None,
            name=name,
        )

    layers: list[Any] = [keras.Input(shape=(INPUT_SIZE,), name="pixels"),
                         *conv_layers(settings.conv)]
    for i, units in enumerate(settings.hidden, start=1):
        layers.append(dense(units, settings.activation, f"hidden_{i}"))
        if settings.dropout:
            layers.append(keras.layers.Dropout(settings.dropout, name=f"dropout_{i}"))
    if settings.is_binary:
        # One unit: p(second class), with binary cross-entropy, as in the learner's notebook.
        layers.append(dense(1, "sigmoid", "output"))
    else:
        layers.append(dense(len(settings.classes), "softmax", "output"))
    model = keras.Sequential(layers, name=name)
    model.compile(
        optimizer=build_optimizer(settings.optimizer, settings.learning_rate),
        loss=loss_name(settings),
        metrics=["accuracy"],
    )
    return model


def kernel_initializer(name: str) -> keras.initializers.Initializer:
    """A fresh initializer per layer (one instance called twice would repeat its values)."""
    import keras

    if name == "large":
        return keras.initializers.RandomNormal(stddev=1.0)
    return keras.initializers.get(
        {"glorot": "glorot_uniform", "he": "he_normal", "zeros": "zeros"}[name]
    )


def build_optimizer(name: str, learning_rate: float) -> keras.optimizers.Optimizer:
    import keras

    if name == "adam":
        return keras.optimizers.Adam(learning_rate=learning_rate)
    return keras.optimizers.SGD(
        learning_rate=learning_rate, momentum=MOMENTUM if name == "momentum" else 0.0
    )


def without_dropout(model: keras.Model) -> keras.Model:
    """The same network without its Dropout layers, sharing the trained Dense layers: what is
    served and saved (dropout only acts while fitting; the app's NumPy twin has no such layer).
    A model without dropout is returned as it is."""
    import keras

    dense = [layer for layer in model.layers if not isinstance(layer, keras.layers.Dropout)]
    if len(dense) == len(model.layers):
        return model
    return keras.Sequential([keras.Input(shape=(INPUT_SIZE,), name="pixels"), *dense],
                            name=model.name)


def conv_layers(filters: tuple[int, ...]) -> list[keras.layers.Layer]:
    """The pixels as the image they are, (28, 28, 1), then per entry of ``filters`` a 3×3
    ReLU convolution that keeps the size ("same") and a 2×2 max pooling that halves it, then
    the maps read row by row for the dense layers. Every network reads 784 flat pixels, so the
    data and the app stay the same for a CNN; the reshape is the one the NumPy network makes
    (core/network.py, `as_network_input`)."""
    import keras

    if not filters:
        return []
    layers: list[Any] = [keras.layers.Reshape((28, 28, 1), name="image")]
    for i, count in enumerate(filters, start=1):
        layers.append(keras.layers.Conv2D(count, (3, 3), padding="same", activation="relu",
                                          name=f"conv_{i}"))
        layers.append(keras.layers.MaxPooling2D((2, 2), name=f"pool_{i}"))
    layers.append(keras.layers.Flatten(name="flatten"))
    return layers


def fit(
    model: keras.Model,
    settings: RecipeSettings,
    epochs: Epochs,
    validation: Epoch | None = None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    verbose: int = 0,
) -> Fitted:
    """Train ``model`` on ``settings.epochs`` epochs of ``epochs`` (`training_epochs`, or the
    detector's), validating on ``validation`` (images, class indices) after each, if given.

    ``callbacks`` are passed on to Keras (live training adds its snapshot, pause and stop
    callbacks here). ``verbose`` is Keras's: 0 silent, 1 a progress bar (for a terminal),
    2 one line per epoch (for a log file).
    """
    started = time.perf_counter()
    schedule = []
    if settings.learning_rate_schedule == "cosine":
        schedule = [cosine_schedule(settings.learning_rate, settings.epochs)]
    history = model.fit(
        epoch_dataset(epochs, settings.epochs, settings.batch_size),
        steps_per_epoch=steps_per_epoch(len(epochs), settings.batch_size),
        epochs=settings.epochs,
        shuffle=False,  # each epoch comes in its own seeded order
        validation_data=None if validation is None else (as_inputs(validation[0]), validation[1]),
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
    )


def cosine_schedule(start: float, epochs: int) -> keras.callbacks.Callback:
    """The Keras callback that sets each epoch's rate by `cosine_learning_rate`."""
    import keras

    return keras.callbacks.LearningRateScheduler(
        lambda epoch: cosine_learning_rate(start, epoch, epochs)
    )


def cosine_learning_rate(start: float, epoch: int, epochs: int) -> float:
    """Epoch `epoch`'s (from 0) rate on half a cosine from `start` at the first epoch down
    towards 0 after the last (Loshchilov & Hutter, SGDR, ICLR 2017, without restarts)."""
    return start * 0.5 * (1.0 + math.cos(math.pi * epoch / epochs))


def class_probabilities(model: keras.Model, images: np.ndarray, binary: bool) -> np.ndarray:
    """(n, classes) probabilities of digits (n, 28, 28) uint8, also for the one-unit sigmoid
    output (as the app reads it). Run 4096 at a time, so no float copy of them all is made."""
    out = np.concatenate([
        np.asarray(model(as_inputs(images[i : i + 4096]), training=False), dtype=np.float64)
        for i in range(0, len(images), 4096)
    ])
    return network.class_probabilities(out, 2 if binary else out.shape[-1])


def evaluate(model: keras.Model, images: np.ndarray, y: np.ndarray,
             binary: bool) -> dict[str, Any]:
    """Cross-entropy and accuracy from the probabilities the app would show."""
    probabilities = class_probabilities(model, images, binary)
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
