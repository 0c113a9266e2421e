"""app/training_signals.py on its own: the layer signals against TensorFlow's own gradients,
the histograms, and the rules that turn signals into alerts."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from app.training_signals import Alerts, dense_twins, histogram, is_symmetric, layer_signals
from core.recipe import RecipeSettings, build_network

SETTINGS = {"activation": "sigmoid", "optimizer": "adam", "learning_rate": 0.005,
            "initializer": "glorot"}
WHERE = {"epoch": 1, "batch": 3, "seen": 384}


def batch(n: int = 32, classes: int = 2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.random((n, 784), dtype=np.float32), rng.integers(0, classes, n)


@pytest.mark.parametrize(
    ("digits", "activation", "l2"),
    [((0, 1), "sigmoid", 0.0), ((0, 1), "relu", 0.01), ((0, 1, 2), "tanh", 0.05)],
)
def test_kernel_gradient_norms_are_tensorflows(
    digits: tuple[int, ...], activation: str, l2: float
) -> None:
    settings = RecipeSettings(digits=digits, hidden=(12, 7), activation=activation, l2=l2)
    model = build_network(settings)
    x, y = batch(classes=len(digits))
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    with tf.GradientTape() as tape:
        p = model(x, training=False)
        if settings.is_binary:
            loss = keras.losses.binary_crossentropy(y.reshape(-1, 1).astype(np.float32), p)
        else:
            loss = keras.losses.sparse_categorical_crossentropy(y, p)
        loss = tf.reduce_mean(loss) + tf.add_n([0.0, *model.losses])
    expected = tape.gradient(loss, [layer.kernel for layer in dense])

    signals = layer_signals(dense_twins(model), x, y, l2=l2)

    for signal, gradient in zip(signals, expected, strict=True):
        assert signal["gradient_norm"] == pytest.approx(float(tf.norm(gradient)), rel=1e-3)
    assert [s["name"] for s in signals] == ["hidden_1", "hidden_2", "output"]


def test_update_ratio_is_the_steps_size_over_the_weights() -> None:
    model = build_network(RecipeSettings(hidden=(5,)))
    layers = dense_twins(model)
    before = [layer.weights * 0.9 for layer in layers]  # as if the step took off 10 %
    signals = layer_signals(layers, *batch(), kernels_before=before)
    assert [s["update_ratio"] for s in signals] == pytest.approx([0.1, 0.1], rel=1e-4)


def test_dead_and_saturated_shares() -> None:
    model = build_network(RecipeSettings(hidden=(4,), activation="relu"))
    kernel = model.get_layer("hidden_1").kernel
    kernel.assign(np.full((784, 4), -1.0, np.float32) * np.array([1, 1, 1, -1], np.float32))
    (relu, _) = layer_signals(dense_twins(model), *batch())
    assert relu["dead"] == 0.75 and relu["saturated"] is None  # three units never on

    model = build_network(RecipeSettings(hidden=(4,), initializer="large"))
    (sigmoid, output) = layer_signals(dense_twins(model), *batch())
    assert sigmoid["saturated"] > 0.5 and sigmoid["dead"] is None
    assert output["saturated"] is None and output["dead"] is None


def test_histograms_count_every_finite_value_and_survive_nan_and_sameness() -> None:
    values = np.array([0.0, 1.0, 2.0, 3.0, np.nan, np.inf], np.float32)
    shown = histogram(values, bins=3)
    assert shown == {"edges": [0.0, 1.0, 2.0, 3.0], "counts": [1, 1, 2]}
    assert histogram(np.zeros(10), bins=2) == {"edges": [-0.5, 0.0, 0.5], "counts": [0, 10]}
    assert histogram(np.array([np.nan]), bins=2) == {"edges": [], "counts": []}


def test_a_layer_of_alike_units_is_symmetric() -> None:
    assert is_symmetric(np.zeros((784, 3)))
    assert is_symmetric(np.tile(np.arange(784.0)[:, None], (1, 3)))
    assert not is_symmetric(np.eye(784, 3))
    assert not is_symmetric(np.ones((784, 1)))  # one unit: nothing to be alike


@pytest.mark.parametrize(
    ("losses", "how"),
    [([0.7, 0.6, math.nan], "NaN"), ([0.7, math.inf], "infinite"), ([0.7, 0.9, 3.8], "grew")],
)
def test_a_loss_that_runs_away_has_diverged_with_a_smaller_rate_as_fix(
    losses: list[float], how: str
) -> None:
    alerts = Alerts({**SETTINGS, "optimizer": "sgd", "learning_rate": 10.0}, epoch_batches=90)
    results = [alerts.after_batch(loss, WHERE) for loss in losses]
    assert results[:-1] == [None] * (len(losses) - 1)
    assert results[-1]["kind"] == "diverged" and how in results[-1]["detail"]
    assert results[-1]["fix"] == {"learning_rate": 1.0} and alerts.diverged


def test_a_loss_that_falls_or_wobbles_has_not_diverged() -> None:
    alerts = Alerts(SETTINGS, epoch_batches=90)
    assert all(alerts.after_batch(loss, WHERE) is None for loss in [0.7, 1.9, 3.6, 0.2, 0.01])


def layer(name: str, activation: str = "sigmoid", **signals: object) -> dict[str, object]:
    return {"name": name, "activation": activation, "units": 8, "gradient_norm": 1.0,
            "saturated": 0.0, "dead": None, "symmetric": False, **signals}


def test_alerts_are_raised_once_per_kind_and_layer() -> None:
    alerts = Alerts({**SETTINGS, "initializer": "zeros"}, epoch_batches=90)
    layers = [layer("hidden_1", symmetric=True), layer("hidden_2", symmetric=True),
              layer("output", symmetric=None)]
    first = alerts.after_snapshot(layers, WHERE)
    again = alerts.after_snapshot(layers, WHERE)
    assert [(a["kind"], a["layer"]) for a in first] == [
        ("symmetric", "hidden_1"), ("symmetric", "hidden_2")]
    assert again == [] and len(alerts.raised) == 2
    assert first[0]["fix"] == {"initializer": "glorot"} and first[0]["batch"] == 3


def test_a_run_stuck_where_it_started_is_not_learning_with_adam_as_fix() -> None:
    # 100 batches, or an epoch if that is shorter: here 400 batches.
    alerts = Alerts({**SETTINGS, "optimizer": "sgd", "learning_rate": 0.001}, epoch_batches=400)
    layers = [layer("hidden_1"), layer("output")]
    for _ in range(99):
        alerts.after_batch(0.69, WHERE)
    assert alerts.after_snapshot(layers, WHERE) == []  # too early to say
    alerts.after_batch(0.68, WHERE)
    (stuck,) = alerts.after_snapshot(layers, WHERE)
    assert stuck["kind"] == "not_learning" and stuck["layer"] is None
    assert stuck["fix"] == {"optimizer": "adam", "learning_rate": 0.005}


def test_a_tiny_epoch_is_too_early_to_call_a_run_not_learning() -> None:
    alerts = Alerts(SETTINGS, epoch_batches=2)  # 200 digits in batches of 128
    layers = [layer("hidden_1"), layer("output")]
    for _ in range(19):
        alerts.after_batch(2.3, WHERE)
    assert alerts.after_snapshot(layers, WHERE) == []
    alerts.after_batch(2.3, WHERE)
    assert [a["kind"] for a in alerts.after_snapshot(layers, WHERE)] == ["not_learning"]


def test_saturation_and_dead_units_alert_only_while_the_loss_has_not_fallen() -> None:
    layers = [layer("hidden_1", saturated=0.7), layer("hidden_2", "relu", dead=0.6, saturated=None),
              layer("output")]
    learning = Alerts(SETTINGS, epoch_batches=90)
    for loss in [0.7, 0.3, 0.2]:
        learning.after_batch(loss, WHERE)
    assert learning.after_snapshot(layers, WHERE) == []  # saturated, and learning well
    stuck = Alerts({**SETTINGS, "initializer": "large"}, epoch_batches=90)
    for loss in [0.7, 0.69, 0.7]:
        stuck.after_batch(loss, WHERE)
    raised = stuck.after_snapshot(layers, WHERE)
    assert [(a["kind"], a["layer"]) for a in raised] == [
        ("saturated", "hidden_1"), ("dead_units", "hidden_2")]
    assert raised[0]["fix"] == {"initializer": "glorot"}
    assert raised[1]["fix"] == {"learning_rate": 0.0005}


@pytest.mark.parametrize(("hidden", "first", "raised"), [(4, 0.05, True), (4, 0.2, False),
                                                         (2, 0.01, False)])
def test_vanishing_gradient_compares_the_first_layer_with_the_output(
    hidden: int, first: float, raised: bool
) -> None:
    alerts = Alerts(SETTINGS, epoch_batches=90)
    layers = [layer("hidden_1", gradient_norm=first),
              *[layer(f"hidden_{i}") for i in range(2, hidden + 1)],
              layer("output", gradient_norm=1.0)]
    kinds = [a["kind"] for a in alerts.after_snapshot(layers, WHERE)]
    assert kinds == (["vanishing_gradient"] if raised else [])
