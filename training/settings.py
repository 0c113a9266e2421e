"""The training command's settings: every knob in one place, read from the command line.

`TrainSettings` is the recipe's settings (core/recipe.py: the network and how it learns) plus
what only the command line needs: where MNIST comes from, where the model goes, its name, the
out-of-distribution detector and the card's description. To add a knob: a field here with its
default, an `add_argument` in `build_parser`, a check in `check_settings` if it can be nonsense,
and its flag in `rerun_command` (the card's record of it).
"""

from __future__ import annotations

import argparse
import math
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from core.recipe import (
    HIDDEN_ACTIVATIONS,
    LEARNING_RATE_SCHEDULES,
    ZERO_ONE_COMMAND,
    RecipeSettings,
)
from core.run_settings import (
    SettingsError,
    check_activation,
    check_batch_size,
    check_dropout,
    check_epochs,
    check_learning_rate,
    digits_label,
    parse_conv,
    parse_digits,
    parse_hidden,
)


@dataclass
class TrainSettings(RecipeSettings):
    data: Path | None = None  # MNIST folder or .npz; None = Keras's downloader
    out: Path = Path("model_store")  # the shipped models' folder: training replaces them
    name: str | None = None  # default: derived from the digits, e.g. "digits-0-1"
    out_of_distribution: bool = True  # train the out-of-distribution detector too
    description: str = ""  # why this model is as it is, for its card
    # The recipe's settings start from the 0/1 command's (core/recipe.py).
    epochs: int = ZERO_ONE_COMMAND.epochs
    batch_size: int = ZERO_ONE_COMMAND.batch_size
    learning_rate: float = ZERO_ONE_COMMAND.learning_rate
    learning_rate_schedule: str = ZERO_ONE_COMMAND.learning_rate_schedule
    augment: bool = ZERO_ONE_COMMAND.augment

    @property
    def model_name(self) -> str:
        return self.name or default_model_name(self.digits)


def default_model_name(digits: tuple[int, ...]) -> str:
    return "digits-" + digits_label(digits)


class _OneLineErrorParser(argparse.ArgumentParser):
    """argparse prints the whole usage and exits; main() wants one clear line instead."""

    def error(self, message: str) -> NoReturn:
        raise SettingsError(f"{message} (see --help)")


def build_parser() -> argparse.ArgumentParser:
    """Every flag, its default from `TrainSettings` (over 60 lines: one call per flag)."""
    defaults = TrainSettings()
    parser = _OneLineErrorParser(
        prog="python -m training.train",
        description="Train a small dense or convolutional network on MNIST and save it with "
        "its model card.",
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
        help="folder to write NAME.keras and NAME.json into; the default, %(default)s, "
        "holds the shipped models, which a run replaces",
    )
    parser.add_argument("--name", help="model name (default: from the digits, e.g. digits-0-1)")
    parser.add_argument(
        "--digits",
        default=",".join(map(str, defaults.digits)),
        help="digits to tell apart: '0,1', '0-9', '0-4,7' (default: %(default)s)",
    )
    parser.add_argument(
        "--hidden",
        default=",".join(map(str, defaults.hidden)),
        help="hidden layer sizes (default: %(default)s)",
    )
    parser.add_argument(
        "--conv",
        default=",".join(map(str, defaults.conv)),
        help="filters per convolution layer, e.g. 16,32,64: each a 3×3 ReLU convolution and 2×2 "
        "max pooling, before the hidden layers (default: none, a dense network)",
    )
    parser.add_argument(
        "--activation",
        default=defaults.activation,
        help=f"hidden activation: {', '.join(HIDDEN_ACTIVATIONS)} (default: %(default)s)",
    )
    parser.add_argument(
        "--dropout",
        type=float,
        default=defaults.dropout,
        help="share of each hidden layer's outputs dropped at random while fitting (the "
        "saved model has no dropout layers; default: %(default)s)",
    )
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument(
        "--learning-rate-schedule",
        choices=LEARNING_RATE_SCHEDULES,
        default=defaults.learning_rate_schedule,
        help="'cosine' lowers the rate from --learning-rate towards 0 over the epochs; "
        "'constant' keeps it (default: %(default)s)",
    )
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
        "--augment",
        action=argparse.BooleanOptionalAction,
        default=defaults.augment,
        help="change the training images afresh every epoch: rotation, slant, stretch, "
        "stroke width, elastic distortion, blur, shifts, writing styles (default: on)",
    )
    parser.add_argument(
        "--no-ood",
        dest="out_of_distribution",
        action="store_false",
        help="skip the out-of-distribution detector",
    )
    return parser


def parse_args(argv: list[str] | None = None) -> TrainSettings:
    args = build_parser().parse_args(argv)
    settings = TrainSettings(
        data=args.data,
        out=args.out,
        name=args.name,
        digits=parse_digits(args.digits, "--digits"),
        hidden=parse_hidden(args.hidden, "--hidden"),
        conv=parse_conv(args.conv, "--conv"),
        activation=args.activation,
        dropout=args.dropout,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        learning_rate_schedule=args.learning_rate_schedule,
        validation_fraction=args.validation_fraction,
        seed=args.seed,
        out_of_distribution=args.out_of_distribution,
        description=args.description,
        augment=args.augment,
    )
    check_settings(settings)
    return settings


def check_settings(s: TrainSettings) -> None:
    # The network and how it learns: checked as the page's live training checks them.
    check_activation(s.activation, "--activation")
    check_dropout(s.dropout, "--dropout")
    check_epochs(s.epochs, "--epochs")
    check_batch_size(s.batch_size, "--batch-size")
    check_learning_rate(s.learning_rate, "--learning-rate")
    # What only the command line has.
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


# What the card's command says in place of the MNIST folder: a folder of the reader's own.
DATA_DIR = "DATA_DIR"


def rerun_command(s: TrainSettings) -> str:
    """The command that makes this model again, for its card: each setting that is not the
    default as its flag, the data as `--data DATA_DIR` (none: Keras's downloader), and no
    `--out`. Where the data and the model were on the machine that trained it is no setting of
    the model, and a card names no path of that machine."""
    defaults = TrainSettings()
    contiguous = s.digits == tuple(range(s.digits[0], s.digits[-1] + 1))
    flags: list[tuple[str, object, object]] = [  # (flag, value, default)
        ("--name", s.name, defaults.name),
        ("--digits", digits_label(s.digits) if contiguous else ",".join(map(str, s.digits)),
         digits_label(defaults.digits)),
        ("--conv", ",".join(map(str, s.conv)), ",".join(map(str, defaults.conv))),
        ("--hidden", ",".join(map(str, s.hidden)), ",".join(map(str, defaults.hidden))),
        ("--activation", s.activation, defaults.activation),
        ("--dropout", s.dropout, defaults.dropout),
        ("--epochs", s.epochs, defaults.epochs),
        ("--batch-size", s.batch_size, defaults.batch_size),
        ("--learning-rate", s.learning_rate, defaults.learning_rate),
        ("--learning-rate-schedule", s.learning_rate_schedule, defaults.learning_rate_schedule),
        ("--validation-fraction", s.validation_fraction, defaults.validation_fraction),
        ("--seed", s.seed, defaults.seed),
        ("--description", s.description, defaults.description),
    ]
    words = ["python", "-m", "training.train"]
    if s.data is not None:
        words += ["--data", DATA_DIR]
    for flag, value, default in flags:
        if value != default:
            words += [flag, str(value)]
    if s.augment != defaults.augment:
        words.append("--augment" if s.augment else "--no-augment")
    if s.out_of_distribution != defaults.out_of_distribution:
        words.append("--no-ood")
    return shlex.join(words)
