"""Random Keras networks for the tests that hold core.network to Keras (tests/core): the forward
pass (test_network_parity.py) and the backward pass (test_backward_pass.py)."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np


def random_keras_model(architecture: tuple[Any, ...], seed: int) -> Any:
    """(hidden sizes, hidden activation, output units, output activation) → a Keras model with
    Keras's default random kernels and random (not zero) biases."""
    hidden, hidden_activation, units, activation = architecture
    keras.utils.set_random_seed(seed)
    layers: list[Any] = [keras.Input(shape=(784,), name="pixels")]
    for index, size in enumerate(hidden, start=1):
        layers.append(keras.layers.Dense(size, activation=hidden_activation, name=f"h{index}"))
    layers.append(keras.layers.Dense(units, activation=activation, name="output"))
    model = keras.Sequential(layers)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        kernel, bias = layer.get_weights()
        layer.set_weights([kernel, rng.normal(0.0, 1.0, size=bias.shape).astype(np.float32)])
    return model
