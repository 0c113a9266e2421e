"""The "neither" detector's training batches: the classes' digits as the classifier saw them,
and outliers augmented afresh every epoch (training/ood_detector.py).

The classifier, trained just before on the same digits, already augmented each of them once
per epoch (core/augmented_batches.py, `keep_epochs`); the detector's epoch k takes the
classifier's epoch k as it is instead of augmenting those digits a second time, and augments
only the outliers (other digits, derived non-digits). Past the classifier's last epoch the
classes' digits are augmented here, as the outliers are. Every epoch's images and order are a
pure function of (seed, epoch), so a seed gives the same detector.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from core.augmentation import TRAINING, Strengths, augment

_BLOCK = 2048  # images augmented at once: bounds the memory of augment's float work


class DetectorBatches(keras.utils.PyDataset):
    """(x (b, 784) float32 in [0, 1], target rows (b, classes)) batches: the classes' digits
    one-hot, the outliers uniform over the classes (outlier exposure)."""

    def __init__(self, class_epochs: list[tuple[np.ndarray, np.ndarray]],
                 class_images: np.ndarray, class_labels: np.ndarray, class_digits: np.ndarray,
                 outliers: np.ndarray, outlier_digits: np.ndarray, n_classes: int,
                 batch_size: int, seed: int, strengths: Strengths = TRAINING) -> None:
        """`class_epochs`: the classifier's augmented epochs, (images (n, 28, 28) uint8, class
        indices) each; `class_images`/`class_labels`/`class_digits`: the same digits
        unaugmented, for epochs beyond those; `outliers` (m, 28, 28) uint8 with the digit each
        shows (-1: none, so no writing-style variant)."""
        super().__init__()
        if len(outliers) != len(outlier_digits):
            raise ValueError("outliers and outlier_digits must have the same length")
        self.class_epochs = class_epochs
        self.class_images, self.class_labels = class_images, class_labels
        self.class_digits = class_digits
        self.outliers, self.outlier_digits = outliers, outlier_digits
        self.n_classes, self.batch_size, self.seed = n_classes, batch_size, seed
        self.strengths = strengths
        self.epoch = 0
        self._epochs_begun = 0
        self._prepared_epoch: int | None = None
        self._images = outliers[:0]
        self._targets = np.zeros((0, n_classes), dtype=np.float32)

    @property
    def num_batches(self) -> int:
        return math.ceil((len(self.class_images) + len(self.outliers)) / self.batch_size)

    def on_epoch_begin(self) -> None:
        self.epoch = self._epochs_begun
        self._epochs_begun += 1
        self._prepare(self.epoch)

    def _augmented(self, images: np.ndarray, digits: np.ndarray, epoch: int,
                   stream: int) -> np.ndarray:
        blocks = [
            augment(images[start : start + _BLOCK], digits[start : start + _BLOCK],
                    np.random.default_rng([self.seed, epoch, stream, start // _BLOCK]),
                    self.strengths)
            for start in range(0, len(images), _BLOCK)
        ]
        return np.concatenate(blocks) if blocks else images[:0]

    def epoch_data(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """The epoch's images (n, 28, 28) uint8 and target rows, shuffled together."""
        if epoch < len(self.class_epochs):
            class_images, class_labels = self.class_epochs[epoch]
        else:
            class_images = self._augmented(self.class_images, self.class_digits, epoch, 0)
            class_labels = self.class_labels
        outliers = self._augmented(self.outliers, self.outlier_digits, epoch, 1)
        images = np.concatenate([class_images, outliers])
        targets = np.concatenate([
            np.eye(self.n_classes, dtype=np.float32)[class_labels],
            np.full((len(outliers), self.n_classes), 1 / self.n_classes, dtype=np.float32),
        ])
        order = np.random.default_rng([self.seed, epoch]).permutation(len(images))
        return images[order], targets[order]

    def _prepare(self, epoch: int) -> None:
        if self._prepared_epoch != epoch:
            self._images, self._targets = self.epoch_data(epoch)
            self._prepared_epoch = epoch

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= index < self.num_batches:
            raise IndexError(f"batch {index} of {self.num_batches}")
        self._prepare(self.epoch)  # Keras reads a first batch before the first epoch begins
        rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
        batch = self._images[rows]
        return batch.reshape(len(batch), -1).astype(np.float32) / 255.0, self._targets[rows]
