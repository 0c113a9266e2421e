"""core.input_errors: one family of errors, so the server maps every bad input to a 4xx."""

from __future__ import annotations

import pytest

from core.input_errors import (
    EmptyDrawingError,
    ImageDecodeError,
    ImageTooLargeError,
    PixelsError,
    PreprocessingError,
)


@pytest.mark.parametrize(
    "error", [EmptyDrawingError, ImageDecodeError, ImageTooLargeError, PixelsError]
)
def test_every_input_error_is_a_preprocessing_error_and_a_value_error(
    error: type[PreprocessingError],
) -> None:
    assert issubclass(error, PreprocessingError)
    assert issubclass(error, ValueError)


def test_an_empty_drawing_says_so_by_default() -> None:
    assert str(EmptyDrawingError()) == "the drawing is empty"
