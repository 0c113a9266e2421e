"""Training data augmented afresh every epoch (core/augmentation.py), fed to Keras's fit.

An epoch is made whole, before its first batch: its order drawn, its images augmented, then cut
into batches. Two things keep this off the training's path:
- tf.data prefetches epoch k+1 while fit trains on epoch k (`epoch_dataset`; in traces it
  began late in epoch k, so the two overlap only in part);
- the augmentation works on blocks of BLOCK images spread over the CPU's cores: NumPy lets go of
  the GIL in its array work, and a block this small stays in the processor's cache, where the
  same work on 2,048 images at once took half again as long per image.

Everything is a pure function of (seed, epoch): the epoch's order comes from a generator seeded
with (seed, epoch), block i's changes from one seeded with (seed, epoch, i). So the same seed
gives the same batches, whichever thread made them, and retraining gives the same weights.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import numpy as np

from core.augmentation import TRAINING, Strengths, augment

if TYPE_CHECKING:
    import tensorflow as tf

BLOCK = 256  # images augmented at once by one thread

# (images (n, 28, 28) uint8, class indices (n,)) of one epoch, in its order.
Epoch = tuple[np.ndarray, np.ndarray]


def augment_in_blocks(images: np.ndarray, digits: np.ndarray, seeds: Sequence[int],
                      strengths: Strengths = TRAINING) -> np.ndarray:
    """`images` (n, 28, 28) uint8 showing `digits`, each augmented once: block i of BLOCK with
    a generator seeded (*seeds, i), the blocks shared among the CPU's cores."""

    def one_block(start: int) -> np.ndarray:
        rows = slice(start, start + BLOCK)
        rng = np.random.default_rng([*seeds, start // BLOCK])
        return augment(images[rows], digits[rows], rng, strengths)

    starts = range(0, len(images), BLOCK)
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        blocks = list(pool.map(one_block, starts))
    return np.concatenate(blocks) if blocks else images[:0].copy()


class AugmentedEpochs:
    """Epoch k of some digits, freshly augmented: called with k, returns (images, targets)
    shuffled together. Epochs 0 to ``keep`` − 1, when made, are also kept in `kept` (0.8 MB
    per thousand digits), so that the "neither" detector, trained next on the same digits, reuses
    them instead of augmenting them again (training/ood_detector.py)."""

    def __init__(self, images: np.ndarray, targets: np.ndarray, digits: np.ndarray, seed: int,
                 strengths: Strengths = TRAINING, keep: int = 0) -> None:
        """`images` (n, 28, 28) uint8; `targets` their class indices; `digits` which digit
        each image shows (for the writing styles)."""
        if not len(images) == len(targets) == len(digits):
            raise ValueError("images, targets and digits must have the same length")
        self.images, self.targets, self.digits = images, targets, digits
        self.seed = seed
        self.strengths = strengths
        self.keep = keep
        self.kept: dict[int, Epoch] = {}

    def __len__(self) -> int:
        return len(self.images)

    def __call__(self, epoch: int) -> Epoch:
        order = np.random.default_rng([self.seed, epoch]).permutation(len(self.images))
        images = augment_in_blocks(self.images[order], self.digits[order], [self.seed, epoch],
                                   self.strengths)
        made = images, self.targets[order]
        if epoch < self.keep:
            self.kept[epoch] = made
        return made


def epoch_dataset(make_epoch: Callable[[int], Epoch], epochs: int, batch_size: int,
                  ) -> tf.data.Dataset:
    """Batches (x (b, 784) float32 in [0, 1], class indices (b,)) of make_epoch(0),
    make_epoch(1), ... make_epoch(epochs − 1), one after the other; each epoch is prefetched
    while the one before trains.
    Give Keras's fit ``steps_per_epoch=steps_per_epoch(n, batch_size)`` and ``epochs``, so that
    its epochs are these."""
    import tensorflow as tf

    def made(epoch: np.int64) -> Epoch:
        images, targets = make_epoch(int(epoch))
        return images, targets.astype(np.int64, copy=False)

    def load(epoch: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        images, targets = tf.numpy_function(made, [epoch], [tf.uint8, tf.int64])
        return tf.ensure_shape(images, [None, 28, 28]), tf.ensure_shape(targets, [None])

    def as_inputs(images: tf.Tensor, targets: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return tf.reshape(tf.cast(images, tf.float32) / 255.0, [-1, 784]), targets

    # No autotuning: its model thread kept the iterator's teardown, at the end of fit, waiting
    # for ~10 s in about half the runs, and there is nothing here for it to tune.
    options = tf.data.Options()
    options.autotune.enabled = False
    return (
        tf.data.Dataset.range(epochs)
        .map(load)
        .prefetch(1)  # the next epoch, made in the background
        .flat_map(lambda x, y: tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size))
        .map(as_inputs)
        .prefetch(2)
        .with_options(options)
    )


def steps_per_epoch(n: int, batch_size: int) -> int:
    return math.ceil(n / batch_size)
