"""Train the seed's network on MNIST and save it, with its model card, for the app.

    python -m training.train --data ../shared/data          # the shipped 0/1 model, ~20 s

Reads top to bottom like a recipe: settings, data, network, training, evaluation, saving.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shlex
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn

import numpy as np

from core import network
from core.mnist_data import DataError, Mnist, load_mnist

HIDDEN_ACTIVATIONS = ("sigmoid", "relu", "tanh")


# -----------------------------------------------------------------------------------------
# Settings: every knob in one place. The defaults build the seed's 0/1 network.
@dataclass
class TrainSettings:
    data: Path | None = None  # MNIST folder or .npz; None = Keras's downloader
    out: Path = Path("model_store")
    name: str | None = None  # default: derived from the digits, e.g. "digits-0-1"
    digits: tuple[int, ...] = (0, 1)
    hidden: tuple[int, ...] = (25, 15)
    activation: str = "sigmoid"
    epochs: int = 20
    batch_size: int = 128
    learning_rate: float = 0.005
    validation_fraction: float = 0.1
    seed: int = 1
    out_of_distribution: bool = True  # train the "neither of these" detector too
    description: str = ""  # why this model is as it is, for its card

    @property
    def model_name(self) -> str:
        return self.name or default_model_name(self.digits)

    @property
    def is_binary(self) -> bool:
        return len(self.digits) == 2


class SettingsError(ValueError):
    """A nonsense hyper-parameter or argument; the message says what to fix."""


def default_model_name(digits: tuple[int, ...]) -> str:
    lo, hi = digits[0], digits[-1]
    if digits == tuple(range(lo, hi + 1)):
        return f"digits-{lo}-{hi}"
    return "digits-" + "".join(str(d) for d in digits)


def parse_digits(text: str) -> tuple[int, ...]:
    """'0,1' or '0-9' or '0-4,7' → sorted unique digits."""
    digits: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        bounds = part.split("-")
        if not part or len(bounds) > 2 or not all(b.strip().isdigit() for b in bounds):
            raise SettingsError(f"--digits {text!r}: use digits 0-9 like '0,1', '0-9' or '0-4,7'")
        lo, hi = int(bounds[0]), int(bounds[-1])
        if lo > hi:
            raise SettingsError(f"--digits {text!r}: the range {part} runs backwards")
        digits.update(range(lo, hi + 1))
    if not all(0 <= d <= 9 for d in digits):
        raise SettingsError(f"--digits {text!r}: MNIST holds only the digits 0-9")
    if len(digits) < 2:
        raise SettingsError(f"--digits {text!r}: a classifier needs at least two digits")
    return tuple(sorted(digits))


def parse_hidden(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise SettingsError(
            f"--hidden {text!r}: give the hidden layer sizes as whole numbers, like 25,15"
        ) from None
    if not sizes or any(size < 1 or size > 4096 for size in sizes):
        raise SettingsError(f"--hidden {text!r}: each layer needs 1 to 4096 units")
    return sizes


class _OneLineErrorParser(argparse.ArgumentParser):
    """argparse prints the whole usage and exits; main() wants one clear line instead."""

    def error(self, message: str) -> NoReturn:
        raise SettingsError(f"{message} (see --help)")


def parse_args(argv: list[str] | None = None) -> TrainSettings:
    defaults = TrainSettings()
    parser = _OneLineErrorParser(
        prog="python -m training.train",
        description="Train a small dense network on MNIST and save it with its model card.",
    )
    parser.add_argument(
        "--data",
        type=Path,
        help="folder with the four MNIST IDX files "
        "(gzipped or not) or mnist.npz, or an .npz file; default: download "
        "with keras.datasets.mnist (needs internet)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=defaults.out,
        help="folder to write NAME.keras and NAME.json into (default: %(default)s)",
    )
    parser.add_argument("--name", help="model name (default: from the digits, e.g. digits-0-1)")
    parser.add_argument(
        "--digits", default="0,1", help="digits to tell apart: '0,1' (default), '0-9', '0-4,7'"
    )
    parser.add_argument(
        "--hidden",
        default=",".join(map(str, defaults.hidden)),
        help="hidden layer sizes (default: %(default)s)",
    )
    parser.add_argument(
        "--activation",
        default=defaults.activation,
        help=f"hidden activation: {', '.join(HIDDEN_ACTIVATIONS)} (default: %(default)s)",
    )
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument(
        "--validation-fraction",
        type=float,
        default=defaults.validation_fraction,
        help="share of the training set held out for validation",
    )
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument(
        "--description",
        default="",
        help="a sentence for the model card: what this model is and why",
    )
    parser.add_argument(
        "--no-ood",
        dest="out_of_distribution",
        action="store_false",
        help="skip the out-of-distribution detector",
    )
    args = parser.parse_args(argv)

    settings = TrainSettings(
        data=args.data,
        out=args.out,
        name=args.name,
        digits=parse_digits(args.digits),
        hidden=parse_hidden(args.hidden),
        activation=args.activation,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        validation_fraction=args.validation_fraction,
        seed=args.seed,
        out_of_distribution=args.out_of_distribution,
        description=args.description,
    )
    check_settings(settings)
    return settings


def check_settings(s: TrainSettings) -> None:
    if s.activation not in HIDDEN_ACTIVATIONS:
        raise SettingsError(
            f"--activation {s.activation!r}: choose one of {', '.join(HIDDEN_ACTIVATIONS)}"
        )
    if not 1 <= s.epochs <= 1000:
        raise SettingsError(f"--epochs {s.epochs}: give 1 to 1000 epochs")
    if not 1 <= s.batch_size <= 65536:
        raise SettingsError(f"--batch-size {s.batch_size}: give 1 to 65536")
    if not (math.isfinite(s.learning_rate) and 0 < s.learning_rate <= 10):
        raise SettingsError(f"--learning-rate {s.learning_rate}: give a number in (0, 10]")
    if not (math.isfinite(s.validation_fraction) and 0 < s.validation_fraction <= 0.5):
        raise SettingsError(
            f"--validation-fraction {s.validation_fraction}: give a fraction in (0, 0.5]"
        )
    if not 0 <= s.seed < 2**32:  # NumPy's legacy seeding, used by Keras, takes 32 bits
        raise SettingsError(f"--seed {s.seed}: give a whole number from 0 to {2**32 - 1}")
    if s.out.exists() and not s.out.is_dir():
        raise SettingsError(f"--out {s.out} is a file: give a folder to save the model in")
    name = s.model_name
    if not name or not all(c.isalnum() or c in "-_." for c in name) or name.startswith("."):
        raise SettingsError(
            f"--name {name!r}: use letters, digits, '-', '_' and '.', not starting with '.'"
        )


# -----------------------------------------------------------------------------------------


@dataclass
class Splits:
    """The selected digits as network inputs: x (n, 784) float32 in [0,1], y class indices."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    test_indices: np.ndarray  # positions of the test rows in the full MNIST test set


def select_digits(
    mnist: Mnist, digits: tuple[int, ...], validation_fraction: float, seed: int
) -> Splits:
    """Keep the requested digits, scale to [0,1], flatten to 784, hold out a validation split."""
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
        x = images[keep].reshape(len(keep), -1).astype(np.float32) / 255.0
        return x, class_of_digit[labels[keep]], keep

    x, y, _ = prepare(mnist.x_train, mnist.y_train)
    x_test, y_test, test_indices = prepare(mnist.x_test, mnist.y_test)

    # A seeded shuffle, so the validation split is the same on every run with the same seed.
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = max(1, round(len(x) * validation_fraction))
    val, train = order[:n_val], order[n_val:]
    return Splits(x[train], y[train], x[val], y[val], x_test, y_test, test_indices)


def build_network(settings: TrainSettings):
    """The seed's network: Dense layers of sigmoid units, then one sigmoid or a softmax."""
    import keras

    n_classes = len(settings.digits)
    layers = [keras.Input(shape=(784,), name="pixels")]
    for i, units in enumerate(settings.hidden, start=1):
        layers.append(keras.layers.Dense(units, activation=settings.activation, name=f"hidden_{i}"))
    if settings.is_binary:
        # One unit: p(second class). Binary cross-entropy, as in the seed's notebook.
        layers.append(keras.layers.Dense(1, activation="sigmoid", name="output"))
        loss = "binary_crossentropy"
    else:
        layers.append(keras.layers.Dense(n_classes, activation="softmax", name="output"))
        loss = "sparse_categorical_crossentropy"
    model = keras.Sequential(layers, name=settings.model_name.replace(".", "_"))
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=settings.learning_rate),
        loss=loss,
        metrics=["accuracy"],
    )
    return model, loss


def class_probabilities(model, x: np.ndarray, binary: bool) -> np.ndarray:
    """(n, classes) probabilities, also for the one-unit sigmoid output (as the app reads it)."""
    out = np.asarray(model(x, training=False), dtype=np.float64)
    return network.class_probabilities(out, 2 if binary else out.shape[-1])


def evaluate(model, x: np.ndarray, y: np.ndarray, binary: bool) -> dict[str, float]:
    probabilities = class_probabilities(model, x, binary)
    picked = np.clip(probabilities[np.arange(len(y)), y], 1e-7, 1.0)
    return {
        "loss": float(-np.mean(np.log(picked))),
        "accuracy": float(np.mean(probabilities.argmax(axis=1) == y)),
        "count": len(y),
    }


def class_counts(y: np.ndarray, classes: list[str]) -> dict[str, int]:
    return {label: int(np.sum(y == i)) for i, label in enumerate(classes)}


def library_versions() -> dict[str, str]:
    import keras
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }


def run(settings: TrainSettings, command: str = "") -> dict:
    started = time.perf_counter()
    classes = [str(d) for d in settings.digits]
    # Before anything imports TensorFlow (Keras's downloader does): keep its C++ notices off
    # stderr, so a failure there is the one clear line main() prints.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    # 1. Data: MNIST from disk (or Keras's downloader), only the requested digits.
    mnist = load_mnist(settings.data)
    splits = select_digits(mnist, settings.digits, settings.validation_fraction, settings.seed)
    print(
        f"data: {mnist.format} from {mnist.source}; digits {classes}: "
        f"{len(splits.y_train)} train, {len(splits.y_val)} validation, "
        f"{len(splits.y_test)} test",
        flush=True,
    )

    # 2. Reproducibility: one seed for Python, NumPy and TensorFlow; deterministic kernels.
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(settings.seed)
    tf.config.experimental.enable_op_determinism()

    # 3. The network.
    model, loss = build_network(settings)
    model.summary()

    # 4. Training, with Keras's progress bar.
    training_started = time.perf_counter()
    history = model.fit(
        splits.x_train,
        splits.y_train,
        validation_data=(splits.x_val, splits.y_val),
        epochs=settings.epochs,
        batch_size=settings.batch_size,
        shuffle=True,
        verbose=1,
    )
    training_time_s = time.perf_counter() - training_started

    # 5. Evaluation: the test set is used only here, for the final report.
    binary = settings.is_binary
    metrics = {
        "train": evaluate(model, splits.x_train, splits.y_train, binary),
        "validation": evaluate(model, splits.x_val, splits.y_val, binary),
        "test": evaluate(model, splits.x_test, splits.y_test, binary),
    }
    predicted = class_probabilities(model, splits.x_test, binary).argmax(axis=1)
    confusion = np.zeros((len(classes), len(classes)), dtype=np.int64)
    np.add.at(confusion, (splits.y_test, predicted), 1)
    wrong = np.flatnonzero(predicted != splits.y_test)
    metrics["test"]["confusion_matrix"] = confusion.tolist()  # rows: true, columns: predicted
    metrics["test"]["misclassified"] = [
        {
            "mnist_test_index": int(splits.test_indices[i]),
            "true": classes[splits.y_test[i]],
            "predicted": classes[predicted[i]],
        }
        for i in wrong
    ]
    print(
        f"test accuracy {metrics['test']['accuracy']:.4%} "
        f"({len(wrong)} of {len(splits.y_test)} wrong)",
        flush=True,
    )

    # 6. The model card: everything needed to know what this model is and how it was made.
    card = {
        "name": settings.model_name,
        "classes": classes,
        "description": settings.description,
        "task": "binary" if binary else "multiclass",
        "architecture": {
            "input": {
                "units": 784,
                "shape": [28, 28],
                "description": "MNIST pixels, row by row, white ink on black, in [0,1]",
            },
            "layers": [
                {
                    "name": layer.name,
                    "units": int(layer.units),
                    "activation": keras.activations.serialize(layer.activation)
                    if not isinstance(layer.activation, str)
                    else layer.activation,
                }
                for layer in model.layers
            ],
            "parameters": int(model.count_params()),
            "output": ("one sigmoid unit: p(class " + classes[1] + ")")
            if binary
            else "softmax over the classes",
        },
        "training": {
            "loss": loss,
            "optimizer": "adam",
            "learning_rate": settings.learning_rate,
            "epochs": settings.epochs,
            "batch_size": settings.batch_size,
            "validation_fraction": settings.validation_fraction,
            "seed": settings.seed,
            "hidden": list(settings.hidden),
            "activation": settings.activation,
        },
        "data": {
            "source": mnist.source,
            "format": mnist.format,
            "sha256": mnist.sha256(),
            "counts": {
                "train": class_counts(splits.y_train, classes),
                "validation": class_counts(splits.y_val, classes),
                "test": class_counts(splits.y_test, classes),
            },
        },
        "history": {key: [float(v) for v in values] for key, values in history.history.items()},
        "metrics": metrics,
        "training_time_s": round(training_time_s, 3),
        "versions": library_versions(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
    }
    card["metrics"]["test"]["summary"] = (
        f"{metrics['test']['accuracy']:.2%} on {len(splits.y_test)} MNIST test digits"
    )

    # 7. The out-of-distribution detector, for models that do not cover all ten digits.
    extra_files = {}
    has_other_digits = bool(np.any(~np.isin(mnist.y_train, settings.digits)))
    if settings.out_of_distribution and not has_other_digits:
        print("no other digits in the training set: no out-of-distribution detector", flush=True)
    if settings.out_of_distribution and has_other_digits:
        from training import ood_detector

        data = ood_detector.build_detector_data(
            mnist, splits, settings.digits, settings.seed, settings.validation_fraction
        )
        detector_model, detector = ood_detector.train_detector(
            data, len(settings.digits), settings.seed
        )
        detector_file = f"{settings.model_name}.ood.keras"
        card["ood"] = {
            "file": detector_file,
            **ood_detector.detector_report(detector, data, splits.x_test, settings.digits),
        }
        extra_files[detector_file] = detector_model.save
        rates = card["ood"]["rates"]["test"]
        print(f"out-of-distribution on the test set: {rates['other_digits_flagged']:.1%} of "
              f"other digits flagged, {rates['classes_flagged']:.2%} of {classes} flagged",
              flush=True)

    # 8. Save atomically: the good model is replaced only by a complete, loadable new one.
    from training.model_store_writer import save_model_with_card

    path = save_model_with_card(model, card, settings.out, settings.model_name, extra_files)
    print(
        f"saved {path} and {path.with_suffix('.json').name} "
        f"(training {training_time_s:.1f} s, total {time.perf_counter() - started:.1f} s)"
    )
    return card


def main(argv: list[str] | None = None) -> int:
    try:
        settings = parse_args(argv)
        args = sys.argv[1:] if argv is None else argv
        run(settings, command=shlex.join(["python", "-m", "training.train", *args]))
    except (DataError, SettingsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing was saved; the existing model is untouched", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
