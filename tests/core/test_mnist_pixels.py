"""core.mnist_pixels: pixels already in MNIST form are checked and returned as they are;
anything else is refused with a message naming what was received and where."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pixel_lists import flat_with, rows_with

from core.input_errors import PixelsError
from core.mnist_pixels import pixels_to_mnist


def _pattern() -> np.ndarray:
    """An off-centre pattern, to show that pixels are returned as sent (no recentring)."""
    values = np.zeros((28, 28))
    values[0:5, 0:3] = 1.0
    values[20, 25] = 0.25
    return values


@pytest.mark.parametrize(
    "pixels",
    [
        _pattern().tolist(),
        _pattern().ravel().tolist(),
        tuple(tuple(row) for row in _pattern().tolist()),
        _pattern(),
        _pattern().ravel().astype(np.float32),
        [[int(v) for v in row] for row in _pattern().round().tolist()],
    ],
    ids=["rows", "flat", "tuples", "array", "flat float32 array", "integers"],
)
def test_pixels_in_mnist_form_are_returned_as_they_are(pixels: object) -> None:
    result = pixels_to_mnist(pixels)

    assert result.shape == (28, 28)
    assert result.dtype == np.float32
    expected = np.asarray(pixels, dtype=np.float32).reshape(28, 28)
    np.testing.assert_array_equal(result, expected)


def test_blank_pixels_are_accepted_as_they_are() -> None:
    np.testing.assert_array_equal(pixels_to_mnist([0.0] * 784), np.zeros((28, 28)))


@pytest.mark.parametrize(
    ("pixels", "received"),
    [
        ([[0.0] * 28] * 27, "27 rows of 28"),
        ([[0.0] * 27] * 28, "28 rows of 27"),
        ([0.0] * 785, "a flat list of 785"),
        ([0.0] * 783, "a flat list of 783"),
        ([], "an empty list"),
        ([[[0.0] * 28] * 28], "nested more than two levels deep"),
        ([[[0.0] * 3] * 28] * 28, "nested more than two levels deep"),
        ([[0.0] * 28] * 27 + [[0.0] * 29], "rows of different lengths (28 to 29)"),
        ([[0.0] * 28] * 27 + [0.0], "a list mixing numbers and rows"),
        ([0.0] * 783 + [[0.0]], "a list mixing numbers and rows"),
        (np.zeros((27, 28)), "shape (27, 28)"),
        (np.zeros((28, 28, 1)), "shape (28, 28, 1)"),
    ],
    ids=[
        "27 rows",
        "27 columns",
        "785 flat",
        "783 flat",
        "empty",
        "extra outer list",
        "3-D",
        "ragged",
        "row then number",
        "number then row",
        "array 27x28",
        "array 28x28x1",
    ],
)
def test_pixels_of_the_wrong_shape_are_refused_naming_what_was_received(
    pixels: object, received: str
) -> None:
    with pytest.raises(PixelsError) as refusal:
        pixels_to_mnist(pixels)

    message = str(refusal.value)
    assert "28 rows of 28 numbers, or a flat list of 784 numbers" in message
    assert received in message


@pytest.mark.parametrize(
    "pixels", ["0.5" * 784, b"\x00" * 784, None, 0.5, {"pixels": []}, {0.0, 1.0}]
)
def test_pixels_that_are_not_a_list_are_refused_naming_their_type(pixels: object) -> None:
    with pytest.raises(PixelsError, match=f"got {type(pixels).__name__}$"):
        pixels_to_mnist(pixels)


@pytest.mark.parametrize(
    "value", ["0.5", "", None, True, False, np.bool_(True), {}, b"1", 1j, np.complex128(1j)]
)
def test_pixels_that_are_not_numbers_are_refused_with_their_position(value: object) -> None:
    with pytest.raises(PixelsError, match=r"must be numbers; found .* at row 3, column 7"):
        pixels_to_mnist(rows_with(value))
    with pytest.raises(PixelsError, match=r"must be numbers; found .* at row 3, column 16"):
        pixels_to_mnist(flat_with(value))


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_pixels_that_are_not_finite_are_refused(value: float) -> None:
    with pytest.raises(PixelsError, match=r"finite numbers between 0 and 1; found .*row 3"):
        pixels_to_mnist(rows_with(value))


@pytest.mark.parametrize("value", [-0.01, 1.01, 255, -1, 2.5, 10**400, -(10**400)])
def test_pixels_outside_zero_to_one_are_refused(value: float) -> None:
    with pytest.raises(PixelsError, match=r"between 0 .* and 1"):
        pixels_to_mnist(rows_with(value))


@pytest.mark.parametrize(
    "array",
    [np.zeros((28, 28), dtype=bool), np.full((28, 28), "0", dtype=object), np.zeros(784, "U1")],
    ids=["bool", "object", "str"],
)
def test_pixel_arrays_that_are_not_numbers_are_refused(array: np.ndarray) -> None:
    with pytest.raises(PixelsError, match="must be numbers"):
        pixels_to_mnist(array)
