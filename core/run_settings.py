"""The settings of a training run, checked once for the command line and for the page.

`python -m training.train` (training/settings.py) and WebSocket /train (app/training_runs.py)
both choose the digits, the hidden layers, the activation, the epochs, the batch size and the
learning rate; both check them here, and so are the socket's own knobs of the training lab (the
optimizer, the initializer, l2, dropout and how many training digits). Each caller names the
setting as its user wrote it (``label``: "--digits" on the command line, "digits" in a socket
message) and passes its own limits where they differ (the socket's are tighter: a visitor spends
the server's CPU). Every problem raises `SettingsError`, whose message says what to fix; the
command line prints it as its one `error:` line, the socket sends it as its `error` message.

Every value is checked for its size before any work is done on it: a range is checked before it
is expanded, a text's length before it is split, and an error quotes at most a few dozen
characters of what it was given.
"""

from __future__ import annotations

import math
import re
from typing import Any

from core.recipe import HIDDEN_ACTIVATIONS, INITIALIZERS, OPTIMIZERS

MAX_EPOCHS = 1000
MAX_BATCH_SIZE = 65536
MAX_UNITS = 4096
MAX_FILTERS = 256
MAX_CONV_LAYERS = 4  # each halves the maps: 28 → 14 → 7 → 3 → 1
# Any optimizer's for a training run (plain SGD diverges well below it); also η of the page's
# one gradient step.
MAX_LEARNING_RATE = 10.0
MAX_L2 = 0.1
MAX_DROPOUT = 0.8
# '0,1,2,3,4,5,6,7,8,9' with spaces is the longest sensible digits text; hidden sizes as text
# ('512,256') are as short. Longer texts are refused before they are split.
MAX_TEXT_CHARS = 64
MAX_LIST_ITEMS = 64
# One part of a digits text: a number, or a range of two, in ASCII (str.isdigit would also take
# '²' or '٣', which int() refuses or reads as another number).
DIGITS_PART = re.compile(r"\s*([0-9]+)\s*(?:-\s*([0-9]+)\s*)?")
DIGITS_HINT = "use digits 0-9 like '0,1', '0-9' or '0-4,7'"


class SettingsError(ValueError):
    """A nonsense hyper-parameter or argument; the message says what to fix."""


def shown(value: Any, limit: int = 40) -> str:
    """`value` as an error message quotes it: its repr, cut to `limit` characters."""
    if isinstance(value, list | dict) and len(value) > limit:
        return f"a {type(value).__name__} of {len(value):,} items"
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 5]}…{text[-3:]}"


def parse_digits(value: Any, label: str = "digits") -> tuple[int, ...]:
    """'0,1', '0-9', '0-4,7' (or a list of digits) → sorted unique digits."""
    if isinstance(value, list):
        if len(value) > MAX_LIST_ITEMS or not all(type(d) is int for d in value):
            raise SettingsError(f"{label} {shown(value)}: give a list of digits 0-9, like [0, 1]")
        if not all(0 <= d <= 9 for d in value):
            raise SettingsError(f"{label} {shown(value)}: MNIST holds only the digits 0-9")
        digits = set(value)
    elif isinstance(value, str):
        if len(value) > MAX_TEXT_CHARS:
            raise SettingsError(f"{label}: {len(value):,} characters; {DIGITS_HINT}")
        digits = set()
        for part in value.split(","):
            match = DIGITS_PART.fullmatch(part)
            if match is None:
                raise SettingsError(f"{label} {shown(value)}: {DIGITS_HINT}")
            lo, hi = int(match[1]), int(match[2] or match[1])  # at most 64 characters
            if hi > 9:  # before the range is expanded
                raise SettingsError(f"{label} {shown(value)}: MNIST holds only the digits 0-9")
            if lo > hi:
                raise SettingsError(
                    f"{label} {shown(value)}: the range {part.strip()} runs backwards"
                )
            digits.update(range(lo, hi + 1))
    else:
        raise SettingsError(f"{label}: give a text like '0,1' or '0-9', or a list of digits")
    if len(digits) < 2:
        raise SettingsError(f"{label} {shown(value)}: a classifier needs at least two digits")
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
        parts = value.split(",") if len(value) <= MAX_TEXT_CHARS else []
        if not parts or not all(re.fullmatch(r"\s*-?[0-9]{1,9}\s*", part) for part in parts):
            raise SettingsError(
                f"{label} {shown(value)}: give the hidden layer sizes as whole numbers, like 25,15"
            )
        sizes = [int(part) for part in parts]
    if not isinstance(sizes, list) or not all(type(size) is int for size in sizes):
        raise SettingsError(f"{label}: give the hidden layer sizes as a list of whole numbers")
    most = max_layers if max_layers is not None else MAX_LIST_ITEMS
    if not 1 <= len(sizes) <= most:
        raise SettingsError(f"{label}: give 1 to {most} hidden layers")
    if any(not 1 <= size <= max_units for size in sizes):
        raise SettingsError(f"{label} {shown(value)}: each layer needs 1 to {max_units} units")
    return tuple(sizes)


def check_choice(value: Any, choices: tuple[str, ...], label: str) -> str:
    if not isinstance(value, str) or value not in choices:
        raise SettingsError(f"{label} {shown(value)}: choose one of {', '.join(choices)}")
    return value


def parse_conv(
    value: Any, label: str = "conv", max_filters: int = MAX_FILTERS
) -> tuple[int, ...]:
    """'8,16' (or a list of whole numbers) → filters per convolution layer; '' or [] → none."""
    if value in ("", []):
        return ()
    sizes = value
    if isinstance(value, str):
        parts = value.split(",") if len(value) <= MAX_TEXT_CHARS else []
        if not parts or not all(re.fullmatch(r"\s*[0-9]{1,9}\s*", part) for part in parts):
            raise SettingsError(
                f"{label} {shown(value)}: give the filters per convolution layer as whole "
                f"numbers, like 8,16"
            )
        sizes = [int(part) for part in parts]
    if not isinstance(sizes, list) or not all(type(size) is int for size in sizes):
        raise SettingsError(f"{label}: give the filters per convolution layer as whole numbers")
    if len(sizes) > MAX_CONV_LAYERS:
        raise SettingsError(
            f"{label}: at most {MAX_CONV_LAYERS} convolution layers (each halves the maps)"
        )
    if any(not 1 <= size <= max_filters for size in sizes):
        raise SettingsError(f"{label} {shown(value)}: each layer needs 1 to {max_filters} filters")
    return tuple(sizes)


def check_activation(value: Any, label: str = "activation") -> str:
    return check_choice(value, HIDDEN_ACTIVATIONS, label)


def check_optimizer(value: Any, label: str = "optimizer") -> str:
    return check_choice(value, OPTIMIZERS, label)


def check_initializer(value: Any, label: str = "initializer") -> str:
    return check_choice(value, INITIALIZERS, label)


def check_fraction(value: Any, label: str, most: float) -> float:
    """A JSON number in [0, most] (l2, dropout)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 <= value <= most
    ):
        raise SettingsError(f"{label} {shown(value)}: give a number from 0 to {most:g}")
    return float(value)


def check_l2(value: Any, label: str = "l2") -> float:
    return check_fraction(value, label, MAX_L2)


def check_dropout(value: Any, label: str = "dropout") -> float:
    return check_fraction(value, label, MAX_DROPOUT)


def check_train_examples(value: Any, label: str = "train_examples") -> int | None:
    """How many training digits to fit on: a whole number from 10, or None for all of them
    (more than the split holds is all of them too)."""
    if value is None:
        return None
    if type(value) is not int or not 10 <= value <= 60_000:
        raise SettingsError(
            f"{label} {shown(value)}: give a whole number of digits from 10 to 60000, "
            f"or null for all of them"
        )
    return value


def check_epochs(value: Any, label: str = "epochs", max_epochs: int = MAX_EPOCHS) -> int:
    if type(value) is not int or not 1 <= value <= max_epochs:
        raise SettingsError(f"{label} {shown(value)}: give 1 to {max_epochs} epochs")
    return value


def check_batch_size(
    value: Any, label: str = "batch_size", max_batch_size: int = MAX_BATCH_SIZE
) -> int:
    if type(value) is not int or not 1 <= value <= max_batch_size:
        raise SettingsError(
            f"{label} {shown(value)}: give 1 to {max_batch_size} examples per batch"
        )
    return value


def is_learning_rate(value: float) -> bool:
    """Finite, above 0 and at most MAX_LEARNING_RATE: what any learning rate here must be."""
    return math.isfinite(value) and 0 < value <= MAX_LEARNING_RATE


def check_learning_rate(value: Any, label: str = "learning_rate") -> float:
    """The optimizer's learning rate: a number in (0, 10]."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not is_learning_rate(value):
        raise SettingsError(
            f"{label} {shown(value)}: give a number in (0, {MAX_LEARNING_RATE:g}]"
        )
    return float(value)
