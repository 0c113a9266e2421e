"""Random Keras networks for the tests that hold core.network to Keras (tests/core): the forward
pass (test_network_parity.py) and the backward pass (test_backward_pass.py)."""

from __future__ import annotations

import re
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
    return _with_random_biases(keras.Sequential(layers), seed)


# One layer of a convolutional architecture, in words (see CONV_ARCHITECTURES in the tests):
#   conv8-3x3-same-s1-relu   8 filters of 3×3, "same" padding, stride 1 (s2x1: 2 down, 1 across)
#   pool2x2-s2-valid         max pooling over 2×2 windows, stride 2, "valid" padding
#   flatten
#   dense10-softmax
_CONV = re.compile(r"conv(\d+)-(\d+)x(\d+)-(valid|same)-s(\d+)(?:x(\d+))?-(\w+)")
_POOL = re.compile(r"pool(\d+)x(\d+)-s(\d+)(?:x(\d+))?-(valid|same)")
_DENSE = re.compile(r"dense(\d+)-(\w+)")


def random_conv_model(architecture: str, seed: int) -> Any:
    """A model over 28×28×1 images from its layers in words, separated by spaces (e.g.
    "conv4-3x3-same-s1-relu pool2x2-s2-valid flatten dense10-softmax"), with Keras's default
    random kernels and random (not zero) biases. A first word "reshape" makes it read 784 flat
    pixels and reshape them into the image, as the training recipe builds a CNN."""
    keras.utils.set_random_seed(seed)
    layers: list[Any] = [keras.Input(shape=(28, 28, 1), name="image")]
    for index, word in enumerate(architecture.split()):
        name = f"l{index}"
        if word == "reshape" and index == 0:
            layers = [keras.Input(shape=(784,), name="pixels"),
                      keras.layers.Reshape((28, 28, 1), name="image")]
        elif match := _CONV.fullmatch(word):
            filters, k_h, k_w, padding, s_h, s_w, activation = match.groups()
            strides = (int(s_h), int(s_w or s_h))
            layers.append(
                keras.layers.Conv2D(int(filters), (int(k_h), int(k_w)), strides, padding,
                                    activation=activation, name=name)
            )
        elif match := _POOL.fullmatch(word):
            p_h, p_w, s_h, s_w, padding = match.groups()
            strides = (int(s_h), int(s_w or s_h))
            layers.append(
                keras.layers.MaxPooling2D((int(p_h), int(p_w)), strides, padding, name=name)
            )
        elif word == "flatten":
            layers.append(keras.layers.Flatten(name=name))
        elif match := _DENSE.fullmatch(word):
            units, activation = match.groups()
            layers.append(keras.layers.Dense(int(units), activation=activation, name=name))
        else:
            raise ValueError(f"not a layer: {word!r}")
    return _with_random_biases(keras.Sequential(layers), seed)


def image_model(keras_model: Any) -> Any:
    """The model as core.network serves it, one Keras layer per NumPy layer: a model that
    reshapes 784 pixels into the (28, 28, 1) image first (the training recipe's CNN) as one
    that takes the image: the same layers, rebuilt from their configs, with the same weights."""
    first, *rest = keras_model.layers
    if type(first).__name__ != "Reshape":
        return keras_model
    copies = [type(layer).from_config(layer.get_config()) for layer in rest]
    image = keras.Input(shape=tuple(first.output.shape[1:]), name="image_input")
    model = keras.Sequential([image, *copies], name=f"{keras_model.name}_image")
    for copy, layer in zip(copies, rest, strict=True):
        copy.set_weights(layer.get_weights())
    return model


def _with_random_biases(model: Any, seed: int) -> Any:
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if layer.get_weights():
            kernel, bias = layer.get_weights()
            layer.set_weights([kernel, rng.normal(0.0, 1.0, size=bias.shape).astype(np.float32)])
    return model


# Convolutional architectures that between them try every corner of core.network's layers:
# "same" padding split unevenly (stride 2, even kernels), "valid" windows that leave rows over,
# rectangular kernels and strides, overlapping and padded pooling, pooling on the raw image
# (where many inputs tie for a window's largest), and each activation.
CONV_ARCHITECTURES = [
    # the shape of the shipped CNN, smaller
    "conv4-3x3-same-s1-relu pool2x2-s2-valid conv6-3x3-same-s1-relu pool2x2-s2-valid "
    "flatten dense12-relu dense10-softmax",
    "conv3-5x5-valid-s2-tanh flatten dense1-sigmoid",
    "conv3-3x3-same-s2-sigmoid conv5-2x2-same-s1-relu pool3x3-s2-same flatten dense8-relu "
    "dense3-softmax",
    "pool2x2-s2-valid conv4-3x2-valid-s2x1-linear flatten dense4-softmax",
    "conv5-4x4-same-s3-relu pool2x2-s1-valid flatten dense10-softmax",
    "conv2-1x1-valid-s1-relu conv3-3x3-valid-s1-tanh pool2x3-s2x3-valid flatten dense2-softmax",
    # the training recipe's CNN (core/recipe.py, conv_layers): 784 pixels reshaped first
    "reshape conv3-3x3-same-s1-relu pool2x2-s2-valid conv4-3x3-same-s1-relu pool2x2-s2-valid "
    "flatten dense8-relu dense10-softmax",
]




def unlike_the_shipped_cnn(architecture: str) -> bool:
    """Whether an architecture tries what the shipped CNN's shape does not: `make test-fast`
    checks these (the shipped CNN itself stands for the others), `make test` all of them."""
    return architecture not in (CONV_ARCHITECTURES[0], CONV_ARCHITECTURES[-1])


def conv_architecture_id(architecture: str) -> str:
    return architecture.replace(" ", "_")
