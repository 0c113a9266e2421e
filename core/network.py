"""The network's forward pass in plain NumPy, from the weights of the loaded Keras model.

Per Dense layer, exactly as Keras computes it:  z = a_prev · W + b,  a = g(z),
with a_prev a row vector (1 × inputs), W stored as inputs × units, and b (units,).
The server answers with this rather than ``model.predict`` (which costs ~50 ms a call):
the whole pass over this small network takes microseconds, and it yields every layer's
z and a, which is what the page shows. Tests check it against Keras, number for number.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    # The tanh form never overflows, unlike 1 / (1 + exp(-z)) for very negative z.
    a = np.multiply(z, 0.5)
    np.tanh(a, out=a)
    a += 1.0
    a *= 0.5
    return a


def relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0.0)


def softmax(z: np.ndarray) -> np.ndarray:
    shifted = np.exp(z - z.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def linear(z: np.ndarray) -> np.ndarray:
    return z


ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "sigmoid": sigmoid,
    "relu": relu,
    "tanh": np.tanh,
    "softmax": softmax,
    "linear": linear,
}


@dataclass(frozen=True)
class DenseLayer:
    name: str
    activation: str
    weights: np.ndarray  # (inputs, units), as Keras stores its kernel
    biases: np.ndarray  # (units,)

    @property
    def units(self) -> int:
        return int(self.biases.shape[0])


@dataclass(frozen=True)
class LayerResult:
    """What one layer did: its pre-activations z and activations a = g(z)."""

    z: np.ndarray
    a: np.ndarray


def forward(layers: tuple[DenseLayer, ...], x: np.ndarray) -> list[LayerResult]:
    """Run ``x`` (784,) or (n, 784) through the layers; one result per layer, output last."""
    results = []
    a = x
    for layer in layers:
        z = a @ layer.weights + layer.biases
        a = ACTIVATIONS[layer.activation](z)
        results.append(LayerResult(z=z, a=a))
    return results


def class_probabilities(output: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities per class; a one-unit sigmoid output is p(second class)."""
    if n_classes == 2 and output.shape[-1] == 1:
        return np.concatenate([1.0 - output, output], axis=-1)
    return output


class UnservableModelError(ValueError):
    """A Keras model this NumPy network cannot reproduce (a layer that is not Dense, say)."""


def layers_from_keras(keras_model: Any) -> tuple[DenseLayer, ...]:
    """The Keras model's Dense layers as NumPy weights for ``forward``."""
    layers = []
    for layer in keras_model.layers:
        if type(layer).__name__ != "Dense":
            raise UnservableModelError(
                f"layer {layer.name!r} is a {type(layer).__name__}; only Dense layers can be served"
            )
        activation = getattr(layer.activation, "__name__", str(layer.activation))
        if activation not in ACTIVATIONS:
            raise UnservableModelError(
                f"layer {layer.name!r} uses activation {activation!r}; "
                f"supported: {', '.join(ACTIVATIONS)}"
            )
        kernel, bias = (np.asarray(w, dtype=np.float32) for w in layer.get_weights())
        layers.append(DenseLayer(layer.name, activation, kernel, bias))
    if not layers:
        raise UnservableModelError("the model has no layers")
    return tuple(layers)
