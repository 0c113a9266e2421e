"""TensorFlow's automatic backward pass, to hold core.network's hand-written one to: for one
example and target vector y, ``tf.GradientTape`` differentiates the Keras model's own layers
(its kernels, biases and activation functions) with Keras's cross-entropy from the output's
logits. Shared by tests/core and tests/api (tests/ is on sys.path, see tests/conftest.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

# TensorFlow computes the loss in float32, whose last bits scale with the loss: a confidently
# wrong answer of the wide ten-digit model costs ~30 nats, where one float32 step is 4e-6.
LOSS_RELATIVE = 8 * float(np.finfo(np.float32).eps)


@dataclass(frozen=True)
class TapeGradients:
    loss: float
    deltas: list[np.ndarray]
    input_gradient: np.ndarray
    weight_gradients: list[np.ndarray]
    bias_gradients: list[np.ndarray]
    output: np.ndarray


def keras_loss(keras_model: Any, y: np.ndarray, output_z: Any) -> Any:
    """Keras's cross-entropy from the output layer's logits (what Keras uses for a sigmoid or
    softmax output, so that the loss of a confident mistake stays finite)."""
    if keras_model.layers[-1].activation.__name__ == "sigmoid":
        return keras.losses.binary_crossentropy(y[None, :], output_z, from_logits=True)[0]
    return keras.losses.categorical_crossentropy(y[None, :], output_z, from_logits=True)[0]


def tape_gradients(keras_model: Any, x: np.ndarray, y: np.ndarray) -> TapeGradients:
    """Differentiate the Keras model's own layers, kept as z then a = activation(z) so the tape
    can also give ∂L/∂z per layer."""
    inputs = tf.constant(x[None, :])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(inputs)
        a, zs = inputs, []
        for layer in keras_model.layers:
            z = keras.ops.add(keras.ops.matmul(a, layer.kernel), layer.bias)
            zs.append(z)
            a = layer.activation(z)
        loss = keras_loss(keras_model, y, zs[-1])
    kernels = [layer.kernel for layer in keras_model.layers]
    biases = [layer.bias for layer in keras_model.layers]
    # The tape's forward pass must be the model's own, or the comparison proves nothing.
    np.testing.assert_allclose(a, keras_model(inputs, training=False), atol=1e-6, rtol=0)
    result = TapeGradients(
        loss=float(loss),
        deltas=[np.asarray(g)[0] for g in tape.gradient(loss, zs)],
        input_gradient=np.asarray(tape.gradient(loss, inputs))[0],
        weight_gradients=[np.asarray(g) for g in tape.gradient(loss, kernels)],
        bias_gradients=[np.asarray(g) for g in tape.gradient(loss, biases)],
        output=np.asarray(a)[0],
    )
    del tape
    return result


def keras_loss_after_step(
    keras_model: Any, x: np.ndarray, y: np.ndarray, learning_rate: float
) -> float:
    """A copy of the Keras model takes one plain step with the tape's gradients; its loss."""
    tape = tape_gradients(keras_model, x, y)
    stepped = keras.models.clone_model(keras_model)
    new_weights = []
    for layer_index in range(len(keras_model.layers)):
        kernel, bias = keras_model.layers[layer_index].get_weights()
        new_weights.append(kernel - np.float32(learning_rate) * tape.weight_gradients[layer_index])
        new_weights.append(bias - np.float32(learning_rate) * tape.bias_gradients[layer_index])
    stepped.set_weights(new_weights)
    return tape_gradients(stepped, x, y).loss


