"""What a unit wants to see: activation maximisation with the network's own backward pass
(core/network.py), the Distill "Feature Visualization" idea (Olah, Mordvintsev & Schubert, 2017)
on a 28×28 input.

From a plain grey field, gradient ascent on one unit's pre-activation z (a class's logit, for the
output layer), with a small L2 penalty that pulls every pixel back towards MNIST's black
background and a blur every few steps, so that the picture stays readable rather than a field of
high-frequency noise that the unit happens to like:

    x₀ = 0.5 everywhere
    x_{k+1} = clip( x_k + η · ( ∂z/∂x / max|∂z/∂x|  −  λ · x_k ),  0 … 1 )
    every BLUR_EVERY steps (but the last few): x ← x blurred by a 3×3 binomial kernel

The gradient is scaled by its largest entry, so η is a pixel's largest change per step whatever
the unit's scale. z, not a = g(z): g is increasing, so the image that raises z raises a, and a
saturated sigmoid (a = 1 in float32) or a dead ReLU (a = 0) would stop a's gradient where z's
goes on. Deterministic: no random start.

Any layer of any network ``forward`` runs (dense, convolutional, pooling): a unit is one value of
the layer's output, flattened row by row as /predict lists them. Several units at once make a
batch, one image per unit. Two things differ for a cell of a feature map:

- A pooling cell has no z of its own: it is the largest a = g(z) of its window in the layer
  below. The same reasoning applies one layer down: the ascent raises the z of the window's
  cell whose z is highest now (chosen again every step), which raises its a and so the pool's
  value; from grey, where a ReLU window can be all 0, the pool's own gradient is 0 and nothing
  would move.
- No blur: a cell sees a small window of pixels (3×3 for a first convolution), and a blur
  smears exactly the pattern it wants; the blur keeps whole-image dreams readable, those of
  units at or after a dense layer, which see every pixel.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.network import DenseLayer, Layer, LayerResult, MaxPoolLayer, backward_from_delta, forward

MAX_STEPS = 100  # bounded work per request
DEFAULT_STEPS = 50
GREY = 0.5
# η and λ: with η 0.1 and λ 0.2, the 16/32/64 CNN's class dreams fell short of what 1–11% of
# MNIST's test digits of that class drive its logit to; with these, every shipped model's class
# dreams beat at least 99.8% of them (tests/api/test_dream.py), and read much the same.
STEP = 0.15  # η: a pixel's largest change per step
L2_PENALTY = 0.1  # λ: the background darkens, the strokes the unit wants stay
BLUR_EVERY = 4
UNBLURRED_LAST_STEPS = 4  # the last steps sharpen what the blur softened
_BINOMIAL = np.array([0.25, 0.5, 0.25], dtype=np.float32)


def blur(x: np.ndarray) -> np.ndarray:
    """A 3×3 binomial blur of 28×28 images (…, 784), edges repeated."""
    images = x.reshape(-1, 28, 28)
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1)), mode="edge")
    rows = sum(w * padded[:, i : i + 28, :] for i, w in enumerate(_BINOMIAL))
    blurred = sum(w * rows[:, :, j : j + 28] for j, w in enumerate(_BINOMIAL))
    return blurred.reshape(x.shape).astype(np.float32)


def unit_delta(layer: Layer, units: Sequence[int], signs: Sequence[float]) -> np.ndarray:
    """∂f/∂z of the layer for f = sign · z[unit], one row per unit: (n, *output_shape)."""
    size = int(np.prod(layer.output_shape))
    delta = np.zeros((len(units), size), dtype=np.float32)
    delta[np.arange(len(units)), list(units)] = signs
    return delta.reshape(len(units), *layer.output_shape)


def dream(
    layers: tuple[Layer, ...],
    layer_index: int,
    units: Sequence[int],
    steps: int = DEFAULT_STEPS,
    signs: Sequence[float] | None = None,
) -> np.ndarray:
    """One image (784,) per unit of layer ``layer_index``, (n, 784): the grey field after
    ``steps`` of ascent on that unit's z (times its sign: −1 makes a one-unit sigmoid output's
    z fall, which is how class 0 of such a model is dreamt)."""
    if not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be 1 to {MAX_STEPS}, not {steps!r}")
    layer = layers[layer_index]
    size = int(np.prod(layer.output_shape))
    if not units or not all(0 <= unit < size for unit in units):
        raise ValueError(f"layer {layer.name!r} has units 0 to {size - 1}, not {list(units)!r}")
    signs = [1.0] * len(units) if signs is None else signs
    pooled = isinstance(layer, MaxPoolLayer) and layers[layer_index - 1].activation is not None
    raised = layer_index - 1 if pooled else layer_index  # the layer whose z the ascent raises
    delta = unit_delta(layer, units, signs)
    net = layers[: layer_index + 1]
    blurred = any(isinstance(below, DenseLayer) for below in net)
    x = np.full((len(units), 784), GREY, dtype=np.float32)
    for step in range(steps):
        results = forward(net, x)
        if pooled:
            delta = window_winners(layer, units, signs, results[raised])
        gradient = backward_from_delta(net, x, results, raised, delta).input_gradient
        largest = np.abs(gradient).max(axis=1, keepdims=True)
        ascent = np.divide(gradient, largest, out=np.zeros_like(gradient), where=largest > 0)
        x = np.clip(x + np.float32(STEP) * (ascent - np.float32(L2_PENALTY) * x), 0.0, 1.0)
        if blurred and (step + 1) % BLUR_EVERY == 0 and step < steps - UNBLURRED_LAST_STEPS:
            x = blur(x)
    return x


def window_winners(
    pool: MaxPoolLayer, units: Sequence[int], signs: Sequence[float], below: LayerResult
) -> np.ndarray:
    """∂f/∂z of the layer below a pooling layer, f = sign · the highest z in each unit's window
    (image k's unit units[k]): sign at that cell, 0 elsewhere, (n, h, w, channels)."""
    windows = pool.windows
    (top, _), (left, _) = windows.pads
    height, width, _ = pool.input_shape
    delta = np.zeros(below.z.shape, dtype=np.float32)
    for k, (unit, sign) in enumerate(zip(units, signs, strict=True)):
        row, column, channel = np.unravel_index(unit, pool.output_shape)
        cells = [
            (i, j)
            for di, dj in windows.offsets()
            if 0 <= (i := row * windows.strides[0] + di - top) < height
            and 0 <= (j := column * windows.strides[1] + dj - left) < width
        ]
        i, j = max(cells, key=lambda cell: below.z[k, cell[0], cell[1], channel])
        delta[k, i, j, channel] = sign
    return delta


def class_objective(layers: tuple[Layer, ...], class_index: int) -> tuple[int, int, float]:
    """(layer index, unit, sign) whose ascent dreams class ``class_index``: its logit, the
    output's z; for one sigmoid output unit (p of the second class), that unit's z raised for
    the second class and lowered for the first."""
    output = layers[-1]
    if isinstance(output, DenseLayer) and output.units == 1:
        return len(layers) - 1, 0, 1.0 if class_index == 1 else -1.0
    return len(layers) - 1, class_index, 1.0


def dream_class(
    layers: tuple[Layer, ...], class_index: int, steps: int = DEFAULT_STEPS
) -> np.ndarray:
    """What class ``class_index`` wants to see: one image (784,)."""
    layer_index, unit, sign = class_objective(layers, class_index)
    return dream(layers, layer_index, [unit], steps, [sign])[0]
