"""MNIST kept as uint8 and turned into the network's float inputs one batch at a time.

A ten-digit training set is 47 MB as uint8 and 188 MB as float32, and Keras copies what it is
given into TensorFlow once more; a server that trains from the page (app/training_job.py) keeps
the uint8 and converts only the batch being trained on. Shuffled afresh every epoch, seeded with
(seed, epoch), as Keras shuffles arrays.
"""

from __future__ import annotations

import math

import keras
import numpy as np


def scaled(x: np.ndarray) -> np.ndarray:
    """uint8 ink 0-255 → float32 in [0, 1], as `select_digits` scales (float input unchanged)."""
    return x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x


class ScaledBatches(keras.utils.PyDataset):
    """(x (b, 784) float32 in [0, 1], y (b,)) batches cut from uint8 rows."""

    def __init__(
        self, x: np.ndarray, y: np.ndarray, batch_size: int, seed: int, shuffle: bool
    ) -> None:
        super().__init__()
        if len(x) != len(y):
            raise ValueError("x and y must have the same length")
        self.x, self.y = x, y
        self.batch_size = batch_size
        self.seed = seed
        self.shuffle = shuffle
        self._epochs_begun = 0
        self._order = np.arange(len(x))

    @property
    def num_batches(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def on_epoch_begin(self) -> None:
        if self.shuffle:
            rng = np.random.default_rng([self.seed, self._epochs_begun])
            self._order = rng.permutation(len(self.x))
        self._epochs_begun += 1

    def __getitem__(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        rows = self._order[index * self.batch_size : (index + 1) * self.batch_size]
        return scaled(self.x[rows]), self.y[rows]
