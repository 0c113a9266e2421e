"""What the out-of-distribution detector learns from (training/ood_detector.py): the classes'
digits, epoch by epoch as the classifier saw them, and outliers, images that are none of the
classes.

The outliers come only from the training split (`find_outliers`): the other MNIST digits'
training images (all but a validation share, held out for the card's rates) and shapes derived
from training digits that are no digit at all (training/non_digit_shapes.py). Each epoch of
`DetectorEpochs` takes the classifier's own epoch k of the classes (the same source, so with
augmentation the same changed digits) and adds a fresh sample of the other digits and every
non-digit, changed afresh as the classes' digits are. Every epoch's images and order are a pure
function of (seed, epoch), so a seed gives the same detector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.augmentation import TRAINING
from core.epochs import Epoch, Epochs, augment_in_blocks
from core.mnist_data import Mnist
from core.recipe import RecipeSettings, Splits
from training.non_digit_shapes import derive_non_digits

OTHER_DIGITS_PER_EPOCH = 12_000
NON_DIGITS = 3_000


@dataclass(frozen=True)
class Outliers:
    """Training images, uint8 (n, 28, 28), that are none of the classes: the detector's "none
    of these"."""

    other_digits: np.ndarray  # the other MNIST digits' training images, less the held-out share
    other_digit_labels: np.ndarray  # which digit each shows
    non_digits: np.ndarray  # shapes derived from training digits that are no digit at all


def other_digit_splits(
    labels: np.ndarray, digits: tuple[int, ...], seed: int, validation_fraction: float
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the other digits' training images, split into fitting and held out."""
    others = np.flatnonzero(~np.isin(labels, digits))
    order = np.random.default_rng(seed + 1).permutation(others)
    n_val = round(len(order) * validation_fraction)
    return order[n_val:], order[:n_val]


def other_digits_per_epoch(outliers: Outliers) -> int:
    return min(OTHER_DIGITS_PER_EPOCH, len(outliers.other_digits))


def find_outliers(mnist: Mnist, splits: Splits, settings: RecipeSettings) -> Outliers:
    """The other digits' fitting images, and NON_DIGITS shapes derived from the fitting part
    of the training split (the classes' and the other digits')."""
    digits, seed = settings.digits, settings.seed
    fitting, _ = other_digit_splits(mnist.y_train, digits, seed, settings.validation_fraction)
    pool = np.concatenate([splits.x_train, mnist.x_train[fitting]])
    pool_labels = np.concatenate([np.asarray(digits)[splits.y_train], mnist.y_train[fitting]])
    non_digits = derive_non_digits(pool, pool_labels, digits, NON_DIGITS,
                                   np.random.default_rng(seed + 2))
    return Outliers(mnist.x_train[fitting], mnist.y_train[fitting], non_digits)


class DetectorEpochs:
    """Epoch k of the detector's training data: the classes' epoch k with their class indices,
    and outliers with the last class, "none of these", shuffled together. The outliers are a
    fresh sample of OTHER_DIGITS_PER_EPOCH other digits each epoch (so that over the epochs the
    detector sees many more of them than any one epoch holds) and every non-digit; with
    ``settings.augment`` they are changed afresh every epoch, as the classes' digits are."""

    def __init__(self, classes: Epochs, outliers: Outliers, settings: RecipeSettings) -> None:
        """`classes`: the classifier's training epochs; `settings`: the detector's."""
        self.classes, self.outliers = classes, outliers
        self.none = len(settings.classes) - 1
        self.seed = settings.seed + 3  # apart from the classifier's and the outliers' choice
        self.strengths = TRAINING if settings.augment else None
        self.others_per_epoch = other_digits_per_epoch(outliers)

    def __len__(self) -> int:
        return len(self.classes) + self.others_per_epoch + len(self.outliers.non_digits)

    def __call__(self, epoch: int) -> Epoch:
        class_images, class_targets = self.classes(epoch)
        rng = np.random.default_rng([self.seed, epoch])
        picked = rng.choice(len(self.outliers.other_digits), self.others_per_epoch,
                            replace=False)
        outliers = np.concatenate([self.outliers.other_digits[picked], self.outliers.non_digits])
        if self.strengths is not None:
            # The non-digits show no digit: -1 gives them no writing-style variant. Seeded
            # apart from the classes' digits, so the two never share random draws.
            digits = np.concatenate([self.outliers.other_digit_labels[picked],
                                     np.full(len(self.outliers.non_digits), -1)])
            outliers = augment_in_blocks(outliers, digits, [self.seed + 1, epoch],
                                         self.strengths)
        images = np.concatenate([class_images, outliers])
        targets = np.concatenate([class_targets, np.full(len(outliers), self.none)])
        order = rng.permutation(len(images))
        return images[order], targets[order]
