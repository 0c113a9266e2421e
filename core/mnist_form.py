"""Any image of a digit → the 28×28 input an MNIST network expects, made the way MNIST was made.

MNIST scaled each digit so that its bounding box's longer side is 20 px (keeping the aspect
ratio, with anti-aliasing) and then moved it inside a 28×28 field so that its centre of mass
sits at the centre. `image_to_mnist` does the same for any image, read top to bottom:

1. bring the image to a mode whose bands show the ink (grey, colour, with or without alpha);
2. take the background to be the median colour of the border, and each pixel's ink to be how
   far it is from that background;
3. crop to the ink, drop faint noise, and scale the ink's box so its longer side is 20 px;
4. shift it whole pixels so that its centre of mass is in the middle of a 28×28 field.

Two switches skip steps, to show what they are for: without `fit` the whole image is squashed
to 28×28 as naive demos do (no crop, no 20 px box, the aspect ratio lost); without `centre` the
digit stays where it is (with `fit`, its box goes in the middle of the field instead).
`image_to_mnist(…, on_stage=…)` hands over the drawing at every step as it is made, each a
`Stage` (the image as sent, its ink, …, the network's input (1, 784)), for the page's strip of
steps; `image_stages` lists them. A caller keeps only the stages it shows: holding on to the
image as sent while the next steps run would cost every request a tenth of a millisecond.

`drawing_to_mnist` decodes an image file first, as POST /predict does; input that is already in
MNIST form is only checked, by `core.mnist_pixels.pixels_to_mnist`.

Over 300 lines because the four steps, and the reasons behind each choice in them, are read in
order in one place.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from core.image_decoding import decode_image
from core.input_errors import EmptyDrawingError, PreprocessingError

__all__ = [
    "DIGIT_BOX_SIDE",
    "FIELD_SIDE",
    "NOISE_FLOOR_FRACTION",
    "Stage",
    "drawing_to_mnist",
    "image_stages",
    "image_to_mnist",
    "input_stage",
]

FIELD_SIDE = 28
DIGIT_BOX_SIDE = 20

# Ink is measured on a 0–255 scale as "how far a pixel is from the background". If the
# strongest ink is below this, the image holds no drawing, only noise (JPEG ringing, paper grain).
MIN_INK_CONTRAST = 32
# Ink fainter than this fraction of the strongest is noise (JPEG artefacts around strokes): it is
# left out of the box, and the rest is stretched back to 0–1.
NOISE_FLOOR_FRACTION = 0.2
# A larger image is searched for ink on a copy box-filtered down to at most this side; only the
# part holding the ink is then taken from the full image (and box-filtered to at most this side
# again). Memory stays bounded for a 4096 px upload, yet a small digit on it keeps its detail.
WORKING_SIDE = 512


@dataclass(frozen=True)
class Stage:
    """The drawing at one step on its way to the network's input."""

    name: str  # canvas, ink, box, scaled or squashed, centred or placed, input
    values: np.ndarray | Image.Image  # the image as sent stays a Pillow image
    note: str  # what this step did, in one line


def _ignore(stage: Stage) -> None:
    """The default `on_stage`: the stages are not kept."""


def drawing_to_mnist(
    data: bytes,
    max_side: int = 4096,
    *,
    fit: bool = True,
    centre: bool = True,
    on_stage: Callable[[Stage], object] = _ignore,
) -> np.ndarray:
    """Decode an image file (see `core.image_decoding`) and return the digit in it."""
    return image_to_mnist(decode_image(data, max_side), fit=fit, centre=centre, on_stage=on_stage)


def image_stages(image: Image.Image, *, fit: bool = True, centre: bool = True) -> list[Stage]:
    """The digit in `image` at every step to MNIST input, in order; the last is the network's
    input (1, 784)."""
    stages: list[Stage] = []
    image_to_mnist(image, fit=fit, centre=centre, on_stage=stages.append)
    return stages


def image_to_mnist(
    image: Image.Image,
    *,
    fit: bool = True,
    centre: bool = True,
    on_stage: Callable[[Stage], object] = _ignore,
) -> np.ndarray:
    """Return the digit in `image` as MNIST input: (28, 28) float32 in [0, 1], ink high.

    Whatever is far from the background is ink: opaque strokes on a transparent canvas (what the
    page sends), dark on light, light on dark, or coloured. Raises EmptyDrawingError if there is
    no ink. `on_stage` gets each stage as it is made, holding the arrays the step made (nothing
    is copied for it); the last is the network's input (1, 784).
    """
    if not isinstance(image, Image.Image):
        raise TypeError(f"image_to_mnist expects a PIL image, got {type(image).__name__}")
    if image.width == 0 or image.height == 0:
        raise EmptyDrawingError
    on_stage(Stage("canvas", image, f"the image as sent: {_size(image)} pixels, {image.mode}"))
    image = _bands_showing_ink(_in_a_mode_with_ink_bands(image))

    factor = math.ceil(max(image.size) / WORKING_SIDE)
    overview = image.reduce(factor) if factor > 1 else image
    bands = _bands(overview)
    background = [_border_median(band) for band in bands]
    ink = _ink(bands, _has_alpha(overview), background)
    reduced = f"; on a copy reduced {factor}× to {_size(overview)}" if factor > 1 else ""
    if fit and factor > 1:
        detail = _detail_around_ink(image, ink, factor)
        ink = _ink(_bands(detail), _has_alpha(detail), background)
        reduced = f"; the part holding the ink, reduced to {_size(ink)}"
    on_stage(Stage("ink", ink, f"ink 0–255: how far each pixel is from the background{reduced}"))

    if fit:
        levels, box = _ink_in_its_box(ink)
        note = f"cropped to the ink's box, {box}; faint noise dropped, the ink stretched to 0–1"
        on_stage(Stage("box", levels, note))
        digit = _scaled_to_digit_box(levels)
        note = f"scaled to {_size(digit)}: its longer side {DIGIT_BOX_SIDE} px, its shape kept"
        on_stage(Stage("scaled", digit, note))
    else:
        digit = _squashed_to_field(ink)
        note = f"the whole image squashed to {_size(digit)}, margins and all (as naive demos do)"
        on_stage(Stage("squashed", digit, note))
    if centre:
        field, (row, column) = _centred_in_field(digit if fit else _ink_only(digit))
        note = f"moved so that its centre of mass is at {_centre_text(row, column)}, as in MNIST"
        on_stage(Stage("centred", field, note))
    elif fit:
        field = _placed_in_field(digit)
        centre_of_mass = _centre_text(*_centre_of_mass(field))
        note = f"its box in the middle of the field; its centre of mass at {centre_of_mass}"
        on_stage(Stage("placed", field, note))
    else:
        field = digit  # squashed, it fills the field already
    on_stage(input_stage(field))
    return field


def input_stage(field: np.ndarray) -> Stage:
    """The network's input: the 28×28 field read row by row, one row for one drawing."""
    return Stage(
        "input",
        field.reshape(1, FIELD_SIDE * FIELD_SIDE),
        f"read row by row into (1, {FIELD_SIDE * FIELD_SIDE}): one drawing, one row, "
        "the network's input",
    )


def _size(values: np.ndarray | Image.Image) -> str:
    if isinstance(values, Image.Image):
        return f"{values.width}×{values.height}"
    return f"{values.shape[1]}×{values.shape[0]}"


# --------------------------------------------------------------------------------------------
# 1. Bands that show the ink


def _in_a_mode_with_ink_bands(image: Image.Image) -> Image.Image:
    """The image in "L", "LA", "RGB" or "RGBA"."""
    mode = image.mode
    if "transparency" in image.info and mode in ("L", "P", "RGB"):
        return image.convert("RGBA")  # a transparent colour (PNG tRNS, GIF) becomes alpha
    if mode in ("L", "LA", "RGB", "RGBA"):
        return image
    conversions = {"1": "L", "P": "RGB", "PA": "RGBA", "RGBa": "RGBA", "La": "LA"}
    if mode in conversions:
        return image.convert(conversions[mode])
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
    """Of an image with alpha: on a transparent background (a canvas's toDataURL) only the
    opacity, whatever the strokes' colour (the colour of invisible pixels means nothing); of a
    fully opaque one only the colours; otherwise both."""
    if image.mode not in ("LA", "RGBA"):
        return image
    alpha = image.getchannel("A")
    if _border_median(np.asarray(alpha)) == 0:
        return alpha
    if alpha.getextrema()[0] == 255:
        return image.convert(image.mode[:-1])
    return image


# --------------------------------------------------------------------------------------------
# 2. Ink: how far each pixel is from the background


def _bands(image: Image.Image) -> list[np.ndarray]:
    values = np.asarray(image)  # one copy of the pixels; each band a view of it
    return [values] if values.ndim == 2 else [values[..., band] for band in range(values.shape[2])]


def _border_median(values: np.ndarray) -> int:
    """Median of the outermost pixels: the background, unless the drawing covers more than
    half of the border."""
    border = np.concatenate((values[0], values[-1], values[1:-1, 0], values[1:-1, -1]))
    middle = border.size // 2
    return int(np.partition(border, middle)[middle])


def _has_alpha(image: Image.Image) -> bool:
    return image.mode in ("LA", "RGBA")


def _ink(bands: list[np.ndarray], has_alpha: bool, background: list[int]) -> np.ndarray:
    """Per-pixel ink strength 0–255 (uint8): the largest per-band distance from the background.

    With alpha (the last of 2 or 4 bands), a pixel's colour counts only as much as it is
    opaque, and a change of opacity is ink on its own.
    """
    if len(bands) == 1:  # grey, or the opacity of a transparent canvas (what the page sends)
        band, level = bands[0], background[0]
        return np.maximum(band, level) - np.minimum(band, level)  # |band − level|, in uint8
    bands = [band.astype(np.int32) for band in bands]
    colours = bands[:-1] if has_alpha else bands
    distances = [
        np.abs(band - level)
        for band, level in zip(colours, background[: len(colours)], strict=True)
    ]
    ink = np.max(distances, axis=0)
    if has_alpha:
        alpha = bands[-1]
        ink = np.maximum(ink * alpha // 255, np.abs(alpha - background[-1]))
    return ink.astype(np.uint8)


def _detail_around_ink(image: Image.Image, overview_ink: np.ndarray, factor: int) -> Image.Image:
    """The part of a large image that holds the ink found on its `factor`-times reduced
    overview, reduced to at most WORKING_SIDE."""
    # Averaging dilutes a thin stroke by up to `factor`, so the threshold is lowered by as much;
    # letting some noise in only makes the cut a little larger.
    threshold = max(2, int(int(overview_ink.max()) * NOISE_FLOOR_FRACTION / factor))
    box = _bounding_box(overview_ink, threshold)
    if box is None:
        raise EmptyDrawingError
    top, bottom, left, right = box
    detail = image.crop(
        (
            max(0, (left - 1) * factor),
            max(0, (top - 1) * factor),
            min(image.width, (right + 1) * factor),
            min(image.height, (bottom + 1) * factor),
        )
    )
    if max(detail.size) > WORKING_SIDE:
        detail = detail.reduce(math.ceil(max(detail.size) / WORKING_SIDE))
    return detail


def _bounding_box(values: np.ndarray, threshold: int) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the values above `threshold`, bottom and right exclusive."""
    above = values > threshold
    rows, columns = np.flatnonzero(above.any(axis=1)), np.flatnonzero(above.any(axis=0))
    if rows.size == 0:
        return None
    return int(rows[0]), int(rows[-1]) + 1, int(columns[0]), int(columns[-1]) + 1


# --------------------------------------------------------------------------------------------
# 3. The ink's box, scaled to 20 px


def _ink_in_its_box(ink: np.ndarray) -> tuple[np.ndarray, str]:
    """The ink's bounding box, faint noise dropped and the rest stretched to 0–1; and the box
    in words."""
    floor, peak = _noise_floor(ink)
    box = _bounding_box(ink, floor)
    assert box is not None  # the peak is above the floor
    top, bottom, left, right = box
    levels = _stretched(ink[top:bottom, left:right], floor, peak)
    return levels, f"{right - left}×{bottom - top} px at column {left}, row {top}"


def _noise_floor(ink: np.ndarray) -> tuple[int, int]:
    """(the level below which ink is noise, the strongest ink); EmptyDrawingError if even the
    strongest is too faint to be a drawing."""
    peak = int(ink.max())
    if peak < MIN_INK_CONTRAST:
        raise EmptyDrawingError
    return int(peak * NOISE_FLOOR_FRACTION), peak


def _stretched(ink: np.ndarray, floor: int, peak: int) -> np.ndarray:
    """Ink 0–255 → levels 0–1, the floor to 0 and the peak to 1."""
    # Stretching floor..peak to 0..1 before scaling takes faint noise away and a thin stroke
    # keeps its strength. Scaling in float keeps faint anti-aliasing (8 bits would round a thin
    # stroke's faint end away, leaving a 19 px box).
    levels = (ink.astype(np.float32) - floor) / (peak - floor)
    return np.clip(levels, 0.0, 1.0, out=levels)


def _scaled_to_digit_box(levels: np.ndarray) -> np.ndarray:
    """The ink's box scaled so its longer side is DIGIT_BOX_SIDE, strongest ink = 1."""
    height, width = levels.shape
    return _resized(levels, _digit_box_size(width, height))


def _squashed_to_field(ink: np.ndarray) -> np.ndarray:
    """The whole image's ink resized to the 28×28 field, whatever its shape: no crop, no box."""
    return _resized(_stretched(ink, *_noise_floor(ink)), (FIELD_SIDE, FIELD_SIDE))


def _resized(levels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`levels` resized to `size` (width, height), strongest = 1."""
    # Box-filter by the largest whole factor that leaves at least twice the target size, then
    # antialiased Lanczos-3: on real MNIST digits blown up 10× this gives them back best (mean
    # correlation 0.996 up to a one-pixel shift, against 0.992 for plain area averaging).
    scaled = Image.fromarray(levels).resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)
    values = np.clip(np.asarray(scaled), 0.0, None)  # Lanczos undershoots next to strong edges
    strongest = float(values.max())
    if strongest <= 0.0:
        raise EmptyDrawingError
    return values / np.float32(strongest)


def _digit_box_size(width: int, height: int) -> tuple[int, int]:
    """(width, height) of a width × height box scaled so that its longer side is 20 px."""
    scale = DIGIT_BOX_SIDE / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


# --------------------------------------------------------------------------------------------
# 4. Centred by its centre of mass


def _centred_in_field(digit: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """Put the digit in the 28×28 field with its intensity-weighted centre of mass centred; and
    where that centre is then (row, column).

    Pixel (row i, column j) has its centre at (i, j), so the field's centre is (13.5, 13.5).
    Real MNIST puts the centre of mass inside the central pixel (14, 14): over all 60,000
    training digits it lies in [13.5, 14.5] on both axes, which is what a whole-pixel shift that
    rounds towards (14, 14) gives. We do the same. A whole-pixel shift also keeps the 20 px box
    sharp (a sub-pixel shift would smear its edges into a 21st column).
    """
    height, width = digit.shape
    centre_row, centre_column = _centre_of_mass(digit)
    field_centre = (FIELD_SIDE - 1) / 2
    # The shift is rounded to 4 decimals before ceil: a symmetric stroke's centre lies exactly
    # halfway between two pixels, where float rounding in the scaling would pick either shift at
    # random. It is then limited to the field: a digit whose mass is far off its box's middle
    # (a heavy top bar and a thin tail) can't be centred without leaving the field; MNIST cut
    # such tails off, we keep all ink instead.
    top = min(max(math.ceil(round(field_centre - centre_row, 4)), 0), FIELD_SIDE - height)
    left = min(max(math.ceil(round(field_centre - centre_column, 4)), 0), FIELD_SIDE - width)
    return _in_field(digit, top, left), (centre_row + top, centre_column + left)


def _placed_in_field(digit: np.ndarray) -> np.ndarray:
    """The digit in the 28×28 field with its box in the middle, wherever its mass is."""
    height, width = digit.shape
    return _in_field(digit, (FIELD_SIDE - height) // 2, (FIELD_SIDE - width) // 2)


def _in_field(digit: np.ndarray, top: int, left: int) -> np.ndarray:
    height, width = digit.shape
    field = np.zeros((FIELD_SIDE, FIELD_SIDE), dtype=np.float32)
    field[top : top + height, left : left + width] = digit
    return np.clip(field, 0.0, 1.0, out=field)


def _ink_only(field: np.ndarray) -> np.ndarray:
    """A squashed field cut to where its ink is, so that the ink can move in it."""
    box = _bounding_box(field, 0)
    assert box is not None  # its strongest ink is 1
    top, bottom, left, right = box
    return field[top:bottom, left:right]


def _centre_of_mass(values: np.ndarray) -> tuple[float, float]:
    """(row, column) of the intensity-weighted centre of `values`."""
    height, width = values.shape
    mass = values.astype(np.float64)
    total = float(mass.sum())
    return (
        float(mass.sum(axis=1) @ np.arange(height)) / total,
        float(mass.sum(axis=0) @ np.arange(width)) / total,
    )


def _centre_text(row: float, column: float) -> str:
    return f"row {row:.1f}, column {column:.1f} (the middle is {(FIELD_SIDE - 1) / 2})"
