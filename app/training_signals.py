"""What a practitioner watches while a network trains, and what it means when it goes wrong.

Each `progress` message of WebSocket /train carries, per layer, the signals TensorBoard's users
watch (`layer_signals`): the size of the weights, of their gradient on the last batch and of the
last step, how many sigmoid or tanh outputs sit where the curve is flat (saturated), how many ReLU
units are off for every digit of the batch (dead), and histograms of the weights and the
activations. `Alerts` reads them, and the loss after every batch, and says in plain words what
went wrong, once per kind and layer, with a fix where one exists: settings for the next run.

The gradients come from the app's own NumPy backward pass (core/network.py, checked against
tf.GradientTape in the tests), run again on the batch just trained, at the weights it left: a
snapshot costs one forward and backward pass of one batch, not a change to Keras's training step.
Nothing here knows of sockets or threads; app/live_training.py calls it.

Over 300 lines because each alert's rule and its plain-words message sit beside the others
(`Alerts`), so the whole list is read in one place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.network import DenseLayer, activation_slope, backward_from_delta, forward
from core.recipe import QUICK_RUN

HISTOGRAM_BINS = 30
SATURATED_SLOPE = 0.01  # a sigmoid or tanh output whose slope g′(z) is below this is saturated
# A share of saturated outputs or dead units that makes an alert, while the loss has not fallen.
PROBLEM_SHARE = 0.5
STILL_WHERE_IT_STARTED = 0.8  # loss above this share of the starting loss: not learnt much yet
NOT_LEARNING_SHARE = 0.9  # loss above this share of the starting loss after NOT_LEARNING_BATCHES
NOT_LEARNING_BATCHES = 100
NOT_LEARNING_MIN_BATCHES = 20
VANISHING_RATIO = 10.0  # the first layer's kernel gradient this many times below the output's
# Vanishing is a matter of depth: with two hidden layers, the learner's 25/15 sigmoid network
# reaches ratios of 15-60 while it learns well; four sigmoid layers of 64 start at ~25, four
# ReLU layers stay within 3 (0/1, the first epoch, measured on the socket).
VANISHING_MIN_HIDDEN = 3
# A batch whose loss grows past both of these has diverged (cross-entropy from the output's z is
# unbounded: a run that diverges reaches hundreds or thousands within a few batches).
DIVERGED_FACTOR = 3.0
DIVERGED_MARGIN = 3.0
ALERT_KINDS = (
    "diverged", "not_learning", "saturated", "dead_units", "vanishing_gradient", "symmetric",
)


def dense_twins(model: Any) -> tuple[DenseLayer, ...]:
    """The Keras model's Dense layers as the app's NumPy layers (dropout layers, which only act
    while fitting, are left out)."""
    import keras

    return tuple(
        DenseLayer(
            layer.name,
            getattr(layer.activation, "__name__", str(layer.activation)),
            np.asarray(layer.kernel.numpy(), dtype=np.float32),
            np.asarray(layer.bias.numpy(), dtype=np.float32),
        )
        for layer in model.layers
        if isinstance(layer, keras.layers.Dense)
    )


def histogram(values: np.ndarray, bins: int = HISTOGRAM_BINS) -> dict[str, list[float]]:
    """`edges` (bins + 1) and `counts` (bins) of the finite values; empty lists without any."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return {"edges": [], "counts": []}
    lo, hi = float(finite.min()), float(finite.max())
    if lo == hi:  # all alike (a zero initialisation): one bin around the value
        lo, hi = lo - 0.5, hi + 0.5
    counts, edges = np.histogram(finite, bins=bins, range=(lo, hi))
    return {"edges": [_round(e) for e in edges], "counts": [int(c) for c in counts]}


def layer_signals(
    layers: tuple[DenseLayer, ...],
    x: np.ndarray,
    y: np.ndarray,
    kernels_before: list[np.ndarray] | None = None,
    l2: float = 0.0,
) -> list[dict[str, Any]]:
    """Each layer's signals on the batch (x, y): inputs (n, 784) and class indices (n,).
    `kernels_before`: the kernels before the last step (for `update_ratio`; None at the start).
    The kernel gradient is that of Keras's loss, the batch's mean cross-entropy plus the L2
    penalty l2 · Σw² of each kernel."""
    results = forward(layers, x)
    output = layers[-1]
    if output.units == 1:  # one sigmoid unit: p(second class)
        targets = y.reshape(-1, 1).astype(np.float32)
    else:
        targets = np.eye(output.units, dtype=np.float32)[y]
    # Sigmoid + binary or softmax + categorical cross-entropy: ∂L/∂z_out = (a − y) / n, the mean.
    delta = (results[-1].a - targets) / max(len(x), 1)
    with np.errstate(all="ignore"):  # a diverged network's numbers overflow; they are reported
        gradients = backward_from_delta(layers, x, results, len(layers) - 1, delta)
        signals = []
        for index, (layer, result) in enumerate(zip(layers, results, strict=True)):
            kernel = layer.weights
            gradient = gradients.weight_gradient(index) + 2.0 * l2 * kernel
            weight_norm = float(np.linalg.norm(kernel))
            update_ratio = None
            if kernels_before is not None and weight_norm > 0:
                update_ratio = float(np.linalg.norm(kernel - kernels_before[index])) / weight_norm
            hidden = index < len(layers) - 1
            signals.append({
                "name": layer.name,
                "activation": layer.activation,
                "units": layer.units,
                "weight_norm": _round(weight_norm),
                "gradient_norm": _round(float(np.linalg.norm(gradient))),
                "update_ratio": _round(update_ratio),
                "saturated": _round(saturated_share(layer, result.z, result.a)) if hidden else None,
                "dead": _round(dead_share(layer, result.a)) if hidden else None,
                "symmetric": is_symmetric(kernel) if hidden else None,
                "histograms": {"weights": histogram(kernel), "activations": histogram(result.a)},
            })
    return signals


def saturated_share(layer: DenseLayer, z: np.ndarray, a: np.ndarray) -> float | None:
    """The share of a sigmoid or tanh layer's outputs over the batch (unit by example) whose
    slope is below SATURATED_SLOPE: there, almost no gradient passes back. None for others."""
    if layer.activation not in ("sigmoid", "tanh"):
        return None
    return float(np.mean(activation_slope(layer.activation, z, a) < SATURATED_SLOPE))


def dead_share(layer: DenseLayer, a: np.ndarray) -> float | None:
    """The share of a ReLU layer's units that output 0 for every example of the batch. None for
    other activations."""
    if layer.activation != "relu":
        return None
    return float(np.mean(np.all(a <= 0, axis=0)))


def is_symmetric(kernel: np.ndarray) -> bool:
    """All units (columns) have the same weights, to float precision: a zero initialisation."""
    if kernel.shape[1] < 2:
        return False
    scale = max(float(np.max(np.abs(kernel))), 1e-12)
    return bool(np.max(np.abs(kernel - kernel[:, :1])) <= 1e-5 * scale)


@dataclass
class Alerts:
    """The alerts of one run, each kind raised once per layer, in the order they arose.

    `after_batch` watches the loss after every batch (a diverged run stops at once);
    `after_snapshot` reads a snapshot's layer signals. Both return the alerts they raised.
    The settings are the run's (by the socket's names): fixes are changes to them.
    """

    settings: dict[str, Any]
    epoch_batches: int  # batches an epoch
    raised: list[dict[str, Any]] = field(default_factory=list)
    start_loss: float | None = None
    recent: list[float] = field(default_factory=list)  # the last batches' losses
    batches_done: int = 0

    @property
    def diverged(self) -> bool:
        return any(alert["kind"] == "diverged" for alert in self.raised)

    def after_batch(self, batch_loss: float, where: dict[str, int]) -> dict[str, Any] | None:
        """The loss of the batch just trained; the `diverged` alert when it is NaN, infinite, or
        grown far past where it started."""
        self.batches_done += 1
        if math.isfinite(batch_loss) and self.start_loss is None:
            self.start_loss = batch_loss
        self.recent = [*self.recent[-9:], batch_loss]
        start = self.start_loss
        if not math.isfinite(batch_loss):
            how = f"became {'NaN' if math.isnan(batch_loss) else 'infinite'}"
        elif start is not None and batch_loss > max(DIVERGED_FACTOR * start,
                                                     start + DIVERGED_MARGIN):
            how = f"grew from {start:.3g} to {batch_loss:.3g}"
        else:
            return None
        rate = self.settings["learning_rate"]
        return self._raise(
            "diverged", None, where,
            f"The loss {how}: the run has diverged. Each step overshoots: with "
            f"{self._optimizer_name()} at learning rate {rate:g}, the steps are too big, so the "
            f"weights fly further off instead of settling. Stopped; try a learning rate ten "
            f"times smaller.",
            {"learning_rate": _tenth(rate)},
        )

    def after_snapshot(
        self, layers: list[dict[str, Any]], where: dict[str, int]
    ) -> list[dict[str, Any]]:
        """Alerts from a snapshot's signals (and the loss so far)."""
        raised = []
        hidden = layers[:-1]
        still = self._loss_still_where_it_started(STILL_WHERE_IT_STARTED)
        for layer in hidden:
            name = layer["name"]
            if layer["symmetric"]:
                raised += self._maybe(
                    "symmetric", name, where,
                    f"All {layer['units']} units of {name} have the same weights: the "
                    f"{self.settings['initializer']} initialisation gave them nothing to tell "
                    f"them apart, so each gets the same gradient and they stay copies of one "
                    f"unit. Start from random weights.",
                    {"initializer": self._random_initializer()},
                )
            if still and (layer["saturated"] or 0) >= PROBLEM_SHARE:
                fix = ({"initializer": "glorot"} if self.settings["initializer"] != "glorot"
                       else {"activation": "relu", "initializer": "he"})
                raised += self._maybe(
                    "saturated", name, where,
                    f"{layer['saturated']:.0%} of {name}'s {layer['activation']} outputs sit "
                    f"where the curve is flat (slope under {SATURATED_SLOPE:g}), so almost no "
                    f"gradient passes back through them and the loss hardly falls. Their z is "
                    f"too large: start from smaller weights.",
                    fix,
                )
            if still and self.batches_done > 0 and (layer["dead"] or 0) >= PROBLEM_SHARE:
                raised += self._maybe(
                    "dead_units", name, where,
                    f"{layer['dead']:.0%} of {name}'s ReLU units output 0 for every digit of "
                    f"the last batch: they pass back no gradient, so they may never come back. "
                    f"Big steps push their z below 0 for good; take smaller ones.",
                    {"learning_rate": _tenth(self.settings["learning_rate"])},
                )
        raised += self._vanishing(layers, where)
        # 100 batches, or an epoch when that is shorter, but never fewer than 20 (an epoch of 200
        # digits is 2 batches: too early to say).
        enough = self.batches_done >= min(
            NOT_LEARNING_BATCHES, max(self.epoch_batches, NOT_LEARNING_MIN_BATCHES))
        if enough and self._loss_still_where_it_started(NOT_LEARNING_SHARE):
            raised += self._maybe(
                "not_learning", None, where,
                f"After {self.batches_done} batches the loss ({self._recent_loss():.3g}) is "
                f"still close to where it started ({self.start_loss:.3g}): the network is not "
                f"learning. {self._not_learning_reason()}",
                self._not_learning_fix(),
            )
        return raised

    # --- the rules' pieces ----------------------------------------------------------------

    def _vanishing(self, layers: list[dict[str, Any]], where: dict[str, int]) -> list[dict]:
        if len(layers) - 1 < VANISHING_MIN_HIDDEN:
            return []
        first, last = layers[0], layers[-1]
        low, high = first["gradient_norm"], last["gradient_norm"]
        if low is None or high is None or not high > 0 or low * VANISHING_RATIO > high:
            return []
        times = "infinitely" if low == 0 else f"{high / low:,.0f}×"
        return self._maybe(
            "vanishing_gradient", first["name"], where,
            f"The gradient reaching {first['name']} is {times} smaller than at the output: on "
            f"its way back, each {first['activation']} layer multiplies it by its slope (at "
            f"most 0.25 for a sigmoid), so the first layers hardly learn. ReLU passes it on "
            f"unchanged where a unit is on.",
            {"activation": "relu", "initializer": "he"},
        )

    def _loss_still_where_it_started(self, share: float) -> bool:
        if self.start_loss is None or not self.recent:
            return True
        return self._recent_loss() >= share * self.start_loss

    def _recent_loss(self) -> float:
        finite = [loss for loss in self.recent if math.isfinite(loss)]
        return sum(finite) / len(finite) if finite else math.inf

    def _random_initializer(self) -> str:
        return "he" if self.settings["activation"] == "relu" else "glorot"

    def _optimizer_name(self) -> str:
        return {"sgd": "plain gradient descent", "momentum": "gradient descent with momentum",
                "adam": "Adam"}[self.settings["optimizer"]]

    def _not_learning_reason(self) -> str:
        if self.settings["initializer"] == "zeros":
            return "Its units all started alike and learn alike."
        if self.settings["optimizer"] != "adam":
            return (f"Its steps are too small: {self._optimizer_name()} at learning rate "
                    f"{self.settings['learning_rate']:g}. Adam adapts each weight's step.")
        if self.settings["learning_rate"] < QUICK_RUN.learning_rate:
            return "Its steps are too small; take bigger ones."
        return "Its steps may be too big to settle; take smaller ones."

    def _not_learning_fix(self) -> dict[str, Any]:
        rate = self.settings["learning_rate"]
        if self.settings["initializer"] == "zeros":
            return {"initializer": self._random_initializer()}
        if self.settings["optimizer"] != "adam":
            return {"optimizer": "adam", "learning_rate": QUICK_RUN.learning_rate}
        if rate < QUICK_RUN.learning_rate:
            return {"learning_rate": QUICK_RUN.learning_rate}
        return {"learning_rate": _tenth(rate)}

    def _maybe(self, kind: str, layer: str | None, where: dict[str, int], detail: str,
               fix: dict[str, Any] | None) -> list[dict[str, Any]]:
        if any(a["kind"] == kind and a["layer"] == layer for a in self.raised):
            return []
        return [self._raise(kind, layer, where, detail, fix)]

    def _raise(self, kind: str, layer: str | None, where: dict[str, int], detail: str,
               fix: dict[str, Any] | None) -> dict[str, Any]:
        alert = {"kind": kind, "layer": layer, "detail": detail, "fix": fix, **where}
        self.raised.append(alert)
        return alert


def _tenth(rate: float) -> float:
    """A tenth of a learning rate, as a short number (0.5 → 0.05)."""
    return float(f"{rate / 10:.2g}")


def _round(value: float | None) -> float | None:
    """Six significant digits; None for None, NaN or infinity (JSON has neither)."""
    if value is None or not math.isfinite(value):
        return None
    return float(f"{value:.6g}")
