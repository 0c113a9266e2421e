"""Training batches freshly augmented every epoch (core/augmentation.py), for Keras's fit.

At the start of each epoch the whole training set is augmented afresh, block by block, into a
uint8 copy; the batches are then cut from it (and only they are converted to float). Doing it
between epochs, rather than batch by batch beside the training, keeps TensorFlow's threads
from waiting on (and competing with) the augmentation.

Everything is a pure function of (seed, epoch): the epoch's order comes from a generator
seeded with (seed, epoch), the changes of each block from one seeded with (seed, epoch,
block). So the same seed gives the same batches whenever Keras asks for them, and retraining
gives the same weights.

With ``keep_epochs`` each epoch's augmented images are also kept (`kept_epochs`), so that the
"neither" detector, trained next on the same digits, reuses them instead of augmenting them
again (training/detector_batches.py): 0.8 MB per thousand digits and epoch.
"""

from __future__ import annotations

import math

import keras
import numpy as np

from core.augmentation import TRAINING, Strengths, augment

_BLOCK = 2048  # images augmented at once: bounds the memory of augment's float work


class AugmentedBatches(keras.utils.PyDataset):
    """(x (b, 784) float32 in [0, 1], y (b,)) batches of augmented digits."""

    def __init__(self, images: np.ndarray, targets: np.ndarray, digits: np.ndarray,
                 batch_size: int, seed: int, strengths: Strengths = TRAINING,
                 keep_epochs: bool = False) -> None:
        """`images` (n, 28, 28) uint8; `targets` what the network learns (class indices or
        target rows); `digits` which digit each image shows (for the writing styles)."""
        super().__init__()
        if not len(images) == len(targets) == len(digits):
            raise ValueError("images, targets and digits must have the same length")
        self.images = images
        self.targets = targets
        self.digits = digits
        self.batch_size = batch_size
        self.seed = seed
        self.strengths = strengths
        self.epoch = 0
        self._epochs_begun = 0
        self._prepared_epoch: int | None = None
        self._epoch_images = images[:0]
        self._epoch_targets = targets[:0]
        self.keep_epochs = keep_epochs
        # (images, targets) of each epoch in turn, in its order, when keep_epochs is set.
        self.kept_epochs: list[tuple[np.ndarray, np.ndarray]] = []

    @property
    def num_batches(self) -> int:
        return math.ceil(len(self.images) / self.batch_size)

    def on_epoch_begin(self) -> None:
        self.epoch = self._epochs_begun
        self._epochs_begun += 1
        self._prepare(self.epoch)

    def epoch_images(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        """The epoch's augmented images (n, 28, 28) uint8 and their targets, in its order."""
        order = np.random.default_rng([self.seed, epoch]).permutation(len(self.images))
        blocks = [
            augment(self.images[rows], self.digits[rows],
                    np.random.default_rng([self.seed, epoch, i]), self.strengths)
            for i, rows in enumerate(np.array_split(order, range(_BLOCK, len(order), _BLOCK)))
        ]
        return np.concatenate(blocks), self.targets[order]

    def _prepare(self, epoch: int) -> None:
        if self._prepared_epoch != epoch:
            self._epoch_images, self._epoch_targets = self.epoch_images(epoch)
            self._prepared_epoch = epoch
            if self.keep_epochs and epoch == len(self.kept_epochs):
                self.kept_epochs.append((self._epoch_images, self._epoch_targets))

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= index < self.num_batches:
            raise IndexError(f"batch {index} of {self.num_batches}")
        self._prepare(self.epoch)  # Keras reads a first batch before the first epoch begins
        rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
        batch = self._epoch_images[rows]
        x = batch.reshape(len(batch), -1).astype(np.float32) / 255.0  # as select_digits
        return x, self._epoch_targets[rows]
