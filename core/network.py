"""The network's forward pass and, beside it, its backward pass, in plain NumPy, from the
weights of the loaded Keras model.

A network is a tuple of layers. Each layer knows its kind, the shape of one example it takes
and the shape it gives (a batch adds a leading axis, as in Keras), and computes exactly what
Keras computes:

    dense     z = a_prev · W + b,  a = g(z)                            (units,)
              a_prev a row vector (1 × inputs), W stored as inputs × units, b (units,)
    conv2d    z[i, j, f] = Σ_{di, dj, c} a_prev[i·s + di, j·s + dj, c] · K[di, dj, c, f] + b[f]
              a = g(z): one small dense layer slid over the image       (h, w, filters)
    max_pool  a[i, j, c] = the largest a_prev[i·s + di, j·s + dj, c] in the window (h, w, c)
    flatten   a = a_prev read row by row, (h, w, c) → (h·w·c,), as Keras's Flatten

The server answers with this rather than ``model.predict`` (which costs ~50 ms a call):
the whole pass over these small networks takes well under a millisecond, and it yields every
layer's z and a, which is what the page shows. Tests check it against Keras, number for number.

Backward, for one example and the class it should have been (the chain rule, output first):
    δ_out   = a_out − y                       (cross-entropy from the output's z: ``cross_entropy``)
    ∂L/∂a_{l−1} = what layer l passes back:   (per kind, beside its forward pass below)
        dense     δ_l · W_lᵀ
        conv2d    every window gets K · δ[i, j] back on the pixels it covered, summed
        max_pool  each window's δ goes to the input that won it; the others get 0
        flatten   δ read back into (h, w, c)
    δ_{l−1} = ∂L/∂a_{l−1} ⊙ g′(z_{l−1})        (pooling and flatten have no g: δ = ∂L/∂a)
    ∂L/∂x   = what the first layer passes back (which pixels would raise or lower the loss)
    ∂L/∂W_l = a_{l−1}ᵀ · δ_l (conv2d: summed over the windows),  ∂L/∂b_l = δ_l (summed likewise)
The same chain runs from any other starting point: ∂f/∂a of any layer for any f, such as one
unit's activation (``backward_from_output``), or ∂f/∂z, such as one class's logit
(``backward_from_delta``). Tests check every δ, ∂L/∂W, ∂L/∂x and the loss after one step
against ``tf.GradientTape``.

Over 300 lines because every kind of layer keeps its forward and its backward pass side by side,
where a learner compares them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any, ClassVar

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
class LayerResult:
    """What one layer did: its pre-activations z and activations a = g(z). Pooling and flatten
    apply no g: their z is their a."""

    z: np.ndarray
    a: np.ndarray


def _rows(values: np.ndarray) -> np.ndarray:
    """Every position of every example as one row of channels (…, c) → (positions, c): the
    sums over examples and positions in the weight gradients are then one matrix product."""
    return values.reshape(-1, values.shape[-1])


# --- dense ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DenseLayer:
    name: str
    activation: str
    weights: np.ndarray  # (inputs, units), as Keras stores its kernel
    biases: np.ndarray  # (units,)
    kind: ClassVar[str] = "dense"

    @property
    def units(self) -> int:
        return int(self.biases.shape[0])

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (int(self.weights.shape[0]),)

    @property
    def output_shape(self) -> tuple[int, ...]:
        return (self.units,)

    def forward(self, a_prev: np.ndarray) -> LayerResult:
        z = a_prev @ self.weights + self.biases
        return LayerResult(z=z, a=ACTIVATIONS[self.activation](z))

    def backward(self, a_prev: np.ndarray, delta: np.ndarray) -> np.ndarray:
        """∂L/∂a_prev = δ · Wᵀ: each input gets back every unit's δ, weighted as it was sent."""
        return delta @ self.weights.T

    def parameter_gradients(
        self, a_prev: np.ndarray, delta: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """∂L/∂W = a_prevᵀ · δ: (inputs × 1)·(1 × units) for one example, summed over a
        batch; ∂L/∂b = δ."""
        return _rows(a_prev).T @ _rows(delta), _rows(delta).sum(axis=0)


# --- where a window goes: shared by convolution and pooling ------------------------------------


def _same_padding(size: int, window: int, stride: int) -> tuple[int, int]:
    """Keras's (TensorFlow's) "same": ceil(size / stride) windows, and just enough zeros for
    them, split evenly, the odd one after (at the bottom or the right)."""
    total = max((math.ceil(size / stride) - 1) * stride + window - size, 0)
    return total // 2, total - total // 2


@dataclass(frozen=True)
class Windows:
    """Where a kernel or a pooling window goes over an (h, w, channels) input: window (i, j)
    covers rows i·s_h … i·s_h + k_h − 1 and columns j·s_w … j·s_w + k_w − 1 of the input,
    padded as Keras pads it ("valid": not at all; "same": enough for ceil(h / s_h) rows of
    windows and ceil(w / s_w) columns)."""

    size: tuple[int, int]  # (k_h, k_w)
    strides: tuple[int, int]  # (s_h, s_w)
    padding: str  # "valid" or "same"
    input_hw: tuple[int, int]

    @property
    def pads(self) -> tuple[tuple[int, int], tuple[int, int]]:
        """(top, bottom), (left, right)."""
        if self.padding == "valid":
            return (0, 0), (0, 0)
        return (
            _same_padding(self.input_hw[0], self.size[0], self.strides[0]),
            _same_padding(self.input_hw[1], self.size[1], self.strides[1]),
        )

    @property
    def output_hw(self) -> tuple[int, int]:
        (top, bottom), (left, right) = self.pads
        return (
            (self.input_hw[0] + top + bottom - self.size[0]) // self.strides[0] + 1,
            (self.input_hw[1] + left + right - self.size[1]) // self.strides[1] + 1,
        )

    def offsets(self) -> Iterator[tuple[int, int]]:
        """Every (di, dj) inside a window, row by row (the order in which pooling breaks ties)."""
        return np.ndindex(*self.size)

    def pad(self, a: np.ndarray, fill: float) -> np.ndarray:
        (top, bottom), (left, right) = self.pads
        if top == bottom == left == right == 0:
            return a
        widths = [(0, 0)] * (a.ndim - 3) + [(top, bottom), (left, right), (0, 0)]
        return np.pad(a, widths, constant_values=fill)

    def unpad(self, padded: np.ndarray) -> np.ndarray:
        (top, _), (left, _) = self.pads
        h, w = self.input_hw
        return padded[..., top : top + h, left : left + w, :]

    def at_offset(self, padded: np.ndarray, di: int, dj: int) -> np.ndarray:
        """The pixel at (di, dj) of every window at once, (…, out_h, out_w, channels): a strided
        view of the padded input, no copy."""
        (out_h, out_w), (s_h, s_w) = self.output_hw, self.strides
        rows = slice(di, di + s_h * (out_h - 1) + 1, s_h)
        columns = slice(dj, dj + s_w * (out_w - 1) + 1, s_w)
        return padded[..., rows, columns, :]


# --- convolution ------------------------------------------------------------------------------
# Written as sliding windows, one kernel position (di, dj) at a time: the (di, dj) pixel of every
# window is one strided view of the input, and K[di, dj] (channels_in × filters) multiplies all of
# them in one matrix product. Nine products for a 3×3 kernel, and no copy of the windows: im2col
# (one row per window, then one product) copies every pixel once per kernel position, and for
# the second layer over a batch of 5,000 digits 31 MB of maps would become 282 MB of windows.
# The backward pass is the same loop with the arrows reversed.


@dataclass(frozen=True)
class Conv2DLayer:
    name: str
    activation: str
    weights: np.ndarray  # the kernel K, (k_h, k_w, channels_in, filters), as Keras stores it
    biases: np.ndarray  # (filters,)
    strides: tuple[int, int]
    padding: str  # "valid" or "same"
    input_shape: tuple[int, ...]  # (h, w, channels_in)
    kind: ClassVar[str] = "conv2d"

    @property
    def filters(self) -> int:
        return int(self.biases.shape[0])

    @property
    def windows(self) -> Windows:
        size = (int(self.weights.shape[0]), int(self.weights.shape[1]))
        return Windows(size, self.strides, self.padding, self.input_shape[:2])

    @property
    def output_shape(self) -> tuple[int, ...]:
        return (*self.windows.output_hw, self.filters)

    def forward(self, a_prev: np.ndarray) -> LayerResult:
        windows = self.windows
        padded = windows.pad(a_prev, 0.0)
        z = np.zeros((*a_prev.shape[:-3], *self.output_shape), dtype=self.weights.dtype)
        for di, dj in windows.offsets():
            z += windows.at_offset(padded, di, dj) @ self.weights[di, dj]
        z += self.biases
        return LayerResult(z=z, a=ACTIVATIONS[self.activation](z))

    def backward(self, a_prev: np.ndarray, delta: np.ndarray) -> np.ndarray:
        """∂L/∂a_prev: each window's pixel at (di, dj) gets δ · K[di, dj]ᵀ back; a pixel that
        several windows covered sums what each gives back."""
        windows = self.windows
        upstream = np.zeros_like(windows.pad(a_prev, 0.0))
        for di, dj in windows.offsets():
            windows.at_offset(upstream, di, dj)[...] += delta @ self.weights[di, dj].T
        return windows.unpad(upstream)

    def parameter_gradients(
        self, a_prev: np.ndarray, delta: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """∂L/∂K[di, dj] = Σ over windows of (their pixel at (di, dj))ᵀ · δ: the dense layer's
        a_prevᵀ · δ, once per kernel position, summed over every place the kernel was used;
        ∂L/∂b = δ summed likewise."""
        windows = self.windows
        padded = windows.pad(a_prev, 0.0)
        kernel_gradient = np.empty_like(self.weights)
        for di, dj in windows.offsets():
            kernel_gradient[di, dj] = _rows(windows.at_offset(padded, di, dj)).T @ _rows(delta)
        return kernel_gradient, _rows(delta).sum(axis=0)


# --- max pooling ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MaxPoolLayer:
    name: str
    pool_size: tuple[int, int]
    strides: tuple[int, int]
    padding: str  # "valid" or "same" (padded with −∞, so padding never wins)
    input_shape: tuple[int, ...]  # (h, w, channels)
    kind: ClassVar[str] = "max_pool"
    activation: ClassVar[None] = None

    @property
    def windows(self) -> Windows:
        return Windows(self.pool_size, self.strides, self.padding, self.input_shape[:2])

    @property
    def output_shape(self) -> tuple[int, ...]:
        return (*self.windows.output_hw, self.input_shape[2])

    def forward(self, a_prev: np.ndarray) -> LayerResult:
        windows = self.windows
        padded = windows.pad(a_prev, -np.inf)
        a = np.maximum.reduce([windows.at_offset(padded, di, dj) for di, dj in windows.offsets()])
        return LayerResult(z=a, a=a)

    def backward(self, a_prev: np.ndarray, delta: np.ndarray) -> np.ndarray:
        """Only the winner of a window moved the output, so only it gets the window's δ. When
        several inputs tie for the largest, the first, row by row, takes it, as in TensorFlow."""
        windows = self.windows
        padded = windows.pad(a_prev, -np.inf)
        a = self.forward(a_prev).a
        upstream = np.zeros_like(padded)
        taken = np.zeros(a.shape, dtype=bool)
        for di, dj in windows.offsets():
            wins = (windows.at_offset(padded, di, dj) == a) & ~taken
            windows.at_offset(upstream, di, dj)[...] += np.where(wins, delta, 0.0)
            taken |= wins
        return windows.unpad(upstream)


# --- flatten ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FlattenLayer:
    name: str
    input_shape: tuple[int, ...]  # (h, w, channels)
    kind: ClassVar[str] = "flatten"
    activation: ClassVar[None] = None

    @property
    def output_shape(self) -> tuple[int, ...]:
        return (math.prod(self.input_shape),)

    def forward(self, a_prev: np.ndarray) -> LayerResult:
        a = a_prev.reshape(*a_prev.shape[: -len(self.input_shape)], -1)
        return LayerResult(z=a, a=a)

    def backward(self, a_prev: np.ndarray, delta: np.ndarray) -> np.ndarray:
        return delta.reshape(a_prev.shape)


Layer = DenseLayer | Conv2DLayer | MaxPoolLayer | FlattenLayer
WeightedLayer = DenseLayer | Conv2DLayer  # the layers that learn: weights and biases


# --- the whole network ------------------------------------------------------------------------


def as_network_input(layers: tuple[Layer, ...], x: np.ndarray) -> np.ndarray:
    """``x`` as the first layer takes it: flat pixels, one example (784,) or a batch (n, 784),
    become (28, 28, 1) or (n, 28, 28, 1), read row by row, for a network that starts with a
    convolution; an input already in the first layer's shape is left as it is."""
    shape = layers[0].input_shape
    if x.shape[-len(shape) :] == shape:
        return x
    return x.reshape(*x.shape[:-1], *shape)


def forward(layers: tuple[Layer, ...], x: np.ndarray) -> list[LayerResult]:
    """Run ``x`` (one example or a batch, see ``as_network_input``) through the layers; one
    result per layer, output last."""
    results = []
    a = as_network_input(layers, x)
    for layer in layers:
        result = layer.forward(a)
        results.append(result)
        a = result.a
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
    activation: str | None, z: np.ndarray, a: np.ndarray, upstream: np.ndarray
) -> np.ndarray:
    """δ = ∂L/∂z from ∂L/∂a. Element-wise g: ∂L/∂a ⊙ g′(z). Softmax mixes its units:
    ∂a_i/∂z_j = a_i(1[i=j] − a_j), so δ = a ⊙ (∂L/∂a − ∂L/∂a · a). No g (pooling,
    flatten): δ = ∂L/∂a."""
    if activation is None:
        return upstream
    if activation == "softmax":
        return a * (upstream - np.sum(upstream * a, axis=-1, keepdims=True))
    return upstream * activation_slope(activation, z, a)


def one_hot(index: int, units: int, what: str) -> np.ndarray:
    """1 at ``index`` of ``units``, 0 elsewhere (float32); a ValueError naming ``what`` (the
    target index, a class index) when no unit has that index."""
    if not 0 <= index < units:
        raise ValueError(f"{what} {index} is not one of {units} classes")
    vector = np.zeros(units, dtype=np.float32)
    vector[index] = 1.0
    return vector


def target_vector(output_layer: Layer, target_index: int) -> np.ndarray:
    """y: one-hot over a softmax's units; for a one-unit sigmoid, y = 1 for the second class."""
    if not isinstance(output_layer, DenseLayer):
        raise ValueError(f"no cross-entropy for a {output_layer.kind} output; it must be dense")
    units = output_layer.units
    if output_layer.activation == "sigmoid" and units == 1:
        if target_index not in (0, 1):
            raise ValueError(f"target index {target_index} is not a class of a 2-class output")
        return np.array([float(target_index)], dtype=np.float32)
    if output_layer.activation == "softmax":
        return one_hot(target_index, units, "target index")
    raise ValueError(
        f"no cross-entropy for a {units}-unit {output_layer.activation} output; "
        f"the output must be one sigmoid unit or a softmax"
    )


def cross_entropy(output_layer: Layer, z: np.ndarray, y: np.ndarray) -> float:
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
    """The backward pass for one example (or a batch) and one number f computed from it (the
    loss, a class's logit, a unit's activation): ∂f/∂(everything below f)."""

    layers: tuple[Layer, ...]  # the layers it ran back through, up to the one f starts at
    deltas: list[np.ndarray]  # δ = ∂f/∂z per layer, the layer f starts at last
    input_gradient: np.ndarray  # ∂f/∂x, in the shape x was given
    layer_inputs: list[np.ndarray]  # a_prev per layer, as the layer takes it: x for the first
    loss: float | None = None  # f's value when f is the loss (``backward``)

    def weight_gradient(self, index: int) -> np.ndarray:
        """∂f/∂W (∂f/∂K for a conv2d layer), from numbers the answer already holds."""
        return self.parameter_gradients(index)[0]

    def parameter_gradients(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(∂f/∂W, ∂f/∂b) of layer ``index``."""
        layer = self.layers[index]
        if isinstance(layer, MaxPoolLayer | FlattenLayer):
            raise ValueError(f"layer {layer.name!r} ({layer.kind}) has no weights")
        return layer.parameter_gradients(self.layer_inputs[index], self.deltas[index])


def backward_from_delta(
    layers: tuple[Layer, ...],
    x: np.ndarray,
    results: list[LayerResult],
    index: int,
    delta: np.ndarray,
) -> Gradients:
    """The chain rule from δ = ∂f/∂z of layer ``index`` back to the input ``x``, whose
    ``forward`` results are given (one-hot δ at the output layer: f is that class's logit)."""
    layer_inputs = [as_network_input(layers, x), *(result.a for result in results[:index])]
    deltas = [delta]
    for below in range(index, 0, -1):
        upstream = layers[below].backward(layer_inputs[below], delta)  # ∂f/∂a of the layer below
        result = results[below - 1]
        delta = back_through_activation(layers[below - 1].activation, result.z, result.a, upstream)
        deltas.append(delta)
    deltas.reverse()
    input_gradient = layers[0].backward(layer_inputs[0], deltas[0])
    return Gradients(
        layers=layers[: index + 1],
        deltas=deltas,
        input_gradient=input_gradient.reshape(x.shape),
        layer_inputs=layer_inputs,
    )


def backward_from_output(
    layers: tuple[Layer, ...],
    x: np.ndarray,
    results: list[LayerResult],
    index: int,
    d_output: np.ndarray,
) -> Gradients:
    """The chain rule from ∂f/∂a of layer ``index`` (its output, in its output shape) back to
    the input: a one-hot ``d_output`` makes f that one unit's activation."""
    result = results[index]
    delta = back_through_activation(layers[index].activation, result.z, result.a, d_output)
    return backward_from_delta(layers, x, results, index, delta)


def logit_delta(output_layer: Layer, class_index: int) -> np.ndarray:
    """∂f/∂z_out for f = the logit of class ``class_index``: one-hot over a softmax's units. A
    one-unit sigmoid's z is the logit of the second class ("1"), and the first class's logit is
    taken as −z, so that for either answer a larger f means "more of this class"."""
    if isinstance(output_layer, DenseLayer) and output_layer.units == 1:
        if class_index not in (0, 1):
            raise ValueError(f"class index {class_index} is not a class of a 2-class output")
        return np.array([1.0 if class_index == 1 else -1.0], dtype=np.float32)
    return one_hot(class_index, math.prod(output_layer.output_shape), "class index")


def saliency(
    layers: tuple[Layer, ...], x: np.ndarray, results: list[LayerResult], class_index: int
) -> np.ndarray:
    """Gradient × input of the class's logit (``logit_delta``), in the shape x was given: each
    pixel's ∂logit/∂x times its ink. Positive where the ink pushed towards the class, negative
    where it pushed away, 0 where there is no ink (the first-order share of each pixel in the
    logit, for a network that is close to linear near x)."""
    delta = logit_delta(layers[-1], class_index)
    gradients = backward_from_delta(layers, x, results, len(layers) - 1, delta)
    return gradients.input_gradient * x


def backward(
    layers: tuple[Layer, ...],
    x: np.ndarray,
    results: list[LayerResult],
    target_index: int,
) -> Gradients:
    """The chain rule from the loss back to the input, for one example ``x`` whose ``forward``
    results are given and whose class should be ``target_index``."""
    output = layers[-1]
    y = target_vector(output, target_index)
    # Sigmoid + binary or softmax + categorical cross-entropy: ∂L/∂z_out simplifies to a − y.
    delta = (results[-1].a - y).astype(np.float32)
    gradients = backward_from_delta(layers, x, results, len(layers) - 1, delta)
    return replace(gradients, loss=cross_entropy(output, results[-1].z, y))


def gradient_step(
    layers: tuple[Layer, ...], gradients: Gradients, learning_rate: float
) -> tuple[Layer, ...]:
    """One plain gradient-descent step, W ← W − η·∂L/∂W and b ← b − η·∂L/∂b, on new arrays:
    the layers given are never changed (pooling and flatten have nothing to learn)."""
    eta = np.float32(learning_rate)
    stepped: list[Layer] = []
    for index, layer in enumerate(layers):
        if isinstance(layer, MaxPoolLayer | FlattenLayer):
            stepped.append(layer)
            continue
        weight_gradient, bias_gradient = gradients.parameter_gradients(index)
        stepped.append(
            replace(
                layer,
                weights=layer.weights - eta * weight_gradient,
                biases=layer.biases - eta * bias_gradient,
            )
        )
    return tuple(stepped)


@dataclass(frozen=True)
class AfterStep:
    """The same example through the network after one step: did the loss fall?"""

    learning_rate: float
    loss: float
    output: np.ndarray  # the output layer's activations after the step


def after_one_step(
    layers: tuple[Layer, ...],
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


# --- from Keras -------------------------------------------------------------------------------


class UnservableModelError(ValueError):
    """A Keras model this NumPy network cannot reproduce (a layer of another kind, say)."""


SERVABLE_KINDS = ("Dense", "Conv2D", "MaxPooling2D", "Flatten")  # and a leading image Reshape


def layers_from_keras(keras_model: Any) -> tuple[Layer, ...]:
    """The Keras model's layers as NumPy weights for ``forward``; every layer's output shape is
    checked against the one Keras gives it."""
    shape = tuple(int(size) for size in keras_model.inputs[0].shape[1:])
    keras_layers = list(keras_model.layers)
    if keras_layers and _is_image_reshape(keras_layers[0], shape):
        # 784 pixels into the (28, 28, 1) image, row by row: what ``as_network_input`` does.
        shape = tuple(int(size) for size in keras_layers.pop(0).output.shape[1:])
    layers: list[Layer] = []
    for keras_layer in keras_layers:
        layer = _layer_from_keras(keras_layer, shape)
        keras_shape = tuple(keras_layer.output.shape[1:])
        if layer.output_shape != keras_shape:
            raise UnservableModelError(
                f"layer {keras_layer.name!r} gives {keras_shape}, not the {layer.output_shape} "
                f"its NumPy twin computes (a dense layer needs a flat input: flatten first)"
            )
        layers.append(layer)
        shape = layer.output_shape
    if not layers:
        raise UnservableModelError("the model has no layers")
    return tuple(layers)


def _is_image_reshape(keras_layer: Any, input_shape: tuple[int, ...]) -> bool:
    """A Reshape of flat pixels into an (h, w, 1) image, which leaves their order as it is."""
    if type(keras_layer).__name__ != "Reshape" or len(input_shape) != 1:
        return False
    target = tuple(int(size) for size in keras_layer.output.shape[1:])
    return len(target) == 3 and target[2] == 1 and target[0] * target[1] == input_shape[0]


def _layer_from_keras(keras_layer: Any, input_shape: tuple[int, ...]) -> Layer:
    kind = type(keras_layer).__name__
    name = keras_layer.name
    if kind not in SERVABLE_KINDS:
        raise UnservableModelError(
            f"layer {name!r} is a {kind}; only {', '.join(SERVABLE_KINDS)} layers can be served"
        )
    if getattr(keras_layer, "data_format", "channels_last") != "channels_last":
        raise UnservableModelError(f"layer {name!r} is not channels_last (h, w, channels)")
    if kind == "Flatten":
        return FlattenLayer(name, input_shape)
    if kind == "MaxPooling2D":
        return MaxPoolLayer(
            name,
            tuple(keras_layer.pool_size),
            tuple(keras_layer.strides),
            keras_layer.padding,
            input_shape,
        )
    activation = getattr(keras_layer.activation, "__name__", str(keras_layer.activation))
    if activation not in ACTIVATIONS:
        raise UnservableModelError(
            f"layer {name!r} uses activation {activation!r}; supported: {', '.join(ACTIVATIONS)}"
        )
    if not keras_layer.use_bias:
        raise UnservableModelError(f"layer {name!r} has no biases; served layers need them")
    kernel, bias = (np.asarray(w, dtype=np.float32) for w in keras_layer.get_weights())
    if kind == "Dense":
        return DenseLayer(name, activation, kernel, bias)
    if tuple(keras_layer.dilation_rate) != (1, 1) or keras_layer.groups != 1:
        raise UnservableModelError(f"layer {name!r} is dilated or grouped; served ones are not")
    return Conv2DLayer(
        name,
        activation,
        kernel,
        bias,
        tuple(keras_layer.strides),
        keras_layer.padding,
        input_shape,  # type: ignore[arg-type]
    )
