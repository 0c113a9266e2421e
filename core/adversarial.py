"""Fooling a network: projected gradient descent on the input, with the network's own backward
pass (core/network.py).

The input gradient ∂L/∂x says which pixels would lower the loss of a chosen target class. A
targeted attack follows it, one small signed step at a time, and after each step projects the
image back into the allowed set: no pixel further than ε from the drawing, none outside [0, 1]
(Madry et al., "Towards Deep Learning Models Resistant to Adversarial Attacks", ICLR 2018):

    x₀ = the drawing
    x_{k+1} = clip( x_k − α · sign(∂L(x_k, target)/∂x),  x₀ − ε … x₀ + ε,  0 … 1 )

with α = min(ε, 2.5 · ε / steps), so that the steps together can cross the whole ε-box and back
(one step is FGSM: Goodfellow, Shlens & Szegedy, "Explaining and Harnessing Adversarial
Examples", ICLR 2015). It starts at the drawing itself, not at a random point of the box: the
same drawing and settings always give the same trace.

``fool`` adds one second start, deterministic too, where the first falls short: the target's
dream (what the target class wants to see, core/dream.py) moved into the ε-box. The loss over
the box is not convex: from the drawing, the sign steps can settle on a ridge where the target
stays just out of reach while another part of the box, nearer what the target looks like to
the network, says it. (On the first ten MNIST test digits of each kind and the ten-digit
model at ε 0.25, asked for the next digit, this reaches two digits more.)

Why so few, so small changes suffice: the network is close to linear in its input, so a change
δ moves a unit's z by about w · δ; with δ = ε · sign(w) that is ε · Σ|w|, and over 784 pixels the
many small changes add up along the weights.

Works on one example (784,) or a batch (n, 784), for any network ``forward`` and ``backward``
run (dense or convolutional).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from core.dream import dream_class
from core.network import Layer, backward, class_probabilities, forward

MAX_STEPS = 100  # bounded work per request
MAX_EPSILON = 1.0
BOX_CROSSINGS = 2.5  # how many times the steps together could cross the ε-box


def step_size(epsilon: float, steps: int) -> float:
    """α: large enough that the steps can cross the ε-box BOX_CROSSINGS times; never more
    than ε."""
    return min(epsilon, BOX_CROSSINGS * epsilon / steps)


@dataclass(frozen=True)
class Attack:
    """What the attack did: the changed image and, after every step, the class probabilities."""

    image: np.ndarray  # the changed input, in the shape the drawing was given
    probabilities: np.ndarray  # after the last step: (classes,) or (n, classes)
    trace: list[np.ndarray]  # per step, the probabilities after it
    trace_images: list[np.ndarray]  # per step, the image after it
    start: str = "drawing"  # where the steps began: "drawing", or "target_dream" (see fool)


def epsilon_box(x0: np.ndarray, epsilon: float) -> tuple[np.ndarray, np.ndarray]:
    """The float32 bounds of the pixels: in [0, 1] and within ε of ``x0`` exactly, as a client
    subtracting the answer's numbers finds (rounded to float32, x0 − ε may lie an ulp further
    away: such a bound is moved in, an ulp at a time)."""
    exact = x0.astype(np.float64)
    low = np.clip(exact - epsilon, 0.0, 1.0).astype(np.float32)
    high = np.clip(exact + epsilon, 0.0, 1.0).astype(np.float32)
    for _ in range(4):  # float32 rounding is off by half an ulp: one move is enough, four sure
        low = np.where(exact - low > epsilon, np.nextafter(low, np.float32(1.0)), low)
        high = np.where(high - exact > epsilon, np.nextafter(high, np.float32(0.0)), high)
    return low, high


def projected_gradient_descent(
    layers: tuple[Layer, ...],
    drawing: np.ndarray,
    target_index: int,
    n_classes: int,
    epsilon: float,
    steps: int,
    start: np.ndarray | None = None,
) -> Attack:
    """Lower the cross-entropy of class ``target_index`` for ``drawing`` (pixels in [0, 1],
    one example or a batch) by ``steps`` signed gradient steps inside the ε-box; from the
    drawing itself, or from ``start`` (a random point of the box, for a stronger attack made of
    several starts)."""
    if not 0.0 < epsilon <= MAX_EPSILON:
        raise ValueError(f"epsilon must be in (0, {MAX_EPSILON:g}], not {epsilon!r}")
    if not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be 1 to {MAX_STEPS}, not {steps!r}")
    x0 = np.asarray(drawing, dtype=np.float32)
    low, high = epsilon_box(x0, epsilon)
    alpha = np.float32(step_size(epsilon, steps))
    x = x0 if start is None else np.clip(np.asarray(start, dtype=np.float32), low, high)
    results = forward(layers, x)
    trace, trace_images = [], []
    for _ in range(steps):
        gradient = backward(layers, x, results, target_index).input_gradient
        x = np.clip(x - alpha * np.sign(gradient).astype(np.float32), low, high)
        results = forward(layers, x)  # the trace's step, and the next step's forward pass
        trace.append(class_probabilities(results[-1].a, n_classes))
        trace_images.append(x)
    return Attack(image=x, probabilities=trace[-1], trace=trace, trace_images=trace_images)


def fool(
    layers: tuple[Layer, ...],
    drawing: np.ndarray,
    target_index: int,
    n_classes: int,
    epsilon: float,
    steps: int,
) -> Attack:
    """Projected gradient descent on one drawing (784,) from the drawing; if the network does
    not say the target after it, again from the target's dream moved into the ε-box, and that
    attack where it says the target. At most two runs of ``steps`` and one dream."""
    first = projected_gradient_descent(layers, drawing, target_index, n_classes, epsilon, steps)
    if int(np.argmax(first.probabilities)) == target_index:
        return first
    start = dream_class(layers, target_index)
    second = projected_gradient_descent(
        layers, drawing, target_index, n_classes, epsilon, steps, start=start
    )
    if int(np.argmax(second.probabilities)) != target_index:
        return first
    return replace(second, start="target_dream")
