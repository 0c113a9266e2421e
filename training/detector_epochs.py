"""The "neither" detector's training epochs: the classes' digits as the classifier saw them,
and outliers augmented afresh every epoch (training/ood_detector.py).

The classifier, trained just before on the same digits, already augmented each of them once
per epoch (core/augmented_epochs.py, `keep`); the detector's epoch k takes the classifier's
epoch k as it is instead of augmenting those digits a second time, and augments only the
outliers (a fresh sample of the other digits, derived non-digits). Past the classifier's last
epoch the classes' digits are augmented here, as the outliers are. Every epoch's images and
order are a pure function of (seed, epoch), so a seed gives the same detector.
"""

from __future__ import annotations

import numpy as np

from core.augmentation import TRAINING, Strengths
from core.augmented_epochs import AugmentedEpochs, Epoch, augment_in_blocks


class DetectorEpochs:
    """Epoch k of the detector's training data, called with k: images (n, 28, 28) uint8 and
    class indices, the classes' digits their own and the outliers `n_classes` ("none of
    these"), shuffled together. The outliers are a fresh sample of
    `others_per_epoch` other digits each epoch (so that over the epochs the detector sees
    many more of them than any one epoch holds) and every derived non-digit."""

    def __init__(self, class_epochs: dict[int, Epoch], class_images: np.ndarray,
                 class_labels: np.ndarray, class_digits: np.ndarray, other_digits: np.ndarray,
                 other_digit_labels: np.ndarray, non_digits: np.ndarray, others_per_epoch: int,
                 n_classes: int, seed: int, strengths: Strengths = TRAINING) -> None:
        """`class_epochs`: the classifier's augmented epochs by number, (images, class
        indices) each; `class_images`/`class_labels`/`class_digits`: the same digits
        unaugmented, for epochs beyond those; `other_digits` (m, 28, 28) uint8 with the digit
        each shows; `non_digits` (k, 28, 28) uint8."""
        if len(other_digits) != len(other_digit_labels):
            raise ValueError("other_digits and other_digit_labels must have the same length")
        self.class_epochs = class_epochs
        self.classes = AugmentedEpochs(class_images, class_labels, class_digits, seed,
                                       strengths)
        self.other_digits, self.other_digit_labels = other_digits, other_digit_labels
        self.non_digits = non_digits
        self.others_per_epoch = min(others_per_epoch, len(other_digits))
        self.n_classes, self.seed, self.strengths = n_classes, seed, strengths

    def __len__(self) -> int:
        return len(self.classes) + self.others_per_epoch + len(self.non_digits)

    def __call__(self, epoch: int) -> Epoch:
        class_images, class_labels = self.class_epochs.get(epoch) or self.classes(epoch)
        rng = np.random.default_rng([self.seed, epoch])
        picked = rng.choice(len(self.other_digits), self.others_per_epoch, replace=False)
        # The non-digits show no digit: -1 gives them no writing-style variant. Seeded apart
        # from the classes' digits, so the two never share random draws.
        outliers = augment_in_blocks(
            np.concatenate([self.other_digits[picked], self.non_digits]),
            np.concatenate([self.other_digit_labels[picked], np.full(len(self.non_digits), -1)]),
            [self.seed + 1, epoch], self.strengths,
        )
        images = np.concatenate([class_images, outliers])
        targets = np.concatenate([class_labels, np.full(len(outliers), self.n_classes)])
        order = rng.permutation(len(images))
        return images[order], targets[order]
