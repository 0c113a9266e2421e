"""Say when a drawing is none of the model's classes (a 7 shown to the 0/1 model, a scribble).

The detector is a small network of its own, trained beside the classifier with *outlier
exposure* (Hendrycks, Mazeika & Dietterich, "Deep Anomaly Detection with Outlier Exposure",
ICLR 2019): besides the training images of the classes it sees images that are none of them.
These are its own class, "none of these" (a background class: Dhamija, Günther & Boult,
"Reducing Network Agnostophobia", NeurIPS 2018), and its score is the probability it gives
that class. A background class, rather than the maximum-softmax score 1 − max p, because with
two classes a drawing halfway between a 0 and a 1 (a thin, slanted 0) is still one of them,
yet its two probabilities are as even as an outlier's. Scores above a threshold, picked on
validation images of the classes, are flagged. Training: ``training/ood_detector.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.network import DenseLayer, forward


@dataclass(frozen=True)
class OodDetector:
    layers: tuple[DenseLayer, ...]  # Dense layers, softmax over the classes and "none" last
    threshold: float  # a score above it is out of distribution

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Out-of-distribution scores of inputs (n, 784): the probability of "none of these"."""
        return forward(self.layers, x)[-1].a[..., -1]

    def score(self, x: np.ndarray) -> float:
        return float(self.scores(x.reshape(1, -1))[0])
