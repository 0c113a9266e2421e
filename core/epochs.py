"""Training data as epochs, and the one conversion of digits into network inputs.

Every training source is one shape of thing: called with an epoch number k, it returns that
epoch's (images, targets), the digits as uint8 (n, 28, 28) in the order they are trained on and
their class indices. Plain MNIST, MNIST augmented afresh every epoch (`DigitEpochs`) and the
out-of-distribution detector's mix of classes and outliers (training/detector_data.py) are all
such sources, and `epoch_dataset` feeds any of them to Keras's fit, cut into batches that
`as_inputs` turns into network inputs: the only place a training digit becomes floats.

An epoch is a pure function of (seed, k): its order comes from a generator seeded with
(seed, k), block i of its augmentation from one seeded with (seed, k, i). So the same seed gives
the same batches, whichever thread made them, and retraining gives the same weights. Making
epochs ahead while the network trains is the training command's business (training/train.py).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from core.augmentation import Strengths, augment

if TYPE_CHECKING:
    import tensorflow as tf

# (images (n, 28, 28) uint8, class indices (n,)) of one epoch, in its order.
Epoch = tuple[np.ndarray, np.ndarray]
INPUT_SIZE = 784  # what the networks read: a digit's 28×28 pixels, row by row
BLOCK = 256  # digits augmented at once


class Epochs(Protocol):
    """A training source: `len` images an epoch; called with k, epoch k's images and targets."""

    def __len__(self) -> int: ...

    def __call__(self, epoch: int) -> Epoch: ...


def as_inputs(images: np.ndarray) -> np.ndarray:
    """Digits (n, 28, 28) uint8 → network inputs (n, 784) float32 in [0, 1], ink high."""
    return images.reshape(len(images), INPUT_SIZE).astype(np.float32) / 255.0


class DigitEpochs:
    """Epoch k of some digits: all of them in a fresh order, and, given augmentation
    `strengths`, each changed afresh (core/augmentation.py)."""

    def __init__(self, images: np.ndarray, targets: np.ndarray, digits: np.ndarray, seed: int,
                 strengths: Strengths | None = None) -> None:
        """`images` (n, 28, 28) uint8; `targets` their class indices; `digits` which digit
        each image shows (the augmentation's writing styles depend on it)."""
        if not len(images) == len(targets) == len(digits):
            raise ValueError("images, targets and digits must have the same length")
        self.images, self.targets, self.digits = images, targets, digits
        self.seed = seed
        self.strengths = strengths

    def __len__(self) -> int:
        return len(self.images)

    def __call__(self, epoch: int) -> Epoch:
        order = self.order(epoch)
        images = self.images[order]
        if self.strengths is not None:
            images = augment_in_blocks(images, self.digits[order], [self.seed, epoch],
                                       self.strengths)
        return images, self.targets[order]


    def order(self, epoch: int) -> np.ndarray:
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.images))

    def batch(self, epoch: int, index: int, batch_size: int) -> Epoch:
        """Batch `index` (from 0) of epoch `epoch`, as `epoch_dataset` cuts it: without
        augmentation only its rows are made, not the whole epoch."""
        rows = slice(index * batch_size, (index + 1) * batch_size)
        if self.strengths is not None:
            images, targets = self(epoch)
            return images[rows], targets[rows]
        order = self.order(epoch)[rows]
        return self.images[order], self.targets[order]


def augment_in_blocks(images: np.ndarray, digits: np.ndarray, seeds: Sequence[int],
                      strengths: Strengths) -> np.ndarray:
    """`images` (n, 28, 28) uint8 showing `digits`, each augmented once, block i of BLOCK with
    a generator seeded (*seeds, i). A block this small stays in the processor's cache, where
    the same work on 2,048 digits at once took half again as long per digit."""
    blocks = [
        augment(images[start : start + BLOCK], digits[start : start + BLOCK],
                np.random.default_rng([*seeds, start // BLOCK]), strengths)
        for start in range(0, len(images), BLOCK)
    ]
    return np.concatenate(blocks) if blocks else images[:0].copy()


def epoch_dataset(epochs: Epochs, count: int, batch_size: int) -> tf.data.Dataset:
    """Batches (inputs (b, 784) float32, class indices (b,)) of epochs(0), epochs(1), ...
    epochs(count − 1), one after the other, each epoch made when its first batch is due.
    Give Keras's fit ``steps_per_epoch=steps_per_epoch(len(epochs), batch_size)`` and
    ``epochs=count``, so that its epochs are these."""
    import tensorflow as tf

    # Not `Dataset.from_generator`: making its iterator calls glibc's
    # mallopt(M_MMAP_THRESHOLD, 128 KiB) for the whole process under Python 3.11 (TensorFlow's
    # "Python311MemoryPatch"), after which every NumPy array over 128 KiB is mapped afresh and
    # its pages faulted in: augmenting an epoch took twice its CPU time, most of it in the
    # kernel. `numpy_function` has no such side effect.
    # TensorFlow keeps a `numpy_function`'s Python function for the life of the process (in
    # eager mode it is tied to the global graph, which is never freed). So it holds the epochs
    # (a run's training digits, 9 to 42 MB) only weakly, and a finished run's are freed; the
    # caller keeps them while the dataset is read (`fit` does).
    source = weakref.ref(epochs)

    def made(epoch: np.int64) -> Epoch:
        epochs = source()
        if epochs is None:
            raise RuntimeError("the epochs of this dataset were freed while it was read")
        images, targets = epochs(int(epoch))
        return images, targets.astype(np.int64, copy=False)

    def load(epoch: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        images, targets = tf.numpy_function(made, [epoch], [tf.uint8, tf.int64])
        return tf.ensure_shape(images, [None, 28, 28]), tf.ensure_shape(targets, [None])

    def inputs(images: tf.Tensor, targets: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        x = tf.numpy_function(as_inputs, [images], tf.float32)
        return tf.ensure_shape(x, [None, INPUT_SIZE]), targets

    # No autotuning: its model thread kept the iterator's teardown, at the end of fit, waiting
    # for ~10 s in about half the runs, and there is nothing here for it to tune.
    options = tf.data.Options()
    options.autotune.enabled = False
    return (
        tf.data.Dataset.range(count)
        .map(load)  # one epoch held at a time, as uint8
        .flat_map(lambda x, y: tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size))
        .map(inputs)
        .prefetch(2)
        .with_options(options)
    )


def steps_per_epoch(n: int, batch_size: int) -> int:
    return math.ceil(n / batch_size)
