"""Say when a drawing is none of the model's classes (a 7 shown to the 0/1 model, a scribble).

The detector is a small network of its own, trained beside the classifier with *outlier
exposure* (Hendrycks, Mazeika & Dietterich, "Deep Anomaly Detection with Outlier Exposure",
ICLR 2019): it learns the classes from their training images and, from images that are none of
them, to give every class the same probability. Its score is one minus its largest class
probability (the maximum softmax probability baseline of Hendrycks & Gimpel, ICLR 2017): near 0
for a clear member of a class, near 1 − 1/K for an outlier. Scores above a threshold, picked on
validation images of the classes, are flagged. Training: ``training/ood_detector.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.network import DenseLayer, forward


@dataclass(frozen=True)
class OodDetector:
    layers: tuple[DenseLayer, ...]  # Dense layers, softmax over the classes last
    threshold: float  # a score above it is out of distribution

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Out-of-distribution scores of inputs (n, 784): 1 − max class probability."""
        probabilities = forward(self.layers, x)[-1].a
        return 1.0 - probabilities.max(axis=-1)

    def score(self, x: np.ndarray) -> float:
        return float(self.scores(x.reshape(1, -1))[0])
