"""TensorFlow's automatic backward pass, to hold core.network's hand-written one to: for one
example and target vector y, ``tf.GradientTape`` differentiates the Keras model's own layers
(its kernels, biases, convolutions, pooling and activation functions) with Keras's cross-entropy
from the output's logits. Shared by tests/core and tests/api (tests/ is on sys.path, see
tests/conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from app.model_registry import PARITY_ULPS
from core.network import WeightedLayer

GRADIENT_TOLERANCE = 1e-5  # the issue's: every δ, ∂L/∂x and loss within this of the tape's
# TensorFlow computes the loss in float32, whose last bits scale with the loss: a confidently
# wrong answer of the wide ten-digit model costs ~30 nats, where one float32 step is 4e-6.
LOSS_RELATIVE = 8 * float(np.finfo(np.float32).eps)
# The same holds for a gradient: one of ~13 (the ten-digit model's ∂L/∂W for a confident
# mistake) has float32 steps of 1e-6, so 1e-5 alone is ten steps, which a CPU that sums in
# another order can exceed. Compared within 1e-5 plus eight float32 steps of the value.
GRADIENT_RELATIVE = LOSS_RELATIVE


def parameter_gradient_allowance(
    layer: WeightedLayer, a_prev: np.ndarray, delta: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """How far a correct float32 ∂L/∂W and ∂L/∂b may be from the tape's: GRADIENT_TOLERANCE
    plus PARITY_ULPS float32 ulps of the sum of the magnitudes of their terms (Σ|a_prev|·|δ|, Σ|δ|),
    as the server's forward parity allows for z. Each term is a product of a δ with an
    activation, and a wide ReLU layer's activations reach ~20: δ's last float32 bits, which
    TensorFlow rounds otherwise, come out ×20; a conv bias sums δ over 784 positions."""
    magnitudes = layer.parameter_gradients(np.abs(a_prev), np.abs(delta))
    ulp = PARITY_ULPS * float(np.finfo(np.float32).eps)
    return GRADIENT_TOLERANCE + ulp * magnitudes[0], GRADIENT_TOLERANCE + ulp * magnitudes[1]


@dataclass(frozen=True)
class TapeGradients:
    loss: float
    deltas: list[np.ndarray]  # ∂L/∂z per layer; pooling and flatten: ∂L/∂(their output)
    input_gradient: np.ndarray  # in the shape x was given
    weight_gradients: list[np.ndarray | None]  # None for a layer without weights
    bias_gradients: list[np.ndarray | None]
    output: np.ndarray


def keras_preactivation(layer: Any, a_prev: Any) -> Any:
    """z of a Keras layer from Keras's own ops and weights: a dense or conv2d layer's before its
    activation; pooling and flatten have no activation, so their z is their output."""
    kind = type(layer).__name__
    if kind == "Dense":
        return keras.ops.add(keras.ops.matmul(a_prev, layer.kernel), layer.bias)
    if kind == "Conv2D":
        convolved = keras.ops.conv(a_prev, layer.kernel, strides=layer.strides,
                                   padding=layer.padding)
        return keras.ops.add(convolved, layer.bias)
    return layer(a_prev)


def keras_activation(layer: Any, z: Any) -> Any:
    return layer.activation(z) if type(layer).__name__ in ("Dense", "Conv2D") else z


def keras_loss(keras_model: Any, y: np.ndarray, output_z: Any) -> Any:
    """Keras's cross-entropy from the output layer's logits (what Keras uses for a sigmoid or
    softmax output, so that the loss of a confident mistake stays finite)."""
    if keras_model.layers[-1].activation.__name__ == "sigmoid":
        return keras.losses.binary_crossentropy(y[None, :], output_z, from_logits=True)[0]
    return keras.losses.categorical_crossentropy(y[None, :], output_z, from_logits=True)[0]


def _taped_forward(keras_model: Any, x: np.ndarray, tape: Any) -> tuple[Any, list[Any], list[Any]]:
    """The model's input as a watched tensor, and every layer's z and a, on ``tape``."""
    inputs = tf.constant(x.reshape(1, *keras_model.inputs[0].shape[1:]))
    tape.watch(inputs)
    a, zs, activations = inputs, [], []
    for layer in keras_model.layers:
        z = keras_preactivation(layer, a)
        a = keras_activation(layer, z)
        zs.append(z)
        activations.append(a)
    return inputs, zs, activations


def tape_gradients(keras_model: Any, x: np.ndarray, y: np.ndarray) -> TapeGradients:
    """Differentiate the Keras model's own layers, kept as z then a = activation(z) so the tape
    can also give ∂L/∂z per layer. ``x`` is one example, flat (784,) or in the model's shape."""
    with tf.GradientTape(persistent=True) as tape:
        inputs, zs, activations = _taped_forward(keras_model, x, tape)
        loss = keras_loss(keras_model, y, zs[-1])
    a = activations[-1]
    # The tape's forward pass must be the model's own, or the comparison proves nothing.
    np.testing.assert_allclose(a, keras_model(inputs, training=False), atol=1e-6, rtol=0)
    kernels = [getattr(layer, "kernel", None) for layer in keras_model.layers]
    biases = [getattr(layer, "bias", None) for layer in keras_model.layers]
    result = TapeGradients(
        loss=float(loss),
        deltas=[np.asarray(g)[0] for g in tape.gradient(loss, zs)],
        input_gradient=np.asarray(tape.gradient(loss, inputs))[0].reshape(x.shape),
        weight_gradients=[
            None if kernel is None else np.asarray(tape.gradient(loss, kernel))
            for kernel in kernels
        ],
        bias_gradients=[
            None if bias is None else np.asarray(tape.gradient(loss, bias)) for bias in biases
        ],
        output=np.asarray(a)[0],
    )
    del tape
    return result


def tape_gradients_of(
    keras_model: Any, x: np.ndarray, f: Callable[[list[Any], list[Any]], Any]
) -> tuple[list[np.ndarray | None], np.ndarray]:
    """∂f/∂z per layer (None above the layers f depends on) and ∂f/∂x, for any number
    f(zs, activations) of one example's forward pass (one unit's activation, a logit)."""
    with tf.GradientTape(persistent=True) as tape:
        inputs, zs, activations = _taped_forward(keras_model, x, tape)
        value = f(zs, activations)
    deltas = [None if g is None else np.asarray(g)[0] for g in tape.gradient(value, zs)]
    input_gradient = np.asarray(tape.gradient(value, inputs))[0].reshape(x.shape)
    del tape
    return deltas, input_gradient


def keras_loss_after_step(
    keras_model: Any, x: np.ndarray, y: np.ndarray, learning_rate: float
) -> float:
    """A copy of the Keras model takes one plain step with the tape's gradients; its loss."""
    tape = tape_gradients(keras_model, x, y)
    stepped = keras.models.clone_model(keras_model)
    new_weights = []
    for layer_index, layer in enumerate(keras_model.layers):
        if not layer.get_weights():
            continue  # pooling, flatten: nothing to learn
        kernel, bias = layer.get_weights()
        new_weights.append(kernel - np.float32(learning_rate) * tape.weight_gradients[layer_index])
        new_weights.append(bias - np.float32(learning_rate) * tape.bias_gradients[layer_index])
    stepped.set_weights(new_weights)
    return tape_gradients(stepped, x, y).loss
