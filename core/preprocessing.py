"""Turn whatever a browser canvas or a person sends into a 28×28 MNIST-style input.

MNIST was made by scaling each digit so its bounding box's longer side is 20 px (keeping the
aspect ratio, with anti-aliasing) and then moving it inside a 28×28 field so that its centre of
mass sits at the centre of the field. `image_to_mnist` repeats those steps for any image;
`pixels_to_mnist` only validates input that is already in MNIST form.

Everything here is pure (NumPy, Pillow, and libspng for PNGs); the server maps
`PreprocessingError` to a 4xx.
"""

from __future__ import annotations

import functools
import io
import math
import re
import struct
from itertools import chain

import numpy as np
import pyspng
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

__all__ = [
    "ACCEPTED_FORMATS",
    "EmptyDrawingError",
    "ImageDecodeError",
    "ImageTooLargeError",
    "PixelsError",
    "PreprocessingError",
    "decode_image",
    "drawing_to_mnist",
    "image_to_mnist",
    "pixels_to_mnist",
    "prepare_resampling",
]

FIELD_SIDE = 28
DIGIT_BOX_SIDE = 20
# The side of the PNGs the page sends (EXPORT_SIDE in static/js/drawing_canvas.js): the
# resampling for every box that fits in it is prepared when the server starts.
PAGE_CANVAS_SIDE = 280

# Pillow format names, in the order a person would list them.
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP")
_ACCEPTED_FORMATS_TEXT = "PNG, JPEG, WebP, GIF or BMP"

# Ink is measured on a 0–255 scale as "how far a pixel is from the background".
# Below this peak the image has no drawing, only noise (JPEG ringing, paper grain, dithering).
_MIN_INK_CONTRAST = 32
# Ink fainter than this fraction of the strongest ink is noise (JPEG artefacts around strokes);
# it is removed before the bounding box is taken and the rest is stretched back to 0–1.
_NOISE_FLOOR_FRACTION = 0.2
# In a larger image the ink is first found on a box-filtered copy at most this big; the part
# holding it is then cut from the full image (and box-filtered to at most this size again), so
# the NumPy work never touches millions of pixels yet a small digit keeps its detail.
_WORKING_SIDE = 512
# The final scaling to the 20 px box is Pillow's resize(LANCZOS, reducing_gap=2): box-filter
# by the largest whole factor that leaves at least twice the target size, then antialiased
# Lanczos-3. On real MNIST digits blown up 10× this gives them back best (mean correlation
# 0.996 up to a one-pixel shift, vs 0.992 for plain area averaging). It is applied as one
# matrix per axis (see _resampling_matrix).
_REDUCING_GAP = 2.0
_LANCZOS_SUPPORT = 3.0

# Exceptions Pillow raises on files that are not what their header promises.
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


class PreprocessingError(ValueError):
    """Input that cannot become a digit; the message says what to fix."""


class EmptyDrawingError(PreprocessingError):
    def __init__(self, message: str = "the drawing is empty") -> None:
        super().__init__(message)


class ImageDecodeError(PreprocessingError):
    """Not an image in an accepted format, or a truncated/corrupt one."""


class ImageTooLargeError(PreprocessingError):
    """The image's dimensions (read from its header) are over the limit."""


class PixelsError(PreprocessingError):
    """A `pixels` array that is not 28×28 numbers in [0, 1]."""


# --------------------------------------------------------------------------------------------
# Decoding


def decode_image(data: bytes, max_side: int = 4096) -> Image.Image:
    """Decode PNG/JPEG/WebP/GIF/BMP bytes, refusing images wider or taller than `max_side`.

    The size is read from the header before any pixel is decoded, so a small file that claims
    huge dimensions costs nothing. Animated images give their first frame. JPEG/WebP/PNG EXIF
    orientation is applied, so a photo comes out the way the person saw it.
    """
    return _load(_open_within_limits(data, max_side), max_side)


def drawing_to_mnist(data: bytes, max_side: int = 4096) -> np.ndarray:
    """Decode an image file and return the digit in it as MNIST input: what /predict does.

    The page sends an 8-bit PNG of its canvas several times a second while a person draws.
    Those are decoded by libspng (pyspng) straight into a NumPy array: about twice as fast as
    Pillow's decoder, and it saves copying the pixels out of a Pillow image. Anything else, or
    a PNG libspng refuses, goes through Pillow, which also says what is wrong with a bad file.
    """
    if _is_plain_canvas_png(data, min(max_side, _WORKING_SIDE)):
        try:
            pixels = pyspng.load(bytes(data))
        except RuntimeError:
            pass
        else:
            return _array_to_mnist(pixels)
    return image_to_mnist(_load(_open_within_limits(data, max_side), max_side))


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Chunks that change what the pixels mean (transparent colour, orientation, animation): such
# PNGs go through Pillow, which honours them.
_PNG_CHUNKS_FOR_PILLOW = (b"tRNS", b"eXIf", b"acTL")


def _is_plain_canvas_png(data: bytes, max_side: int) -> bool:
    """An 8-bit grey/RGB(A) PNG at most `max_side` wide and high, with no palette and no chunk
    that changes what its pixels mean; read from the chunk headers before the pixel data."""
    if not data.startswith(_PNG_SIGNATURE) or len(data) < 33 or data[12:16] != b"IHDR":
        return False
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    if depth != 8 or colour not in (0, 2, 4, 6):
        return False
    if not (0 < width <= max_side and 0 < height <= max_side):
        return False
    position = 33  # signature (8) + IHDR (4 length + 4 type + 13 data + 4 CRC)
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        if kind == b"IDAT":
            return True
        if kind in _PNG_CHUNKS_FOR_PILLOW:
            return False
        position += 12 + length
    return False


def _open_within_limits(data: bytes, max_side: int) -> Image.Image:
    """Read the header only, and refuse what is not an accepted image or is too large."""
    if max_side < 1:
        raise ValueError(f"max_side must be at least 1, got {max_side}")
    if not data:
        raise ImageDecodeError("the image file is empty")
    data = bytes(data)  # a bytearray or memoryview works too
    try:
        image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
    except UnidentifiedImageError:
        if _has_accepted_signature(data):
            raise ImageDecodeError("the image is truncated or corrupt") from None
        raise ImageDecodeError(
            f"the file is not a {_ACCEPTED_FORMATS_TEXT} image; send one of those formats"
        ) from None
    except Image.DecompressionBombError as error:
        # Pillow refuses absurd sizes inside open(), before we get to read them ourselves.
        raise ImageTooLargeError(_too_large_message(_claimed_pixels(error), max_side)) from None
    except _PILLOW_DECODE_ERRORS:
        raise ImageDecodeError("the image is truncated or corrupt") from None

    width, height = image.size
    max_pixels = Image.MAX_IMAGE_PIXELS
    if width > max_side or height > max_side or (max_pixels and width * height > max_pixels):
        raise ImageTooLargeError(
            f"the image is too large ({width}×{height} pixels); "
            f"it may be at most {max_side}×{max_side} pixels"
        )
    return image


def _load(image: Image.Image, max_side: int) -> Image.Image:
    """Decode the pixels of an opened image (the first frame of an animation), upright."""
    try:
        image.load()
    except Image.DecompressionBombError as error:
        raise ImageTooLargeError(_too_large_message(_claimed_pixels(error), max_side)) from None
    except _PILLOW_DECODE_ERRORS:
        raise ImageDecodeError("the image is truncated or corrupt") from None
    return _upright(image)


def _has_accepted_signature(data: bytes) -> bool:
    """True if the file starts like one of the accepted formats (so it is broken, not foreign)."""
    return data.startswith(
        (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM")
    ) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP")


def _claimed_pixels(error: Exception) -> int | None:
    match = re.search(r"\((\d+) pixels\)", str(error))
    return int(match.group(1)) if match else None


def _too_large_message(pixels: int | None, max_side: int) -> str:
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


# --------------------------------------------------------------------------------------------
# Image → MNIST


def image_to_mnist(image: Image.Image) -> np.ndarray:
    """Return the digit in `image` as MNIST input: (28, 28) float32 in [0, 1], ink high.

    Whatever is far from the background is ink: opaque strokes on a transparent canvas, dark
    on light, light on dark, or coloured. The background is the median colour of the border.

    Raises EmptyDrawingError if there is no ink.
    """
    if not isinstance(image, Image.Image):
        raise TypeError(f"image_to_mnist expects a PIL image, got {type(image).__name__}")
    if image.width == 0 or image.height == 0:
        raise EmptyDrawingError
    working = _bands_showing_ink(_working_image(image))
    factor = math.ceil(max(working.size) / _WORKING_SIDE)
    overview = working.reduce(factor) if factor > 1 else working
    bands = _band_values(overview)
    background = [_border_median(band) for band in bands]
    ink = _ink_values(bands, background)
    if factor > 1:
        detail = _detail_around_ink(working, ink, factor)
        ink = _ink_values(_band_values(detail), background)
    return _place_by_centre_of_mass(_digit_in_box(ink))


def _working_image(image: Image.Image) -> Image.Image:
    """Return the image in "L", "LA", "RGB" or "RGBA", the modes the ink maths understands."""
    mode = image.mode
    if "transparency" in image.info and mode in ("L", "P", "RGB"):
        return image.convert("RGBA")
    if mode in ("L", "LA", "RGB", "RGBA"):
        return image
    if mode in ("1", "P"):
        return image.convert("L" if mode == "1" else "RGB")
    if mode in ("PA", "RGBa"):
        return image.convert("RGBA")
    if mode == "La":
        return image.convert("LA")
    if mode == "F" or mode.startswith("I"):
        return _high_depth_to_grey(image)
    try:
        return image.convert("RGB")  # CMYK, YCbCr, RGBX, HSV ...
    except ValueError:
        raise PreprocessingError(f"images in colour mode {mode} are not supported") from None


def _high_depth_to_grey(image: Image.Image) -> Image.Image:
    """16/32-bit integer or float greyscale → 8-bit, keeping contrast relative to the format's
    full scale (not to the image's own range, which would turn faint noise into strong ink)."""
    values = np.asarray(image, dtype=np.float64)
    low = min(0.0, float(values.min()))
    high = float(values.max())
    if image.mode.startswith("I;16"):
        full_scale = 65535.0
    elif image.mode == "F" and high <= 1.0:
        full_scale = 1.0
    elif high <= 255.0:
        full_scale = 255.0
    elif high <= 65535.0:
        full_scale = 65535.0
    else:
        full_scale = high
    full_scale = max(full_scale, low + 1.0)
    grey = np.clip((values - low) * (255.0 / (full_scale - low)), 0, 255)
    return Image.fromarray(grey.round().astype(np.uint8))


def _bands_showing_ink(image: Image.Image) -> Image.Image:
    """Drop the bands of an image with transparency that can't show its ink (see _ink_bands)."""
    if image.mode not in ("LA", "RGBA"):
        return image
    alpha = image.getchannel("A")
    chosen = _ink_bands(np.asarray(alpha))
    if chosen == "alpha":
        return alpha
    if chosen == "colours":
        return image.convert(image.mode[:-1])
    return image


def _ink_bands(alpha: np.ndarray) -> str:
    """Which bands of an image with transparency show its ink: "alpha", "colours" or "all".

    On a transparent background (a canvas's toDataURL), opacity alone is the ink, whatever the
    strokes' colour: |alpha - 0| >= alpha × any colour distance, and the colour of invisible
    pixels is meaningless. A fully opaque image is just its colours.
    """
    if _border_median(alpha) == 0:
        return "alpha"
    if alpha.min() == 255:
        return "colours"
    return "all"


def _array_to_mnist(pixels: np.ndarray) -> np.ndarray:
    """MNIST input from decoded pixels: (height, width) grey or (height, width, bands) uint8."""
    if pixels.ndim == 2:
        return _bands_to_mnist([pixels])
    count = pixels.shape[2]
    keep = range(count)
    if count in (2, 4):
        chosen = _ink_bands(pixels[..., -1])
        if chosen == "alpha":
            # The page's drawings: the opacity is the ink as it is (its background is 0).
            return _place_by_centre_of_mass(_digit_in_box(np.ascontiguousarray(pixels[..., -1])))
        if chosen == "colours":
            keep = range(count - 1)
    # Contiguous copies: NumPy is several times faster on them than on interleaved views.
    return _bands_to_mnist([np.ascontiguousarray(pixels[..., i]) for i in keep])


def _bands_to_mnist(bands: list[np.ndarray]) -> np.ndarray:
    background = [_border_median(band) for band in bands]
    return _place_by_centre_of_mass(_digit_in_box(_ink_values(bands, background)))


def _band_values(image: Image.Image) -> list[np.ndarray]:
    """Each band as a uint8 array (splitting is much cheaper than one packed RGB array)."""
    if image.mode == "L":
        return [np.asarray(image)]
    return [np.asarray(band) for band in image.split()]


def _border_median(values: np.ndarray) -> int:
    """Median of the outermost pixels: the background, unless the drawing covers more than
    half of the border."""
    border = np.concatenate((values[0], values[-1], values[1:-1, 0], values[1:-1, -1]))
    middle = border.size // 2
    return int(np.partition(border, middle)[middle])


def _ink_values(bands: list[np.ndarray], background: list[int]) -> np.ndarray:
    """Per-pixel ink strength 0–255: the largest per-band distance from the background.

    With transparency (alpha is the last of 2 or 4 bands), a pixel's colour counts only as
    much as it is opaque, and a change of opacity is ink on its own.
    """
    has_alpha = len(bands) in (2, 4)
    colour_count = len(bands) - 1 if has_alpha else len(bands)
    ink = _distance(bands[0], background[0])
    for band, level in zip(bands[1:colour_count], background[1:colour_count], strict=True):
        ink = np.maximum(ink, _distance(band, level))
    if has_alpha:
        alpha = bands[-1]
        ink = (ink.astype(np.uint16) * alpha // 255).astype(np.uint8)
        ink = np.maximum(ink, _distance(alpha, background[-1]))
    return ink


def _distance(values: np.ndarray, level: int) -> np.ndarray:
    """|values - level| without leaving uint8 (`values` itself when level is 0)."""
    if level == 0:
        return values
    # NumPy's maximum/minimum are several times faster against an array than a scalar.
    levels = np.full_like(values, level)
    return np.maximum(values, levels) - np.minimum(values, levels)


def _detail_around_ink(image: Image.Image, overview_ink: np.ndarray, factor: int) -> Image.Image:
    """Cut the part of a large image that holds the ink (found on its `factor`-times reduced
    overview) and reduce that to at most _WORKING_SIDE: a small digit on a big canvas keeps
    its detail, a big one costs no more than a small image."""
    # Averaging dilutes a thin stroke by up to `factor`, so the threshold is lowered by as
    # much; a threshold that lets some noise in only makes the cut a bit larger.
    threshold = max(2, int(int(overview_ink.max()) * _NOISE_FLOOR_FRACTION / factor))
    box = _bounding_box(overview_ink, threshold)
    if box is None:
        raise EmptyDrawingError
    top, bottom, left, right = box
    width, height = image.size
    detail = image.crop(
        (
            max(0, (left - 1) * factor),
            max(0, (top - 1) * factor),
            min(width, (right + 1) * factor),
            min(height, (bottom + 1) * factor),
        )
    )
    if max(detail.size) > _WORKING_SIDE:
        detail = detail.reduce(math.ceil(max(detail.size) / _WORKING_SIDE))
    return detail


def _bounding_box(
    values: np.ndarray, threshold: int, row_maxima: np.ndarray | None = None
) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the values above `threshold`, bottom/right exclusive."""
    # Row and column maxima: cheaper than a full-size boolean mask.
    if row_maxima is None:
        row_maxima = values.max(axis=1)
    rows = np.flatnonzero(row_maxima > threshold)
    if rows.size == 0:
        return None
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    columns = np.flatnonzero(values[top:bottom].max(axis=0) > threshold)
    return top, bottom, int(columns[0]), int(columns[-1]) + 1


def _digit_in_box(ink: np.ndarray) -> np.ndarray:
    """Crop to the ink and scale it so its longer side is DIGIT_BOX_SIDE, strongest ink = 1."""
    row_maxima = ink.max(axis=1)
    peak = int(row_maxima.max())
    if peak < _MIN_INK_CONTRAST:
        raise EmptyDrawingError
    floor = int(peak * _NOISE_FLOOR_FRACTION)
    box = _bounding_box(ink, floor, row_maxima)
    if box is None:  # unreachable: the peak is above the floor
        raise EmptyDrawingError
    top, bottom, left, right = box
    height, width = bottom - top, right - left
    size = _digit_box_size(width, height)
    # Stretch floor..peak to 0..1 before resampling, so that faint noise (JPEG ringing) is gone
    # and a thin stroke keeps its strength. Resampling in float keeps faint anti-aliasing (8 bits
    # would round a thin stroke's faint end away, leaving a 19 px box).
    levels = ink[top:bottom, left:right].astype(np.float32)
    levels -= floor
    levels *= 1.0 / (peak - floor)
    np.clip(levels, 0.0, 1.0, out=levels)
    values = _resize(levels, size)
    np.clip(values, 0.0, None, out=values)  # Lanczos undershoots next to strong edges
    strongest = float(values.max())
    if strongest <= 0.0:
        raise EmptyDrawingError
    values *= 1.0 / strongest
    return values


def _digit_box_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) of a width × height box scaled so that its longer side is 20 px."""
    scale = DIGIT_BOX_SIDE / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _resize(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`values` (height, width) float32 resampled to `size` (width, height), as Pillow's
    ``Image.fromarray(values).resize(size, LANCZOS, reducing_gap=2)`` does it (equal within
    1e-6; tests/test_preprocessing.py checks), without the round trip through a Pillow image,
    which cost more than the arithmetic."""
    width, height = size
    rows = _resampling_matrix(values.shape[0], height)
    columns = _resampling_matrix(values.shape[1], width)
    # The cheaper order of the two products (they are equal).
    in_height, in_width = values.shape
    if in_height * width * (in_width + height) <= height * in_width * (in_height + width):
        return rows @ (values @ columns.T)
    return (rows @ values) @ columns.T


# (in_size, out_size) → matrix, for every box a page's drawing can have; filled at start-up.
_PREPARED_MATRICES: dict[tuple[int, int], np.ndarray] = {}


def prepare_resampling(max_side: int = PAGE_CANVAS_SIDE) -> int:
    """Build the resampling matrices of every ink box that fits a max_side canvas, so that no
    drawing from the page waits for one: for 280 px, 3,006 (size, target) pairs, ~18 MB,
    ~0.6 s. Pairs already prepared are not built again; returns how many are prepared."""
    pairs = {
        (side, target)
        for long_side in range(1, max_side + 1)
        for short_side in range(1, long_side + 1)
        for side, target in zip(
            (long_side, short_side), _digit_box_size(long_side, short_side), strict=True
        )
    }
    build = _build_resampling_matrix.__wrapped__  # not through the cache for other sizes
    prepared = {pair: build(*pair) for pair in pairs - _PREPARED_MATRICES.keys()}
    _PREPARED_MATRICES.update(prepared)  # one update: readers see a matrix whole or not at all
    return len(_PREPARED_MATRICES)


def _resampling_matrix(in_size: int, out_size: int) -> np.ndarray:
    matrix = _PREPARED_MATRICES.get((in_size, out_size))
    return matrix if matrix is not None else _build_resampling_matrix(in_size, out_size)


@functools.lru_cache(maxsize=512)  # uploads bigger than the page's canvas
def _build_resampling_matrix(in_size: int, out_size: int) -> np.ndarray:
    """(out_size, in_size) float32: Pillow's resize(LANCZOS, reducing_gap=2) along one axis.

    First ``Image.reduce``: the mean of each run of `factor` pixels (the last run may be
    shorter). Then Lanczos-3 over the reduced axis with Pillow's ``precompute_coeffs``: output
    pixel i is centred at (i + 0.5) · scale, its taps run from int(centre − support + 0.5) to
    int(centre + support + 0.5) within the axis, and when shrinking the filter is widened by
    the scale, which is what makes it antialiased. Built without a Python loop per pixel, yet
    ~0.1–0.5 ms each: hence prepare_resampling, and the cache for other sizes.
    """
    factor = int(in_size / out_size / _REDUCING_GAP) or 1
    reduced_size = -(-in_size // factor)
    scale = in_size / factor / out_size
    filter_scale = max(scale, 1.0)
    support = _LANCZOS_SUPPORT * filter_scale

    # Each output pixel's taps: a row of `width` reduced pixels from `firsts`, of which the
    # first `lengths` are inside the axis.
    centres = (np.arange(out_size) + 0.5) * scale
    firsts = np.maximum(np.trunc(centres - support + 0.5).astype(np.intp), 0)
    stops = np.minimum(np.trunc(centres + support + 0.5).astype(np.intp), reduced_size)
    lengths = stops - firsts
    width = int(lengths.max())
    taps = firsts[:, None] + np.arange(width)
    inside = np.arange(width) < lengths[:, None]
    x = (taps - centres[:, None] + 0.5) / filter_scale
    weights = np.where(
        inside & (x >= -_LANCZOS_SUPPORT) & (x < _LANCZOS_SUPPORT),
        np.sinc(x) * np.sinc(x / _LANCZOS_SUPPORT),
        0.0,
    )
    # Normalised by each row's sum over exactly its own taps. Rows of the same length are summed
    # together so that the sums are bit for bit those of the per-row loop the shipped 0/1
    # detector's training shapes were scaled with (tests/training checks it retrains exactly).
    totals = np.empty(out_size)
    for length in set(lengths.tolist()):
        same = lengths == length
        totals[same] = weights[same, :length].sum(axis=1)
    np.divide(weights, totals[:, None], out=weights, where=totals[:, None] != 0.0)
    lanczos = np.zeros((out_size, reduced_size))
    lanczos[np.nonzero(inside)[0], taps[inside]] = weights[inside]

    # Reducing first: input pixel j counts 1/len(its run) towards its run's reduced pixel.
    run = np.arange(in_size) // factor
    matrix = (lanczos[:, run] * (1.0 / np.bincount(run))[run]).astype(np.float32)
    matrix.flags.writeable = False  # shared by every request through the cache
    return matrix


def _place_by_centre_of_mass(digit: np.ndarray) -> np.ndarray:
    """Put the digit in the 28×28 field with its intensity-weighted centre of mass centred.

    Convention: pixel (row i, column j) has its centre at (i, j), so the field's centre is
    (13.5, 13.5). Real MNIST puts the centre of mass inside the central pixel (14, 14): over all
    60,000 training digits it lies in [13.5, 14.5] on both axes (mean 14.00, sd 0.29, i.e.
    uniform), which is what an integer shift that rounds towards (14, 14) gives. We do the same,
    so the centre of mass ends within 1 px of the exact centre, on the same side as MNIST's.
    A whole-pixel shift also keeps the 20 px box sharp (a sub-pixel shift would smear its
    edges into a 21st column).
    """
    height, width = digit.shape
    mass = digit.astype(np.float64)
    total = float(mass.sum())
    centre_row = float(mass.sum(axis=1) @ np.arange(height)) / total
    centre_column = float(mass.sum(axis=0) @ np.arange(width)) / total
    field_centre = (FIELD_SIDE - 1) / 2
    # The shift is rounded to 4 decimals before ceil: a symmetric stroke's centre lies exactly
    # halfway between two pixels, where float rounding in the resampling would pick either
    # shift at random. It is then limited to the field: a digit whose mass is far off its box's
    # middle (say a heavy top bar and a thin tail) can't be centred without leaving the field;
    # MNIST cut such tails off, we keep all ink instead.
    top = min(max(math.ceil(round(field_centre - centre_row, 4)), 0), FIELD_SIDE - height)
    left = min(max(math.ceil(round(field_centre - centre_column, 4)), 0), FIELD_SIDE - width)
    field = np.zeros((FIELD_SIDE, FIELD_SIDE), dtype=np.float32)
    field[top : top + height, left : left + width] = digit
    return np.clip(field, 0.0, 1.0, out=field)


# --------------------------------------------------------------------------------------------
# Pixels → MNIST

_EXPECTED_PIXELS = "28 rows of 28 numbers, or a flat list of 784 numbers"


def pixels_to_mnist(pixels: object) -> np.ndarray:
    """Validate pixels already in MNIST form (white ink on black, 0–1) and return them as a
    (28, 28) float32 array, unchanged."""
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


def _checked_array(pixels: np.ndarray) -> np.ndarray:
    if pixels.shape not in ((FIELD_SIDE, FIELD_SIDE), (FIELD_SIDE * FIELD_SIDE,)):
        raise PixelsError(f"pixels must be {_EXPECTED_PIXELS}; got shape {pixels.shape}")
    if pixels.dtype.kind not in "iuf":
        raise PixelsError(f"pixels must be numbers; got an array of {pixels.dtype}")
    return pixels.astype(np.float64).ravel()


def _checked_list(pixels: list | tuple) -> np.ndarray:
    is_rows = len(pixels) > 0 and isinstance(pixels[0], (list, tuple))
    if is_rows:
        if len(pixels) != FIELD_SIDE or any(
            not isinstance(row, (list, tuple)) or len(row) != FIELD_SIDE for row in pixels
        ):
            raise PixelsError(f"pixels must be {_EXPECTED_PIXELS}; got {_describe(pixels)}")
        flat = list(chain.from_iterable(pixels))
    else:
        if len(pixels) != FIELD_SIDE * FIELD_SIDE:
            raise PixelsError(f"pixels must be {_EXPECTED_PIXELS}; got {_describe(pixels)}")
        flat = pixels
    # JSON gives int/float; anything else (bool, str, None, nested lists) must be refused
    # before NumPy quietly turns True into 1.0, "0.5" into 0.5 or None into NaN.
    if not set(map(type, flat)) <= {int, float}:
        for index, value in enumerate(flat):
            if isinstance(value, (list, tuple)):
                raise PixelsError(f"pixels must be {_EXPECTED_PIXELS}; got {_describe(pixels)}")
            if isinstance(value, bool) or not isinstance(
                value, (int, float, np.integer, np.floating)
            ):
                raise PixelsError(
                    f"pixels must be numbers; found {value!r} ({type(value).__name__}) "
                    f"{_position(index)}"
                )
    try:
        return np.array(flat, dtype=np.float64)
    except OverflowError:
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
