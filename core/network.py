"""The network's forward pass and, beside it, its backward pass, in plain NumPy, from the
weights of the loaded Keras model.

Forward, per Dense layer, exactly as Keras computes it:  z = a_prev · W + b,  a = g(z),
with a_prev a row vector (1 × inputs), W stored as inputs × units, and b (units,).
The server answers with this rather than ``model.predict`` (which costs ~50 ms a call):
the whole pass over this small network takes microseconds, and it yields every layer's
z and a, which is what the page shows. Tests check it against Keras, number for number.

Backward, for one example and the class it should have been (the chain rule, output first):
    δ_out   = a_out − y                      (cross-entropy from the output's z: ``cross_entropy``)
    δ_l     = (δ_{l+1} · W_{l+1}ᵀ) ⊙ g_l′(z_l) (one layer back)
    ∂L/∂x   = δ_1 · W_1ᵀ                     (which pixels would raise or lower the loss)
    ∂L/∂W_l = a_{l−1}ᵀ · δ_l,  ∂L/∂b_l = δ_l
Tests check every δ, ∂L/∂x and the loss after one step against ``tf.GradientTape``.
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


# --- the backward pass ------------------------------------------------------------------------


def activation_slope(activation: str, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """g′(z) for an element-wise g, written with a = g(z) where that is how it is taught."""
    if activation == "sigmoid":
        return a * (1.0 - a)  # below ~0.01 the unit is saturated: δ through it nearly vanishes
    if activation == "tanh":
        return 1.0 - a * a
    if activation == "relu":
        return (z > 0).astype(z.dtype)  # 0 at z = 0, as TensorFlow's gradient of relu
    if activation == "linear":
        return np.ones_like(z)
    raise ValueError(f"no element-wise slope for activation {activation!r}")


def back_through_activation(
    activation: str, z: np.ndarray, a: np.ndarray, upstream: np.ndarray
) -> np.ndarray:
    """δ = ∂L/∂z from ∂L/∂a. Element-wise g: ∂L/∂a ⊙ g′(z). Softmax mixes its units:
    ∂a_i/∂z_j = a_i(1[i=j] − a_j), so δ = a ⊙ (∂L/∂a − ∂L/∂a · a)."""
    if activation == "softmax":
        return a * (upstream - np.dot(upstream, a))
    return upstream * activation_slope(activation, z, a)


def target_vector(output_layer: DenseLayer, target_index: int) -> np.ndarray:
    """y: one-hot over a softmax's units; for a one-unit sigmoid, y = 1 for the second class."""
    units = output_layer.units
    if output_layer.activation == "sigmoid" and units == 1:
        if target_index not in (0, 1):
            raise ValueError(f"target index {target_index} is not a class of a 2-class output")
        return np.array([float(target_index)], dtype=np.float32)
    if output_layer.activation == "softmax":
        if not 0 <= target_index < units:
            raise ValueError(f"target index {target_index} is not one of {units} classes")
        y = np.zeros(units, dtype=np.float32)
        y[target_index] = 1.0
        return y
    raise ValueError(
        f"no cross-entropy for a {units}-unit {output_layer.activation} output; "
        f"the output must be one sigmoid unit or a softmax"
    )


def cross_entropy(output_layer: DenseLayer, z: np.ndarray, y: np.ndarray) -> float:
    """Cross-entropy computed from the output's z, as Keras does for a sigmoid or softmax
    output, so that a confidently wrong answer costs a large finite loss, never inf:
    binary:       L = max(z, 0) − z·y + log(1 + e^(−|z|))   (= −y log a − (1−y) log(1−a))
    categorical:  L = −Σ y_i log softmax(z)_i, with log softmax(z) = z − max z − log Σ e^(z − max z)
    """
    z = np.asarray(z, dtype=np.float64)
    if output_layer.activation == "sigmoid":
        return float(np.sum(np.maximum(z, 0.0) - z * y + np.log1p(np.exp(-np.abs(z)))))
    shifted = z - z.max()
    log_probabilities = shifted - np.log(np.sum(np.exp(shifted)))
    return float(-np.sum(y * log_probabilities))


@dataclass(frozen=True)
class Gradients:
    """The backward pass for one example: the loss and ∂L/∂(everything)."""

    loss: float
    deltas: list[np.ndarray]  # δ = ∂L/∂z per layer, output last
    input_gradient: np.ndarray  # ∂L/∂x, one per input pixel
    layer_inputs: list[np.ndarray]  # a_prev per layer: x for the first

    def weight_gradient(self, index: int) -> np.ndarray:
        """∂L/∂W = a_prevᵀ · δ: (inputs × 1)·(1 × units), numbers the answer already holds."""
        return np.outer(self.layer_inputs[index], self.deltas[index])


def backward(
    layers: tuple[DenseLayer, ...],
    x: np.ndarray,
    results: list[LayerResult],
    target_index: int,
) -> Gradients:
    """The chain rule from the loss back to the input, for one example ``x`` (784,) whose
    ``forward`` results are given and whose class should be ``target_index``."""
    output = layers[-1]
    y = target_vector(output, target_index)
    # Sigmoid + binary or softmax + categorical cross-entropy: ∂L/∂z_out simplifies to a − y.
    delta = (results[-1].a - y).astype(np.float32)
    deltas = [delta]
    for index in range(len(layers) - 1, 0, -1):
        upstream = delta @ layers[index].weights.T  # ∂L/∂a of the layer below
        below = results[index - 1]
        delta = back_through_activation(layers[index - 1].activation, below.z, below.a, upstream)
        deltas.append(delta)
    deltas.reverse()
    return Gradients(
        loss=cross_entropy(output, results[-1].z, y),
        deltas=deltas,
        input_gradient=deltas[0] @ layers[0].weights.T,
        layer_inputs=[x, *(result.a for result in results[:-1])],
    )


def gradient_step(
    layers: tuple[DenseLayer, ...], gradients: Gradients, learning_rate: float
) -> tuple[DenseLayer, ...]:
    """One plain gradient-descent step, W ← W − η·a_prevᵀ·δ and b ← b − η·δ, on new arrays:
    the layers given are never changed."""
    return tuple(
        DenseLayer(
            layer.name,
            layer.activation,
            layer.weights - np.float32(learning_rate) * gradients.weight_gradient(index),
            layer.biases - np.float32(learning_rate) * gradients.deltas[index],
        )
        for index, layer in enumerate(layers)
    )


@dataclass(frozen=True)
class AfterStep:
    """The same example through the network after one step: did the loss fall?"""

    learning_rate: float
    loss: float
    output: np.ndarray  # the output layer's activations after the step


def after_one_step(
    layers: tuple[DenseLayer, ...],
    x: np.ndarray,
    gradients: Gradients,
    target_index: int,
    learning_rate: float,
) -> AfterStep:
    """Take one step on a copy of ``layers`` and run ``x`` through the copy."""
    stepped = gradient_step(layers, gradients, learning_rate)
    result = forward(stepped, x)[-1]
    y = target_vector(layers[-1], target_index)
    return AfterStep(learning_rate, cross_entropy(layers[-1], result.z, y), result.a)


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
