"""Digits drawn with Pillow, and what every MNIST input made from them must be.

Shared by tests/core/test_mnist_form.py and test_image_decoding.py. Outputs are compared "up to
one pixel of translation": the centre of mass is placed by a whole-pixel shift (as in MNIST), so
two drawings whose mass sits a hair either side of a pixel boundary legitimately land one pixel
apart.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import cache

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageOps
from project_paths import mnist_test_split_or_skip

from core.mnist_form import image_to_mnist

# Output pixels above this count as ink when measuring the digit's box. The faintest real edge
# of a test digit is 0.32 (the end of a thin "4"'s crossbar; most are above 0.5), so 0.1 only
# ignores resampling ripples, never a real edge.
INK_THRESHOLD = 0.1
# Mean absolute difference (up to one pixel of shift) between two renderings of the same digit.
# Same drawing, other encoding/colours: ≤ 0.001 measured. A 10% scale error gives ≥ 0.02, a
# two-pixel shift of a "7" or "0" ≥ 0.05.
SAME_DRAWING_TOLERANCE = 0.01
# JPEG at quality 20 moves whole 8×8 blocks of grey around the strokes: ≤ 0.009 measured.
HEAVY_JPEG_TOLERANCE = 0.02
# Same digit drawn at another place/size on the canvas (rasterised differently): ≤ 0.013
# measured for digits of 50 px and more.
REDRAWN_TOLERANCE = 0.015
# Digits drawn only 20–45 px tall are rasterised on a coarse grid (blocky 2–4 px strokes and
# joints): up to 0.045 measured. Two different test digits differ by at least 0.10; scale
# and centring errors are caught by the box and centre-of-mass checks.
SMALL_DRAWING_TOLERANCE = 0.05

# Digits in unit coordinates (0–1 across the digit's box), drawn as strokes.
DIGIT_STROKES: dict[str, list[tuple[str, list[tuple[float, float]]]]] = {
    "1": [("line", [(0.5, 0.0), (0.5, 1.0)])],
    "7": [("line", [(0.1, 0.0), (0.9, 0.0), (0.4, 1.0)])],
    "0": [("ellipse", [(0.2, 0.0), (0.8, 1.0)])],
    "4": [("line", [(0.7, 1.0), (0.7, 0.0), (0.1, 0.65), (0.9, 0.65)])],
}
DIGITS = list(DIGIT_STROKES)

Colour = int | tuple[int, ...]


def draw_digit(
    digit: str,
    canvas: tuple[int, int] = (280, 280),
    box: tuple[int, int, int] = (40, 40, 200),
    mode: str = "L",
    background: Colour | str = "white",
    ink: Colour | str = "black",
    stroke: float = 0.1,
) -> Image.Image:
    """Draw `digit` inside the square box (left, top, side), strokes `stroke` × side wide."""
    image = Image.new(mode, canvas, background)
    pen = ImageDraw.Draw(image)
    left, top, side = box
    width = max(1, round(stroke * side))
    half = width / 2

    def at(point: tuple[float, float]) -> tuple[float, float]:
        # Strokes stay inside the box: map the unit square onto the box shrunk by half a stroke.
        return left + half + point[0] * (side - width), top + half + point[1] * (side - width)

    for kind, points in DIGIT_STROKES[digit]:
        if kind == "line":
            pen.line([at(p) for p in points], fill=ink, width=width, joint="curve")
        else:
            (x0, y0), (x1, y1) = at(points[0]), at(points[1])
            pen.ellipse([x0 - half, y0 - half, x1 + half, y1 + half], outline=ink, width=width)
    return image


def encode(image: Image.Image, image_format: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **options)
    return buffer.getvalue()


def as_transparent_canvas(image: Image.Image) -> Image.Image:
    """Black strokes on a fully transparent background, as canvas.toDataURL() gives."""
    canvas = Image.new("RGBA", image.size, (0, 0, 0, 0))
    canvas.putalpha(ImageOps.invert(image.convert("L")))
    return canvas


# Every accepted format, in the variants people send. Each takes a black-on-white drawing.
FILE_FORMATS: dict[str, Callable[[Image.Image], bytes]] = {
    "PNG": lambda image: encode(image, "PNG"),
    "PNG RGBA": lambda image: encode(as_transparent_canvas(image), "PNG"),
    "PNG 16-bit": lambda image: encode(
        Image.fromarray(np.asarray(image.convert("L"), dtype=np.uint16) * 257), "PNG"
    ),
    "JPEG": lambda image: encode(image, "JPEG", quality=75),
    "JPEG quality 20": lambda image: encode(image, "JPEG", quality=20),
    "JPEG greyscale": lambda image: encode(image.convert("L"), "JPEG", quality=75),
    "WebP lossy": lambda image: encode(image, "WEBP", quality=60),
    "WebP lossless RGBA": lambda image: encode(as_transparent_canvas(image), "WEBP", lossless=True),
    "GIF": lambda image: encode(image, "GIF"),
    "BMP": lambda image: encode(image, "BMP"),
}


@cache
def reference(digit: str) -> np.ndarray:
    """The digit drawn black on white, 200 px on a 280 px canvas, then preprocessed."""
    return image_to_mnist(draw_digit(digit))


def centre_of_mass(values: np.ndarray) -> tuple[float, float]:
    mass = values.astype(np.float64)
    indices = np.arange(mass.shape[0])
    total = float(mass.sum())
    return float(mass.sum(axis=1) @ indices) / total, float(mass.sum(axis=0) @ indices) / total


def ink_box(values: np.ndarray, threshold: float = INK_THRESHOLD) -> tuple[int, int]:
    """(height, width) of the box around pixels above `threshold`."""
    rows, columns = np.nonzero(values > threshold)
    return int(rows.max() - rows.min() + 1), int(columns.max() - columns.min() + 1)


def difference_up_to_one_pixel(first: np.ndarray, second: np.ndarray) -> float:
    """Smallest mean absolute difference over shifts of at most one pixel on each axis."""
    return min(
        float(np.abs(np.roll(first, (dy, dx), axis=(0, 1)) - second).mean())
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
    )


def assert_mnist_input(values: np.ndarray, threshold: float = INK_THRESHOLD) -> None:
    """What every output must be: MNIST's shape, range, box size and centring."""
    assert values.shape == (28, 28)
    assert values.dtype == np.float32
    assert float(values.min()) >= 0.0
    assert float(values.max()) == pytest.approx(1.0)
    assert max(ink_box(values, threshold)) == 20
    assert_centred(values)
    for centre in centre_of_mass(values):
        assert abs(centre - 13.5) <= 1.0 + 1e-4  # float32 rounding


def assert_centred(values: np.ndarray) -> None:
    """Centre of mass where MNIST puts it, unless the digit could not move further.

    MNIST's own digits have their centre of mass in [13.5, 14.5] on both axes (a whole-pixel
    shift towards pixel 14); 13.5 is the exact middle of the field in pixel-centre coordinates.
    A digit whose mass is far from its box's middle (a thin "7": heavy top bar, light tail)
    can't get there without leaving the field; it must then touch the edge it was pushed to.
    """
    for axis, centre in enumerate(centre_of_mass(values)):
        if not 13.5 - 1e-4 <= centre <= 14.5 + 1e-4:
            profile = values.max(axis=1 - axis)
            assert profile[-1 if centre < 13.5 else 0] > 0.0


def mnist_test_images(count: int) -> np.ndarray:
    """The first `count` MNIST test images (uint8, white on black); skips without MNIST."""
    return mnist_test_split_or_skip()[0][:count]
