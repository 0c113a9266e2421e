"""The settings of a training run, checked once for the command line and for the page.

`python -m training.train` (training/settings.py) and WebSocket /train (app/training_runs.py)
both choose the digits, the hidden layers, the activation, the epochs, the batch size and the
learning rate; both check them here. Each caller names the setting as its user wrote it
(``label``: "--digits" on the command line, "digits" in a socket message) and passes its own
limits where they differ (the socket's are tighter: a visitor spends the server's CPU). Every
problem raises `SettingsError`, whose message says what to fix; the command line prints it as
its one `error:` line, the socket sends it as its `error` message.
"""

from __future__ import annotations

import math
from typing import Any

from core.recipe import HIDDEN_ACTIVATIONS

MAX_EPOCHS = 1000
MAX_BATCH_SIZE = 65536
MAX_UNITS = 4096
MAX_LEARNING_RATE = 10.0


class SettingsError(ValueError):
    """A nonsense hyper-parameter or argument; the message says what to fix."""


def parse_digits(value: Any, label: str = "digits") -> tuple[int, ...]:
    """'0,1', '0-9', '0-4,7' (or a list of digits) → sorted unique digits."""
    if isinstance(value, list) and all(type(d) is int for d in value):
        digits = set(value)
    elif isinstance(value, str):
        digits = set()
        for part in value.split(","):
            bounds = [b.strip() for b in part.strip().split("-")]
            if len(bounds) > 2 or not all(b.isdigit() for b in bounds):
                raise SettingsError(
                    f"{label} {value!r}: use digits 0-9 like '0,1', '0-9' or '0-4,7'"
                )
            lo, hi = int(bounds[0]), int(bounds[-1])
            if lo > hi:
                raise SettingsError(f"{label} {value!r}: the range {part.strip()} runs backwards")
            digits.update(range(lo, hi + 1))
    else:
        raise SettingsError(f"{label}: give a text like '0,1' or '0-9', or a list of digits")
    if not all(0 <= d <= 9 for d in digits):
        raise SettingsError(f"{label} {value!r}: MNIST holds only the digits 0-9")
    if len(digits) < 2:
        raise SettingsError(f"{label} {value!r}: a classifier needs at least two digits")
    return tuple(sorted(digits))


def digits_label(digits: tuple[int, ...]) -> str:
    """How a model's name spells its digits: '0-1', '0-9' for a run of them, else '047'."""
    lo, hi = digits[0], digits[-1]
    if digits == tuple(range(lo, hi + 1)):
        return f"{lo}-{hi}"
    return "".join(str(d) for d in digits)


def parse_hidden(
    value: Any,
    label: str = "hidden",
    max_layers: int | None = None,
    max_units: int = MAX_UNITS,
) -> tuple[int, ...]:
    """'25,15' (or a list of whole numbers) → the hidden layer sizes, within the limits."""
    sizes = value
    if isinstance(value, str):
        try:
            sizes = [int(part) for part in value.split(",")]
        except ValueError:
            raise SettingsError(
                f"{label} {value!r}: give the hidden layer sizes as whole numbers, like 25,15"
            ) from None
    if not isinstance(sizes, list) or not all(type(size) is int for size in sizes):
        raise SettingsError(f"{label}: give the hidden layer sizes as a list of whole numbers")
    if max_layers is not None and not 1 <= len(sizes) <= max_layers:
        raise SettingsError(f"{label}: give 1 to {max_layers} hidden layers")
    if not sizes:
        raise SettingsError(f"{label}: give at least one hidden layer")
    if any(not 1 <= size <= max_units for size in sizes):
        raise SettingsError(f"{label} {value!r}: each layer needs 1 to {max_units} units")
    return tuple(sizes)


def check_activation(value: Any, label: str = "activation") -> str:
    if value not in HIDDEN_ACTIVATIONS:
        raise SettingsError(f"{label} {value!r}: choose one of {', '.join(HIDDEN_ACTIVATIONS)}")
    return value


def check_epochs(value: Any, label: str = "epochs", max_epochs: int = MAX_EPOCHS) -> int:
    if type(value) is not int or not 1 <= value <= max_epochs:
        raise SettingsError(f"{label} {value!r}: give 1 to {max_epochs} epochs")
    return value


def check_batch_size(value: Any, label: str = "batch_size") -> int:
    if type(value) is not int or not 1 <= value <= MAX_BATCH_SIZE:
        raise SettingsError(
            f"{label} {value!r}: give 1 to {MAX_BATCH_SIZE} examples per batch"
        )
    return value


def check_learning_rate(value: Any, label: str = "learning_rate") -> float:
    """Adam's learning rate: a number in (0, 10]."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (math.isfinite(value) and 0 < value <= MAX_LEARNING_RATE)
    ):
        raise SettingsError(f"{label} {value!r}: give a number in (0, {MAX_LEARNING_RATE:g}]")
    return float(value)
