"""The "neither" detector's training epochs: the classes' digits as the classifier saw them,
and outliers augmented afresh every epoch (training/ood_detector.py).

The classifier, trained just before on the same digits, already augmented each of them once
per epoch (core/augmented_epochs.py, `keep`); the detector's epoch k takes the classifier's
epoch k as it is instead of augmenting those digits a second time, and augments only the
outliers (other digits, derived non-digits). Past the classifier's last epoch the classes'
digits are augmented here, as the outliers are. Every epoch's images and order are a pure
function of (seed, epoch), so a seed gives the same detector.
"""

from __future__ import annotations

import numpy as np

from core.augmentation import TRAINING, Strengths
from core.augmented_epochs import AugmentedEpochs, Epoch


class DetectorEpochs:
    """Epoch k of the detector's training data, called with k: images (n, 28, 28) uint8 and
    target rows (n, classes), the classes' digits one-hot and the outliers uniform over the
    classes (outlier exposure), shuffled together."""

    def __init__(self, class_epochs: dict[int, Epoch], class_images: np.ndarray,
                 class_labels: np.ndarray, class_digits: np.ndarray, outliers: np.ndarray,
                 outlier_digits: np.ndarray, n_classes: int, seed: int,
                 strengths: Strengths = TRAINING) -> None:
        """`class_epochs`: the classifier's augmented epochs by number, (images, class
        indices) each; `class_images`/`class_labels`/`class_digits`: the same digits
        unaugmented, for epochs beyond those; `outliers` (m, 28, 28) uint8 with the digit each
        shows (-1: none, so no writing-style variant)."""
        if len(outliers) != len(outlier_digits):
            raise ValueError("outliers and outlier_digits must have the same length")
        self.class_epochs = class_epochs
        self.n_classes, self.seed = n_classes, seed
        self.classes = AugmentedEpochs(class_images, class_labels, class_digits, seed,
                                       strengths)
        # Seeded apart from the classes' digits, so the two never share random draws.
        self.outliers = AugmentedEpochs(outliers, outlier_digits, outlier_digits, seed + 1,
                                        strengths)

    def __len__(self) -> int:
        return len(self.classes) + len(self.outliers)

    def __call__(self, epoch: int) -> Epoch:
        class_images, class_labels = self.class_epochs.get(epoch) or self.classes(epoch)
        outliers, _ = self.outliers(epoch)
        images = np.concatenate([class_images, outliers])
        targets = np.concatenate([
            np.eye(self.n_classes, dtype=np.float32)[class_labels],
            np.full((len(outliers), self.n_classes), 1 / self.n_classes, dtype=np.float32),
        ])
        order = np.random.default_rng([self.seed, epoch]).permutation(len(images))
        return images[order], targets[order]
