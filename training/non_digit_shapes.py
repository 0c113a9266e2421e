"""Shapes that are no digit, derived from MNIST training digits: the out-of-distribution
detector's outliers beside the other digits (training/ood_detector.py, outlier exposure).

Six kinds, in turn: a digit dilated into a filled blob; two digits overlaid off-centre; a 1 on
its side (a dash) or another digit crossed with its transpose; another digit joined with its
mirror image; halves of two digits; two to four MNIST 1s turned and crossing as strokes (what
letters, crosses and stars are made of). Each shape is brought to MNIST form as the app brings a
drawing there (core/mnist_form.py) and kept as uint8, as MNIST's own digits are. The crossing
strokes need the detector's class of its own, "none of these": with a uniform target over the
classes instead, they pull the shifted 1s along (2.5-4.6% of them flagged; docs/models.md, "Why
a background class").
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from core.augmentation import as_uint8
from core.input_errors import PreprocessingError
from core.mnist_form import image_to_mnist

KINDS = [
    "a digit dilated into a blob",
    "two digits overlaid",
    "a 1 on its side",
    "another digit crossed with its transpose",
    "another digit joined with its mirror image",
    "halves of two digits",
    "two to four 1s crossing as strokes",
]


def derive_non_digits(images: np.ndarray, labels: np.ndarray, classes: tuple[int, ...],
                      count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` shapes, uint8 (n, 28, 28), made from MNIST training images (uint8, 28×28) and
    their digits.

    Mirror images are made only of the *other* digits: a 0 crossed with its mirror image is
    still a 0, and must not be taught as an outlier.
    """
    others = np.flatnonzero(~np.isin(labels, classes))
    ones = np.flatnonzero(labels == 1)
    shapes = []
    picks = rng.integers(0, len(images), size=(count, 2))
    for i, (first, second) in enumerate(picks):
        kind = i % 6
        other = images[others[first % len(others)]]
        if kind == 0:  # a blob: dilation fills the digit's holes and strokes
            shape = _dilate(np.pad(images[first], 6), radius=4)
        elif kind == 1:  # two digits overlaid, off-centre: a scribble
            dy, dx = rng.integers(-7, 8, size=2)
            moved = np.roll(np.pad(images[second], 8), (dy, dx), axis=(0, 1))
            shape = np.maximum(np.pad(images[first], 8), moved)
        elif kind == 2 and labels[first] == 1:  # a 1 on its side: a dash
            shape = np.rot90(images[first], k=1 + 2 * (i % 2))
        elif kind == 2:  # a digit crossed with its transpose
            shape = np.maximum(other, other.T)
        elif kind == 3:  # a digit joined with its mirror image: T, A, H, X-like shapes
            shape = np.maximum(other, np.fliplr(other) if i % 2 else np.flipud(other))
        elif kind == 5 and len(ones):  # strokes crossing: 1s turned and laid over each other
            strokes = images[ones[rng.integers(0, len(ones), rng.integers(2, 5))]]
            shape = np.zeros((40, 40), dtype=np.float32)
            for stroke in strokes:
                turned = Image.fromarray(np.pad(stroke, 6)).rotate(
                    float(rng.uniform(0, 180)), resample=Image.BILINEAR,
                    translate=tuple(int(v) for v in rng.integers(-6, 7, 2)),
                )
                shape = np.maximum(shape, np.asarray(turned, dtype=np.float32))
        else:  # halves of two digits (also kind 5 when there are no 1s to cross)
            a, b = images[first], images[second]
            shape = np.hstack([a[:, :14], b[:, 14:]]) if i % 2 else np.vstack([a[:14], b[14:]])
        try:
            shapes.append(as_uint8(image_to_mnist(Image.fromarray(shape.astype(np.uint8)))))
        except PreprocessingError:
            continue
    return np.stack(shapes)


def _dilate(image: np.ndarray, radius: int) -> np.ndarray:
    out = image.copy()
    for dy in range(-radius, radius + 1):
        for dx in range(-radius, radius + 1):
            if dy * dy + dx * dx <= radius * radius:
                out = np.maximum(out, np.roll(image, (dy, dx), axis=(0, 1)))
    return out
