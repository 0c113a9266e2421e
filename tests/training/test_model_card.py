"""A full run on the tiny set: the model it saves, and everything its model card must say.

Over 300 lines: one small test per field of the card, sharing one run on the tiny set.
"""

from __future__ import annotations

import hashlib
import json
import math
import platform
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
import tensorflow as tf
from project_paths import MODEL_STORE
from tiny_mnist import TINY_TEST_COUNTS, TINY_TRAIN_COUNTS

from core.augmentation import TRAINING
from core.mnist_data import MNIST_NAME
from training.settings import TrainSettings
from training.train import run


def reject_non_json(constant: str) -> None:
    raise ValueError(f"the card holds {constant}, which is not JSON")


def read_card(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"), parse_constant=reject_non_json)


class Trained:
    def __init__(self, settings: TrainSettings, returned: dict[str, Any]) -> None:
        self.settings = settings
        self.returned = returned
        self.model_path = settings.out / f"{settings.model_name}.keras"
        self.card_path = settings.out / f"{settings.model_name}.json"
        self.card = read_card(self.card_path)


@pytest.fixture(scope="module")
def binary(tmp_path_factory: pytest.TempPathFactory, tiny_idx_folder: Path) -> Trained:
    """The learner's 25/15 network on 0/1, 3 epochs on the tiny set, saved into a folder not
    yet made."""
    settings = TrainSettings(
        data=tiny_idx_folder,
        out=tmp_path_factory.mktemp("binary") / "not" / "yet" / "there",
        epochs=3,
        batch_size=16,
        seed=5,
        out_of_distribution=False,
    )
    return Trained(settings, run(settings))


@pytest.fixture(scope="module")
def multiclass(tmp_path_factory: pytest.TempPathFactory, tiny_idx_folder: Path) -> Trained:
    settings = TrainSettings(
        data=tiny_idx_folder,
        out=tmp_path_factory.mktemp("multiclass"),
        digits=(0, 1, 2),
        hidden=(8,),
        activation="relu",
        epochs=2,
        batch_size=8,
        learning_rate=0.01,
        validation_fraction=0.2,
        seed=9,
        out_of_distribution=False,
    )
    return Trained(settings, run(settings))


@pytest.fixture(params=["binary", "multiclass"])
def trained(request: pytest.FixtureRequest) -> Trained:
    return request.getfixturevalue(request.param)


# --- the files ------------------------------------------------------------------------------


def test_run_writes_the_model_and_its_card_side_by_side(trained: Trained) -> None:
    """... and the digit atlas of the app's "Why this answer" (training/atlas.py)."""
    name = trained.settings.model_name
    assert sorted(p.name for p in trained.settings.out.iterdir()) == [
        f"{name}.json",
        f"{name}.keras",
        "mnist-test-atlas.npz",
    ]


def test_the_card_names_the_model_file_and_its_sha256(trained: Trained) -> None:
    files = trained.card["files"]

    assert files["model"] == trained.model_path.name
    assert files["model_sha256"] == hashlib.sha256(trained.model_path.read_bytes()).hexdigest()


def test_run_returns_the_card_it_saved(trained: Trained) -> None:
    on_disk = {key: value for key, value in trained.card.items() if key != "files"}

    assert on_disk == trained.returned


# --- the card: what the issue asks for, key by key ------------------------------------------


def test_the_card_names_the_model_and_its_classes(binary: Trained, multiclass: Trained) -> None:
    assert binary.card["name"] == "digits-0-1"
    assert binary.card["classes"] == ["0", "1"]
    assert binary.card["task"] == "binary"
    assert multiclass.card["name"] == "digits-0-2"
    assert multiclass.card["classes"] == ["0", "1", "2"]
    assert multiclass.card["task"] == "multiclass"


def test_the_card_gives_the_seeds_layer_sizes_and_activations(binary: Trained) -> None:
    architecture = binary.card["architecture"]

    assert architecture["input"]["units"] == 784
    assert architecture["input"]["shape"] == [28, 28]
    assert architecture["layers"] == [
        {"name": "hidden_1", "units": 25, "activation": "sigmoid"},
        {"name": "hidden_2", "units": 15, "activation": "sigmoid"},
        {"name": "output", "units": 1, "activation": "sigmoid"},
    ]
    assert architecture["parameters"] == (784 * 25 + 25) + (25 * 15 + 15) + (15 * 1 + 1)


def test_the_cards_layers_are_the_saved_models_layers(trained: Trained) -> None:
    model = keras.saving.load_model(trained.model_path)

    assert [
        {"name": layer.name, "units": layer.units, "activation": layer.activation.__name__}
        for layer in model.layers
    ] == trained.card["architecture"]["layers"]
    assert trained.card["architecture"]["parameters"] == model.count_params()


def test_the_multiclass_card_has_a_softmax_over_the_classes(multiclass: Trained) -> None:
    layers = multiclass.card["architecture"]["layers"]

    assert layers == [
        {"name": "hidden_1", "units": 8, "activation": "relu"},
        {"name": "output", "units": 3, "activation": "softmax"},
    ]
    assert multiclass.card["training"]["loss"] == "sparse_categorical_crossentropy"


def test_the_card_records_the_training_settings(trained: Trained) -> None:
    s = trained.settings

    assert trained.card["training"] == {
        "loss": "binary_crossentropy" if s.is_binary else "sparse_categorical_crossentropy",
        "optimizer": "adam",
        "learning_rate": s.learning_rate,
        "learning_rate_schedule": s.learning_rate_schedule,
        "epochs": s.epochs,
        "batch_size": s.batch_size,
        "validation_fraction": s.validation_fraction,
        "seed": s.seed,
        "hidden": list(s.hidden),
        "activation": s.activation,
        "augmentation": TRAINING.as_card() if s.augment else None,
    }


def test_the_card_names_the_data_set_and_the_sha256_of_its_arrays(
    trained: Trained, tiny_mnist: dict[str, np.ndarray], tiny_idx_folder: Path
) -> None:
    data = trained.card["data"]

    # The data set's name, not the folder of the machine that trained it (the card is served).
    assert data["source"] == MNIST_NAME
    assert str(tiny_idx_folder) not in json.dumps(trained.card)
    assert str(trained.settings.out) not in json.dumps(trained.card)
    assert data["format"] == "idx"
    assert data["sha256"] == {
        key: hashlib.sha256(array.tobytes()).hexdigest() for key, array in tiny_mnist.items()
    }


def test_the_cards_counts_per_class_match_the_data_written(trained: Trained) -> None:
    counts = trained.card["data"]["counts"]
    digits = trained.settings.digits
    classes = [str(d) for d in digits]

    for split in ("train", "validation", "test"):
        assert list(counts[split]) == classes
    for digit, label in zip(digits, classes, strict=True):
        assert counts["train"][label] + counts["validation"][label] == TINY_TRAIN_COUNTS[digit]
        assert counts["test"][label] == TINY_TEST_COUNTS[digit]
    in_training = sum(TINY_TRAIN_COUNTS[d] for d in digits)
    expected_validation = round(in_training * trained.settings.validation_fraction)
    assert sum(counts["validation"].values()) == expected_validation


def test_the_card_keeps_the_per_epoch_history(trained: Trained) -> None:
    history = trained.card["history"]

    assert set(history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    for key, values in history.items():
        assert len(values) == trained.settings.epochs, key
        assert all(isinstance(v, float) and math.isfinite(v) for v in values), key
    for key in ("accuracy", "val_accuracy"):
        assert all(0.0 <= v <= 1.0 for v in history[key])


def test_the_card_gives_final_loss_and_accuracy_per_split(trained: Trained) -> None:
    metrics = trained.card["metrics"]
    counts = trained.card["data"]["counts"]

    for split, count_key in (("train", "train"), ("validation", "validation"), ("test", "test")):
        assert isinstance(metrics[split]["loss"], float)
        assert 0.0 <= metrics[split]["loss"] < 20.0
        assert isinstance(metrics[split]["accuracy"], float)
        assert 0.0 <= metrics[split]["accuracy"] <= 1.0
        assert metrics[split]["count"] == sum(counts[count_key].values())


def test_the_confusion_matrix_adds_up_to_the_test_set(trained: Trained) -> None:
    test = trained.card["metrics"]["test"]
    matrix = np.array(test["confusion_matrix"])
    n_classes = len(trained.card["classes"])

    assert matrix.shape == (n_classes, n_classes)
    assert (
        matrix.sum() == test["count"] == sum(TINY_TEST_COUNTS[d] for d in trained.settings.digits)
    )
    # Rows are the true classes.
    assert matrix.sum(axis=1).tolist() == list(trained.card["data"]["counts"]["test"].values())
    assert np.trace(matrix) / matrix.sum() == pytest.approx(test["accuracy"])


def test_the_misclassified_list_matches_the_confusion_matrix_and_the_data(
    trained: Trained, tiny_mnist: dict[str, np.ndarray]
) -> None:
    test = trained.card["metrics"]["test"]
    classes = trained.card["classes"]
    matrix = np.array(test["confusion_matrix"])

    tally = np.zeros_like(matrix)
    for wrong in test["misclassified"]:
        assert wrong["true"] != wrong["predicted"]
        assert str(tiny_mnist["y_test"][wrong["mnist_test_index"]]) == wrong["true"]
        tally[classes.index(wrong["true"]), classes.index(wrong["predicted"])] += 1
    np.fill_diagonal(tally, np.diag(matrix))
    assert tally.tolist() == matrix.tolist()
    assert test["summary"] == f"{test['accuracy']:.2%} on {test['count']} MNIST test digits"


def test_the_saved_model_reproduces_the_cards_test_results(
    trained: Trained, tiny_mnist: dict[str, np.ndarray]
) -> None:
    model = keras.saving.load_model(trained.model_path)
    digits = np.array(trained.settings.digits)
    keep = np.flatnonzero(np.isin(tiny_mnist["y_test"], digits))
    x = tiny_mnist["x_test"][keep].reshape(len(keep), 784).astype(np.float32) / 255.0
    out = np.asarray(model(x, training=False))
    predicted = (out[:, 0] > 0.5).astype(int) if out.shape[1] == 1 else out.argmax(axis=1)
    predicted_digits = digits[predicted]

    wrong = keep[predicted_digits != tiny_mnist["y_test"][keep]]
    test = trained.card["metrics"]["test"]
    assert [w["mnist_test_index"] for w in test["misclassified"]] == wrong.tolist()
    assert test["accuracy"] == pytest.approx(1 - len(wrong) / len(keep))


def test_the_card_records_training_time_versions_and_date(binary: Trained) -> None:
    card = binary.card

    assert isinstance(card["training_time_s"], float)
    assert card["training_time_s"] > 0
    assert card["versions"] == {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }
    created = datetime.fromisoformat(card["created"])
    assert created.tzinfo is not None
    assert timedelta(0) <= datetime.now(UTC) - created < timedelta(hours=1)


def test_the_card_is_strict_json_without_nan(trained: Trained) -> None:
    # read_card already refused NaN and Infinity; the card also survives a strict round trip.
    assert json.loads(json.dumps(trained.card, allow_nan=False)) == trained.card


# A path of the machine: absolute, in a home folder, above the project, or a temporary folder.
MACHINE_PATH = re.compile(r"(?:^|[\s='\"])(?:/|~/|\.\./|[A-Za-z]:\\)|/tmp\b")


def card_strings(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from card_strings(item, f"{where}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from card_strings(item, f"{where}[{index}]")
    elif isinstance(value, str):
        yield where, value


@pytest.mark.parametrize(
    "card_path", sorted(MODEL_STORE.glob("*.json")), ids=lambda path: path.name
)
def test_no_shipped_card_names_a_path_of_the_machine_that_trained_it(card_path: Path) -> None:
    """The cards are served (GET /models/NAME) and their commands are for readers to rerun."""
    card = read_card(card_path)
    for where, text in card_strings(card):
        assert not MACHINE_PATH.search(text), f"{card_path.name} {where}: {text[:160]}"
    assert card["command"].startswith("python -m training.train")


@pytest.mark.parametrize(
    "text",
    ["--out /tmp/exp/m09", "--data ../shared/data", "/home/me/mnist", "--data=/srv/mnist",
     "C:\\data", "~/mnist"],
)
def test_a_machine_path_is_seen_as_one(text: str) -> None:
    assert MACHINE_PATH.search(text)


# --- training itself ------------------------------------------------------------------


def test_training_lowers_the_loss_on_the_tiny_set(
    tiny_settings: Callable[..., TrainSettings],
) -> None:
    # A real signal: the crude strokes are easy, so a few epochs must make progress (unchanged
    # by augmentation, which makes 60 crude strokes a harder task than 8 epochs can learn).
    card = run(tiny_settings(epochs=8, learning_rate=0.02, augment=False))

    losses = card["history"]["loss"]
    assert losses[-1] < 0.5 * losses[0]
    assert card["metrics"]["test"]["accuracy"] >= 0.9
