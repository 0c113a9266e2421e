"""What a drawing, an image file or a pixel list gets when it cannot become a digit.

Both halves of the preprocessing raise these: `core.image_decoding` (bytes → image) and
`core.mnist_form` (image or pixels → the 28×28 MNIST input). The server turns them into a 4xx
answer whose detail is the message, so every message says what to fix.
"""

from __future__ import annotations


class PreprocessingError(ValueError):
    """Input that cannot become a digit; the message says what to fix."""


class EmptyDrawingError(PreprocessingError):
    """An image with no ink in it."""

    def __init__(self, message: str = "the drawing is empty") -> None:
        super().__init__(message)


class ImageDecodeError(PreprocessingError):
    """Not an image in an accepted format, or a truncated/corrupt one."""


class ImageTooLargeError(PreprocessingError):
    """The image's dimensions (read from its header) are over the limit."""


class PixelsError(PreprocessingError):
    """A `pixels` array that is not 28×28 numbers in [0, 1]."""
