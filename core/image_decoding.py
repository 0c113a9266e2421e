"""Bytes of an image file → a Pillow image, within limits.

Accepted: PNG, JPEG, WebP, GIF and BMP. The width and height are read from the file's header
and checked against `max_side` before any pixel is decoded, so a small file that claims huge
dimensions costs nothing. An animation gives its first frame, and a photo's EXIF orientation is
applied so that it comes out the way the person saw it. Anything else raises an
`ImageDecodeError` or `ImageTooLargeError` whose message says what to fix.
"""

from __future__ import annotations

import io
import re
import struct
import warnings

from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from core.input_errors import ImageDecodeError, ImageTooLargeError

__all__ = ["ACCEPTED_FORMATS", "declared_pixels", "decode_image"]

# Pillow's names for the accepted formats, in the order a person would list them.
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")
_ACCEPTED_FORMATS_TEXT = "PNG, JPEG, WebP, GIF or BMP"

# How each accepted format's files begin: a file that starts like one of them but cannot be
# read is a broken image, not a foreign file.
_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM")

# What Pillow raises on files that are not what their header promises.
_PILLOW_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    EOFError,
    struct.error,
    ZeroDivisionError,
    OverflowError,
)

_CORRUPT = "the image is truncated or corrupt"


def decode_image(data: bytes, max_side: int = 4096) -> Image.Image:
    """Decode PNG/JPEG/WebP/GIF/BMP bytes, refusing images wider or taller than `max_side`.

    `data` may also be a bytearray or memoryview. Returns the first frame, upright.
    """
    if max_side < 1:
        raise ValueError(f"max_side must be at least 1, got {max_side}")
    data = bytes(data)
    if not data:
        raise ImageDecodeError("the image file is empty")

    try:
        with warnings.catch_warnings():
            # Pillow only warns between its limit and twice it; refused like the larger ones.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Reads the header only.
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except UnidentifiedImageError:
        if _starts_like_an_accepted_format(data):
            raise ImageDecodeError(_CORRUPT) from None
        raise ImageDecodeError(
            f"the file is not a {_ACCEPTED_FORMATS_TEXT} image; send one of those formats"
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        # Pillow refuses absurd sizes inside open(), before we can read them ourselves.
        raise ImageTooLargeError(_too_large(_pixels_named_in(error), max_side)) from None
    except _PILLOW_DECODE_ERRORS:
        raise ImageDecodeError(_CORRUPT) from None

    width, height = image.size
    max_pixels = Image.MAX_IMAGE_PIXELS
    if width > max_side or height > max_side or (max_pixels and width * height > max_pixels):
        raise ImageTooLargeError(
            f"the image is too large ({width}×{height} pixels); "
            f"it may be at most {max_side}×{max_side} pixels"
        )

    try:
        image.load()  # the pixels of the first frame
    except Image.DecompressionBombError as error:
        raise ImageTooLargeError(_too_large(_pixels_named_in(error), max_side)) from None
    except _PILLOW_DECODE_ERRORS:
        raise ImageDecodeError(_CORRUPT) from None
    return _upright(image)


def declared_pixels(data: bytes) -> int | None:
    """The number of pixels an image file's header declares, without decoding any; None when
    the header cannot be read (`decode_image` then says what is wrong)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS) as image:
                return image.width * image.height
    except (UnidentifiedImageError, Image.DecompressionBombError, *_PILLOW_DECODE_ERRORS):
        return None


def _starts_like_an_accepted_format(data: bytes) -> bool:
    return data.startswith(_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _pixels_named_in(error: Exception) -> int | None:
    """The pixel count in Pillow's "Image size (N pixels) exceeds limit …" message."""
    match = re.search(r"\((\d+) pixels\)", str(error))
    return int(match.group(1)) if match else None


def _too_large(pixels: int | None, max_side: int) -> str:
    size = f" ({pixels:,} pixels)" if pixels else ""
    return f"the image is too large{size}; it may be at most {max_side}×{max_side} pixels"


def _upright(image: Image.Image) -> Image.Image:
    """The image as its EXIF orientation says to show it; as stored if that can't be read."""
    try:
        if image.getexif().get(ExifTags.Base.Orientation, 1) in (2, 3, 4, 5, 6, 7, 8):
            return ImageOps.exif_transpose(image)
    except _PILLOW_DECODE_ERRORS:
        pass  # broken metadata must not cost a readable drawing
    return image
