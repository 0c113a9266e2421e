"""Pixels already in MNIST form (white ink on black, 0–1), checked and returned unchanged.

POST /predict accepts them as 28 rows of 28 numbers or 784 numbers; whatever else arrives gets a
`PixelsError` that names what was received and where, so the sender knows what to fix.
"""

from __future__ import annotations

from itertools import chain

import numpy as np

from core.input_errors import PixelsError
from core.mnist_form import FIELD_SIDE, Stage, input_stage

__all__ = ["pixel_stages", "pixels_to_mnist"]

_EXPECTED_PIXELS = "28 rows of 28 numbers, or a flat list of 784 numbers"


def pixels_to_mnist(pixels: object) -> np.ndarray:
    """Check pixels already in MNIST form (white ink on black, 0–1: 28 rows of 28 numbers, 784
    numbers, or such an array) and return them as a (28, 28) float32 array, unchanged."""
    if isinstance(pixels, np.ndarray):
        values = _checked_array(pixels)
    elif isinstance(pixels, (list, tuple)):
        values = _checked_list(pixels)
    else:
        raise PixelsError(f"pixels must be {_EXPECTED_PIXELS}; got {type(pixels).__name__}")

    if not np.isfinite(values).all():
        index = int(np.flatnonzero(~np.isfinite(values))[0])
        raise PixelsError(
            f"pixels must be finite numbers between 0 and 1; found {values[index]} "
            f"{_position(index)}"
        )
    outside = (values < 0.0) | (values > 1.0)
    if outside.any():
        index = int(np.flatnonzero(outside)[0])
        raise PixelsError(
            f"pixels must be between 0 (background) and 1 (ink); found {values[index]:g} "
            f"{_position(index)}"
        )
    return values.reshape(FIELD_SIDE, FIELD_SIDE).astype(np.float32)


def pixel_stages(field: np.ndarray) -> list[Stage]:
    """The stages of pixels already in MNIST form (checked by `pixels_to_mnist`): as sent, and
    the network's input they are, no step between."""
    note = "28×28 pixels already in MNIST form (white ink on black, 0–1), used as they are"
    return [Stage("pixels", field, note), input_stage(field)]


def _checked_array(pixels: np.ndarray) -> np.ndarray:
    if pixels.shape not in ((FIELD_SIDE, FIELD_SIDE), (FIELD_SIDE * FIELD_SIDE,)):
        raise PixelsError(f"pixels must be {_EXPECTED_PIXELS}; got shape {pixels.shape}")
    if pixels.dtype.kind not in "iuf":
        raise PixelsError(f"pixels must be numbers; got an array of {pixels.dtype}")
    return pixels.astype(np.float64).ravel()


def _checked_list(pixels: list | tuple) -> np.ndarray:
    is_rows = len(pixels) > 0 and isinstance(pixels[0], (list, tuple))
    if is_rows and (
        len(pixels) != FIELD_SIDE
        or any(not isinstance(row, (list, tuple)) or len(row) != FIELD_SIDE for row in pixels)
    ):
        raise PixelsError(f"pixels must be {_EXPECTED_PIXELS}; got {_describe(pixels)}")
    if not is_rows and len(pixels) != FIELD_SIDE * FIELD_SIDE:
        raise PixelsError(f"pixels must be {_EXPECTED_PIXELS}; got {_describe(pixels)}")
    flat = list(chain.from_iterable(pixels)) if is_rows else pixels
    # JSON gives int and float; anything else (bool, str, None, nested lists) is refused before
    # NumPy quietly turns True into 1.0, "0.5" into 0.5 or None into NaN.
    for index, value in enumerate(flat):
        if isinstance(value, (list, tuple)):
            raise PixelsError(f"pixels must be {_EXPECTED_PIXELS}; got {_describe(pixels)}")
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise PixelsError(
                f"pixels must be numbers; found {value!r} ({type(value).__name__}) "
                f"{_position(index)}"
            )
    try:
        return np.array(flat, dtype=np.float64)
    except OverflowError:  # an integer too large for a float
        raise PixelsError("pixels must be between 0 (background) and 1 (ink)") from None


def _describe(pixels: list | tuple) -> str:
    if not pixels:
        return "an empty list"
    if all(isinstance(row, (list, tuple)) for row in pixels):
        lengths = sorted({len(row) for row in pixels})
        if len(lengths) > 1:
            return f"{len(pixels)} rows of different lengths ({lengths[0]} to {lengths[-1]})"
        if any(isinstance(value, (list, tuple)) for row in pixels for value in row):
            return "a list nested more than two levels deep"
        return f"{len(pixels)} rows of {lengths[0]}"
    if any(isinstance(value, (list, tuple)) for value in pixels):
        return "a list mixing numbers and rows"
    return f"a flat list of {len(pixels)}"


def _position(flat_index: int) -> str:
    row, column = divmod(flat_index, FIELD_SIDE)
    return f"at row {row}, column {column} (flat index {flat_index})"
