"""core/recipe.py on its own: the network the settings ask for, seeding, the callbacks live
training will add, and Keras's progress as the command line asks for it."""

from __future__ import annotations

import itertools
from typing import Any

import keras
import numpy as np
import pytest

from core.mnist_data import Mnist
from core.recipe import (
    RecipeSettings,
    Splits,
    build_network,
    cosine_learning_rate,
    fit,
    select_digits,
    training_epochs,
    without_dropout,
)

FAST = {"hidden": (4,), "epochs": 2, "batch_size": 16, "seed": 3}


@pytest.fixture(scope="module")
def tiny_splits(tiny_mnist: dict[str, np.ndarray]) -> Splits:
    return select_digits(Mnist(**tiny_mnist, source="tiny", format="npz"), (0, 1), 0.1, seed=3)


@pytest.mark.parametrize(
    ("change", "layers", "loss"),
    [
        ({}, [(25, "sigmoid"), (15, "sigmoid"), (1, "sigmoid")], "binary_crossentropy"),
        (
            {"hidden": (10,), "activation": "tanh"},
            [(10, "tanh"), (1, "sigmoid")],
            "binary_crossentropy",
        ),
        (
            {"digits": (3, 5, 7), "hidden": (6, 5, 4), "activation": "relu"},
            [(6, "relu"), (5, "relu"), (4, "relu"), (3, "softmax")],
            "sparse_categorical_crossentropy",
        ),
    ],
    ids=["the learner's 25/15", "tanh", "three classes"],
)
def test_build_network_follows_the_settings(
    change: dict[str, Any], layers: list[tuple[int, str]], loss: str
) -> None:
    model = build_network(RecipeSettings(learning_rate=0.0125, **change), name="a_name")

    assert [(layer.units, layer.activation.__name__) for layer in model.layers] == layers
    assert model.input_shape == (None, 784)
    assert model.loss == loss
    assert model.name == "a_name"
    assert isinstance(model.optimizer, keras.optimizers.Adam)
    assert float(model.optimizer.learning_rate) == pytest.approx(0.0125)


def test_build_network_starts_from_the_seeds_weights() -> None:
    first = build_network(RecipeSettings(hidden=(5,), seed=11)).get_weights()
    keras.utils.set_random_seed(999)  # whatever ran before does not matter
    again = build_network(RecipeSettings(hidden=(5,), seed=11)).get_weights()
    other = build_network(RecipeSettings(hidden=(5,), seed=12)).get_weights()

    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0], other[0])


@pytest.mark.parametrize(
    ("optimizer", "kind", "momentum"),
    [("sgd", keras.optimizers.SGD, 0.0), ("momentum", keras.optimizers.SGD, 0.9),
     ("adam", keras.optimizers.Adam, None)],
)
def test_build_network_uses_the_optimizer_asked_for(
    optimizer: str, kind: type, momentum: float | None
) -> None:
    model = build_network(RecipeSettings(optimizer=optimizer, learning_rate=3.0))
    assert type(model.optimizer) is kind
    assert float(model.optimizer.learning_rate) == pytest.approx(3.0)
    if momentum is not None:
        assert model.optimizer.momentum == pytest.approx(momentum)


@pytest.mark.parametrize(
    ("initializer", "std"),
    [
        ("glorot", (2 / (784 + 64)) ** 0.5),  # uniform, variance 2 / (fan_in + fan_out)
        ("he", (2 / 784) ** 0.5),  # variance 2 / fan_in
        ("zeros", 0.0),
        ("large", 1.0),
    ],
)
def test_build_network_starts_every_kernel_from_the_initializer(
    initializer: str, std: float
) -> None:
    model = build_network(RecipeSettings(hidden=(64, 64), initializer=initializer))
    first = model.get_layer("hidden_1").kernel.numpy()  # 784 × 64
    assert first.std() == pytest.approx(std, rel=0.05)
    if initializer == "large":
        assert model.get_layer("hidden_2").kernel.numpy().std() == pytest.approx(1.0, rel=0.1)
    if initializer == "zeros":
        assert all(not np.any(layer.kernel.numpy()) for layer in model.layers)


def test_l2_and_dropout_reach_every_layer_and_the_served_network_drops_the_dropout() -> None:
    settings = RecipeSettings(hidden=(8, 6), l2=0.01, dropout=0.5)
    model = build_network(settings)
    names = [layer.name for layer in model.layers]
    assert names == ["hidden_1", "dropout_1", "hidden_2", "dropout_2", "output"]
    assert model.get_layer("dropout_2").rate == 0.5
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert all(float(layer.kernel_regularizer.l2) == pytest.approx(0.01) for layer in dense)

    served = without_dropout(model)
    assert [layer.name for layer in served.layers] == ["hidden_1", "hidden_2", "output"]
    x = np.random.default_rng(0).random((5, 784), dtype=np.float32)
    assert np.allclose(served(x), model(x, training=False), atol=1e-6)
    plain = build_network(RecipeSettings(hidden=(8,)))
    assert without_dropout(plain) is plain
    assert all(layer.kernel_regularizer is None for layer in plain.layers)


def test_train_examples_keeps_the_first_digits_of_the_shuffled_split(
    tiny_mnist: dict[str, np.ndarray],
) -> None:
    mnist = Mnist(**tiny_mnist, source="tiny", format="npz")
    whole = select_digits(mnist, (0, 1), 0.1, seed=3)
    few = select_digits(mnist, (0, 1), 0.1, seed=3, train_examples=10)
    assert np.array_equal(few.x_train, whole.x_train[:10]) and len(few.y_train) == 10
    assert np.array_equal(few.x_val, whole.x_val) and np.array_equal(few.x_test, whole.x_test)
    more = select_digits(mnist, (0, 1), 0.1, seed=3, train_examples=60_000)
    assert len(more.y_train) == len(whole.y_train)


class StopAfterBatches(keras.callbacks.Callback):
    """What live training's stop does: end the run after the current batch."""

    def __init__(self, batches: int) -> None:
        super().__init__()
        self.batches = batches
        self.seen: list[int] = []

    def on_train_batch_end(self, batch: int, logs: dict[str, float] | None = None) -> None:
        self.seen.append(batch)
        if len(self.seen) == self.batches:
            self.model.stop_training = True


def test_fit_runs_the_callbacks_it_is_given(tiny_splits: Splits) -> None:
    settings = RecipeSettings(**FAST)
    model = build_network(settings)
    stop = StopAfterBatches(2)

    fitted = fit(model, settings, training_epochs(settings, tiny_splits), tiny_splits.validation,
                 callbacks=[stop])

    assert stop.seen == [0, 1]  # 49 training images: 4 batches of 16 an epoch, stopped after 2
    assert len(fitted.history["loss"]) == 1
    assert fitted.training_time_s > 0


class LearningRates(keras.callbacks.Callback):
    """Records the optimizer's learning rate during each epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.rates: list[float] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.rates.append(float(self.model.optimizer.learning_rate))


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("cosine", [0.01, 0.01 * (2 + 2**0.5) / 4, 0.005, 0.01 * (2 - 2**0.5) / 4]),
        pytest.param("constant", [0.01, 0.01, 0.01, 0.01], marks=pytest.mark.slow),
    ],
)
def test_fit_follows_the_learning_rate_schedule(
    tiny_splits: Splits, schedule: str, expected: list[float]
) -> None:
    settings = RecipeSettings(**{**FAST, "epochs": 4}, learning_rate=0.01,
                              learning_rate_schedule=schedule)
    rates = LearningRates()

    fitted = fit(build_network(settings), settings, training_epochs(settings, tiny_splits),
                 callbacks=[rates])

    assert rates.rates == pytest.approx(expected, rel=1e-6)
    assert "learning_rate" not in fitted.history  # the settings say it


@pytest.mark.parametrize("epochs", [1, 3, 12, 100])
def test_the_cosine_rate_starts_at_the_rate_and_falls_towards_zero(epochs: int) -> None:
    rates = [cosine_learning_rate(0.002, epoch, epochs) for epoch in range(epochs)]
    assert rates[0] == 0.002
    assert all(a > b for a, b in itertools.pairwise(rates))
    assert 0 < rates[-1] < 0.002 * 2.5 / epochs**2  # the last epoch's step is a fine one


def test_fit_is_silent_unless_asked(
    tiny_splits: Splits, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = RecipeSettings(**FAST)

    fit(build_network(settings), settings, training_epochs(settings, tiny_splits))

    assert capsys.readouterr().out == ""


def test_fit_verbose_2_writes_one_plain_line_per_epoch(
    tiny_splits: Splits, capsys: pytest.CaptureFixture[str]
) -> None:
    # What the command line asks for when its output goes to a file, not a terminal.
    settings = RecipeSettings(**FAST)

    fit(build_network(settings), settings, training_epochs(settings, tiny_splits),
        tiny_splits.validation, verbose=2)

    out = capsys.readouterr().out
    assert "\x1b" not in out and "\r" not in out and "\b" not in out
    lines = out.splitlines()
    assert lines[0::2] == ["Epoch 1/2", "Epoch 2/2"]
    assert len(lines) == 4
    assert all(line.startswith("4/4 - ") and "val_loss" in line for line in lines[1::2])
