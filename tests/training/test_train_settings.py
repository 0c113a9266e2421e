"""Command-line settings: the 0/1 command's defaults, every knob, and a clear error for nonsense."""

from __future__ import annotations

import shlex
from dataclasses import asdict, fields, replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.recipe import ZERO_ONE_COMMAND, RecipeSettings
from training.settings import (
    DATA_DIR,
    SettingsError,
    TrainSettings,
    build_parser,
    check_settings,
    default_model_name,
    parse_args,
    parse_digits,
    parse_hidden,
    rerun_command,
)


def test_defaults_are_the_0_1_commands_into_model_store() -> None:
    settings = parse_args([])

    assert settings.data is None  # Keras's own downloader
    assert settings.out == Path("model_store")
    assert settings.digits == (0, 1)
    assert settings.hidden == (25, 15)
    assert settings.activation == "sigmoid"
    assert settings.model_name == "digits-0-1"
    assert settings.is_binary
    assert settings == TrainSettings()
    recipe = {field.name for field in fields(RecipeSettings)}
    assert {name: getattr(settings, name) for name in recipe} == asdict(ZERO_ONE_COMMAND)


def test_every_knob_reaches_the_settings(tmp_path: Path) -> None:
    settings = parse_args(
        [
            "--data",
            str(tmp_path / "mnist"),
            "--out",
            str(tmp_path / "store"),
            "--name",
            "my-model_2.b",
            "--digits",
            "3-5",
            "--hidden",
            "64,32,16",
            "--conv",
            "4,6",
            "--activation",
            "relu",
            "--dropout",
            "0.25",
            "--epochs",
            "3",
            "--batch-size",
            "64",
            "--learning-rate",
            "0.01",
            "--validation-fraction",
            "0.2",
            "--seed",
            "42",
            "--learning-rate-schedule",
            "constant",
        ]
    )

    assert settings == TrainSettings(
        data=tmp_path / "mnist",
        out=tmp_path / "store",
        name="my-model_2.b",
        digits=(3, 4, 5),
        hidden=(64, 32, 16),
        conv=(4, 6),
        activation="relu",
        dropout=0.25,
        epochs=3,
        batch_size=64,
        learning_rate=0.01,
        validation_fraction=0.2,
        seed=42,
        learning_rate_schedule="constant",
    )
    assert settings.model_name == "my-model_2.b"
    assert not settings.is_binary


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("0,1", (0, 1)),
        ("1,0", (0, 1)),
        (" 0 , 1 ", (0, 1)),
        ("1,1,0", (0, 1)),
        ("0-9", tuple(range(10))),
        ("0-4,7", (0, 1, 2, 3, 4, 7)),
        ("8-9,0", (0, 8, 9)),
        ("3-3,5", (3, 5)),
    ],
)
def test_parse_digits_accepts_lists_and_ranges(text: str, digits: tuple[int, ...]) -> None:
    assert parse_digits(text) == digits


@given(st.sets(st.integers(0, 9), min_size=2))
def test_parse_digits_reads_back_any_set_of_two_or_more_digits(digits: set[int]) -> None:
    assert parse_digits(",".join(map(str, digits))) == tuple(sorted(digits))


@pytest.mark.parametrize(
    ("digits", "name"),
    [((0, 1), "digits-0-1"), (tuple(range(10)), "digits-0-9"), ((0, 4, 7), "digits-047")],
)
def test_default_model_name_follows_the_digits(digits: tuple[int, ...], name: str) -> None:
    assert default_model_name(digits) == name


@pytest.mark.parametrize(
    ("text", "sizes"), [("25,15", (25, 15)), ("8", (8,)), ("1,4096", (1, 4096)), (" 3, 2", (3, 2))]
)
def test_parse_hidden_reads_layer_sizes(text: str, sizes: tuple[int, ...]) -> None:
    assert parse_hidden(text) == sizes


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--digits", "7"], "--digits '7': a classifier needs at least two digits"),
        (["--digits", "1,1"], "a classifier needs at least two digits"),
        (["--digits", "0-10"], "--digits '0-10': MNIST holds only the digits 0-9"),
        (["--digits", "5-3"], "the range 5-3 runs backwards"),
        (["--digits", "a,b"], "--digits 'a,b': use digits 0-9"),
        (["--digits", "0,,1"], "--digits '0,,1': use digits 0-9"),
        (["--digits=-1,2"], "--digits '-1,2': use digits 0-9"),
        (["--digits", ""], "--digits '': use digits 0-9"),
        (["--hidden", "25,0"], "--hidden '25,0': each layer needs 1 to 4096 units"),
        (["--hidden", "5000"], "each layer needs 1 to 4096 units"),
        (["--hidden", "-3"], "each layer needs 1 to 4096 units"),
        (["--hidden", "25,,15"], "--hidden '25,,15': give the hidden layer sizes as whole numbers"),
        (["--hidden", "2.5"], "give the hidden layer sizes as whole numbers"),
        (["--hidden", ""], "give the hidden layer sizes as whole numbers"),
        (["--conv", "8,0"], "--conv '8,0': each layer needs 1 to 256 filters"),
        (["--conv", "8,,16"], "--conv '8,,16': give the filters per convolution layer"),
        (["--conv", "-8"], "give the filters per convolution layer as whole numbers"),
        (["--conv", "1,2,3,4,5"], "--conv: at most 4 convolution layers"),
        (["--activation", "softmax"], "--activation 'softmax': choose one of sigmoid, relu, tanh"),
        (["--activation", "Sigmoid"], "choose one of sigmoid, relu, tanh"),
        (["--dropout", "0.9"], "--dropout 0.9: give a number from 0 to 0.8"),
        (["--dropout", "nan"], "--dropout nan: give a number from 0 to 0.8"),
        (["--epochs", "0"], "--epochs 0: give 1 to 1000 epochs"),
        (["--epochs", "1001"], "--epochs 1001: give 1 to 1000 epochs"),
        (["--epochs", "-5"], "give 1 to 1000 epochs"),
        (["--epochs", "abc"], "argument --epochs: invalid int value: 'abc'"),
        (["--epochs", "2.5"], "argument --epochs: invalid int value: '2.5'"),
        (["--batch-size", "0"], "--batch-size 0: give 1 to 65536"),
        (["--batch-size", "100000"], "--batch-size 100000: give 1 to 65536"),
        (["--learning-rate", "0"], "--learning-rate 0.0: give a number in (0, 10]"),
        (["--learning-rate", "-0.1"], "--learning-rate -0.1: give a number in (0, 10]"),
        (["--learning-rate", "nan"], "--learning-rate nan: give a number in (0, 10]"),
        (["--learning-rate", "inf"], "--learning-rate inf: give a number in (0, 10]"),
        (["--learning-rate", "11"], "give a number in (0, 10]"),
        (["--learning-rate", "fast"], "argument --learning-rate: invalid float value: 'fast'"),
        (["--learning-rate-schedule", "step"],
         "argument --learning-rate-schedule: invalid choice: 'step'"),
        (["--validation-fraction", "0"], "--validation-fraction 0.0: give a fraction in (0, 0.5]"),
        (["--validation-fraction", "0.9"], "give a fraction in (0, 0.5]"),
        (["--validation-fraction", "nan"], "give a fraction in (0, 0.5]"),
        (["--seed", "-1"], "--seed -1: give a whole number from 0 to 4294967295"),
        (["--seed", str(2**32)], "--seed 4294967296: give a whole number from 0 to 4294967295"),
        (["--name", ".hidden"], "--name '.hidden': use letters, digits"),
        (["--name", "../escape"], "--name '../escape': use letters, digits"),
        (["--name", "a b"], "--name 'a b': use letters, digits"),
        (["--learning_rate", "0.1"], "unrecognized arguments: --learning_rate 0.1"),
        (["extra"], "unrecognized arguments: extra"),
        (["--epochs"], "argument --epochs: expected one argument"),
    ],
)
def test_parse_args_rejects_nonsense_naming_the_flag(argv: list[str], message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_args(argv)

    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_an_out_path_that_is_a_file_is_rejected_before_training(tmp_path: Path) -> None:
    a_file = tmp_path / "model_store"
    a_file.write_text("not a folder")

    with pytest.raises(SettingsError, match="is a file: give a folder to save the model in"):
        parse_args(["--out", str(a_file)])


def test_an_out_folder_that_does_not_exist_yet_is_fine(tmp_path: Path) -> None:
    assert parse_args(["--out", str(tmp_path / "new" / "store")]).out == tmp_path / "new" / "store"


@pytest.mark.parametrize(
    "change",
    [
        {"epochs": 0},
        {"batch_size": -1},
        {"learning_rate": float("nan")},
        {"validation_fraction": 1.0},
        {"seed": -3},
        {"activation": "linear"},
        {"dropout": 0.9},
        {"name": "a/b"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_check_settings_guards_settings_built_in_code(change: dict[str, object]) -> None:
    settings = TrainSettings(**change)  # type: ignore[arg-type]

    with pytest.raises(SettingsError):
        check_settings(settings)


def test_check_settings_accepts_the_defaults() -> None:
    check_settings(TrainSettings())


# A value other than the default for every setting the command line has, but where the data and
# the model go: the card's command must carry each (a new flag needs one here, and its place in
# rerun_command).
NOT_DEFAULT = {
    "name": "my-model.v2",
    "digits": (0, 4, 7),
    "conv": (8, 16),
    "hidden": (64, 32, 16),
    "activation": "tanh",
    "dropout": 0.3,
    "epochs": 7,
    "batch_size": 33,
    "learning_rate": 0.0125,
    "learning_rate_schedule": "constant",
    "validation_fraction": 0.25,
    "seed": 99,
    "description": "It's a test: \"quoted\", and $HOME is not expanded",
    "augment": False,
    "out_of_distribution": False,
}


@pytest.mark.parametrize(
    "changed",
    [{}, NOT_DEFAULT, {"digits": tuple(range(10)), "augment": True}, {"data": None}],
    ids=["defaults", "every setting", "0-9", "Keras's downloader"],
)
def test_the_cards_command_makes_the_same_settings_and_names_no_path(
    changed: dict[str, object],
) -> None:
    assert set(NOT_DEFAULT) == set(vars(build_parser().parse_args([]))) - {"data", "out"}
    machine = {"data": Path("/tmp/exp/../shared/data"), "out": Path("/tmp/exp/m09")}
    settings = TrainSettings(**{**machine, **changed})  # type: ignore[arg-type]
    words = shlex.split(rerun_command(settings))

    assert words[:3] == ["python", "-m", "training.train"]
    assert "--out" not in words and not any("/tmp" in word for word in words)
    assert ("--data" in words) == (settings.data is not None)
    again = parse_args([word.replace(DATA_DIR, "/elsewhere/mnist") for word in words[3:]])
    assert again == replace(
        settings, data=None if settings.data is None else Path("/elsewhere/mnist"),
        out=Path("model_store"),
    )
