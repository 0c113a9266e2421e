"""core.preprocessing: any image (or a pixel list) → the 28×28 input MNIST digits are.

Test digits are drawn with Pillow here. Outputs are compared "up to one pixel of translation":
the centre of mass is placed by a whole-pixel shift (as in MNIST), so two drawings whose mass
sits a hair either side of a pixel boundary legitimately land one pixel apart.
"""

from __future__ import annotations

import io
import math
import random
import re
import struct
import warnings
import zlib
from collections.abc import Callable
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFile, ImageOps

from core import preprocessing
from core.preprocessing import (
    EmptyDrawingError,
    ImageDecodeError,
    ImageTooLargeError,
    PixelsError,
    PreprocessingError,
    decode_image,
    drawing_to_mnist,
    image_to_mnist,
    pixels_to_mnist,
)

DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data"

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


# --------------------------------------------------------------------------------------------
# image_to_mnist: geometry


@pytest.mark.parametrize("digit", DIGITS)
def test_reference_digit_is_a_valid_mnist_input(digit: str) -> None:
    assert_mnist_input(reference(digit))


@pytest.mark.parametrize("digit", DIGITS)
@pytest.mark.parametrize(
    "box",
    [(0, 0, 100), (180, 0, 100), (0, 180, 100), (180, 180, 100), (90, 90, 100), (0, 0, 280)],
    ids=["top-left", "top-right", "bottom-left", "bottom-right", "centre", "whole-canvas"],
)
def test_position_on_the_canvas_does_not_change_the_output(
    digit: str, box: tuple[int, int, int]
) -> None:
    result = image_to_mnist(draw_digit(digit, box=box))

    assert_mnist_input(result)
    assert difference_up_to_one_pixel(result, reference(digit)) < REDRAWN_TOLERANCE


@pytest.mark.parametrize("digit", DIGITS)
@pytest.mark.parametrize(
    ("canvas_side", "tolerance"),
    [
        (30, SMALL_DRAWING_TOLERANCE),
        (56, SMALL_DRAWING_TOLERANCE),
        (140, REDRAWN_TOLERANCE),
        (280, REDRAWN_TOLERANCE),
        (1000, REDRAWN_TOLERANCE),
        (2000, REDRAWN_TOLERANCE),
        (4096, REDRAWN_TOLERANCE),
    ],
)
def test_canvas_size_does_not_change_the_output(
    digit: str, canvas_side: int, tolerance: float
) -> None:
    side = round(canvas_side * 0.75)
    margin = (canvas_side - side) // 2
    image = draw_digit(digit, (canvas_side, canvas_side), (margin, margin, side))

    result = image_to_mnist(image)

    assert_mnist_input(result)
    assert difference_up_to_one_pixel(result, reference(digit)) < tolerance


@pytest.mark.parametrize("digit", DIGITS)
def test_small_digit_on_a_huge_canvas_keeps_its_detail(digit: str) -> None:
    image = draw_digit(digit, (4096, 4096), (3000, 500, 120))

    result = image_to_mnist(image)

    assert_mnist_input(result)
    assert difference_up_to_one_pixel(result, reference(digit)) < REDRAWN_TOLERANCE


@pytest.mark.parametrize("digit", DIGITS)
@pytest.mark.parametrize("stroke", [0.01, 0.03, 0.1, 0.2, 0.3])
def test_stroke_width_keeps_the_box_and_the_centre(digit: str, stroke: float) -> None:
    assert_mnist_input(image_to_mnist(draw_digit(digit, stroke=stroke)))


@pytest.mark.parametrize("digit", DIGITS)
@pytest.mark.parametrize(
    ("canvas", "box"),
    [((600, 200), (380, 10, 180)), ((200, 600), (10, 400, 180)), ((1200, 90), (5, 5, 80))],
    ids=["wide", "tall", "banner"],
)
def test_non_square_canvas_gives_the_same_output(
    digit: str, canvas: tuple[int, int], box: tuple[int, int, int]
) -> None:
    result = image_to_mnist(draw_digit(digit, canvas, box))

    assert_mnist_input(result)
    assert difference_up_to_one_pixel(result, reference(digit)) < REDRAWN_TOLERANCE


def test_horizontal_dash_keeps_its_aspect_ratio() -> None:
    image = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(image).line([(40, 140), (240, 140)], fill=0, width=20)

    result = image_to_mnist(image)

    assert_mnist_input(result)
    assert ink_box(result) == (2, 20)


def test_vertical_bar_keeps_its_aspect_ratio() -> None:
    image = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(image).line([(140, 40), (140, 240)], fill=0, width=40)

    result = image_to_mnist(image)

    assert_mnist_input(result)
    assert ink_box(result) == (20, 4)


def test_mass_far_off_centre_keeps_all_ink_in_the_field() -> None:
    # A heavy bar with a thin tail: centring its mass exactly would push the tail out of the
    # field, so the digit is moved only as far as it fits (MNIST would have cut the tail off).
    image = Image.new("L", (280, 280), 255)
    pen = ImageDraw.Draw(image)
    pen.rectangle([40, 40, 240, 100], fill=0)
    pen.line([(140, 100), (140, 240)], fill=0, width=4)

    result = image_to_mnist(image)

    assert ink_box(result) == (20, 20)
    assert result[27].max() > INK_THRESHOLD  # the tail reaches the bottom row, not beyond
    assert centre_of_mass(result)[0] < 13.5


def test_single_dot_fills_the_box() -> None:
    image = Image.new("L", (280, 280), 255)
    ImageDraw.Draw(image).ellipse([130, 130, 150, 150], fill=0)

    result = image_to_mnist(image)

    assert_mnist_input(result)
    assert ink_box(result) == (20, 20)


# --------------------------------------------------------------------------------------------
# The resampling to the 20 px box, against Pillow's own


def pillow_resize(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    image = Image.fromarray(values.astype(np.float32))
    return np.asarray(image.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0))


@pytest.mark.parametrize(
    ("shape", "size"),
    [
        ((280, 280), (20, 20)),  # a whole canvas: box-reduced by 7, then Lanczos
        ((163, 126), (15, 20)),  # a typical drawing's box, not a multiple of the factor
        ((233, 73), (6, 20)),  # a narrow 1
        ((40, 39), (20, 20)),  # under 4× the target: no box reduction, Lanczos alone
        ((80, 79), (20, 20)),  # rows reduced by 2, columns not
        ((41, 80), (10, 20)),  # one axis reduced, the other not
        ((1000, 7), (1, 20)),  # a long, thin line
        ((12, 9), (15, 20)),  # a tiny digit, enlarged
        ((1, 1), (20, 20)),  # a single dot
        ((3, 1), (7, 20)),
        ((512, 511), (20, 20)),  # the working size's limit
    ],
)
def test_resize_equals_pillows_lanczos_with_reducing_gap(
    shape: tuple[int, int], size: tuple[int, int]
) -> None:
    values = np.random.default_rng(sum(shape)).random(shape, dtype=np.float32)
    values[values < 0.6] = 0.0  # strokes on empty paper, as after the noise floor

    ours = preprocessing._resize(values, size)

    assert ours.shape == (size[1], size[0]) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, pillow_resize(values, size), rtol=0, atol=1e-6)


@settings(max_examples=150, deadline=None)
@given(height=st.integers(1, 600), width=st.integers(1, 600), seed=st.integers(0, 2**16))
def test_resize_equals_pillow_for_any_box(height: int, width: int, seed: int) -> None:
    values = np.random.default_rng(seed).random((height, width), dtype=np.float32)
    scale = preprocessing.DIGIT_BOX_SIDE / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))

    np.testing.assert_allclose(
        preprocessing._resize(values, size), pillow_resize(values, size), rtol=0, atol=1e-6
    )


def test_every_box_of_the_pages_canvas_has_its_scaling_prepared() -> None:
    assert preprocessing.prepare_resampling() == 3006
    rng = np.random.default_rng(7)
    for width, height in rng.integers(1, preprocessing.PAGE_CANVAS_SIDE + 1, size=(300, 2)):
        size = preprocessing._digit_box_size(int(width), int(height))
        for pair in ((int(width), size[0]), (int(height), size[1])):
            prepared = preprocessing._PREPARED_MATRICES[pair]
            np.testing.assert_array_equal(prepared, preprocessing._build_resampling_matrix(*pair))


def test_the_prepared_canvas_side_is_the_one_the_page_exports() -> None:
    script = (Path(__file__).resolve().parents[2] / "static/js/drawing_canvas.js").read_text()
    exported = re.search(r"const EXPORT_SIDE = (\d+);", script)
    assert exported is not None, "static/js/drawing_canvas.js no longer defines EXPORT_SIDE"
    assert int(exported.group(1)) == preprocessing.PAGE_CANVAS_SIDE


def test_a_symmetric_stroke_is_centred_the_same_way_on_both_axes() -> None:
    # A plus sign with arms of equal length: its centre of mass lies exactly between two
    # pixels on both axes, so both ties must be broken alike, whatever float noise says.
    # (These sizes are ones where float noise put the two centres on opposite sides.)
    image = Image.new("L", (120, 120), 255)
    draw = ImageDraw.Draw(image)
    draw.rectangle([10, 50, 109, 69], fill=0)
    draw.rectangle([50, 10, 69, 109], fill=0)

    result = image_to_mnist(image)

    # Equal up to float rounding (rows and columns are resampled in a different order); a
    # tie broken differently would put one axis a whole pixel off.
    np.testing.assert_allclose(result, result.T, rtol=0, atol=1e-5)


# --------------------------------------------------------------------------------------------
# image_to_mnist: what counts as ink


def _redrawn(**drawing: object) -> Callable[[str], Image.Image]:
    return lambda digit: draw_digit(digit, **drawing)  # type: ignore[arg-type]


def _converted(target_mode: str, **drawing: object) -> Callable[[str], Image.Image]:
    return lambda digit: draw_digit(digit, **drawing).convert(target_mode)  # type: ignore[arg-type]


def _sixteen_bit(digit: str) -> Image.Image:
    grey = np.asarray(draw_digit(digit), dtype=np.uint16) * 257
    return Image.fromarray(grey)  # mode "I;16", like a 16-bit greyscale PNG


def _transparent_palette(digit: str) -> Image.Image:
    image = draw_digit(digit, mode="P", background=1, ink=0)
    image.putpalette([0, 0, 0, 255, 255, 255])
    image.info["transparency"] = 1  # the white background is transparent (GIF/PNG tRNS)
    return image


INK_CONVENTIONS: dict[str, Callable[[str], Image.Image]] = {
    "black on white": _redrawn(),
    "white on black": _redrawn(background=0, ink=255),
    "dark grey on light grey": _redrawn(background=200, ink=60),
    "black on transparent": _redrawn(mode="RGBA", background=(0, 0, 0, 0), ink=(0, 0, 0, 255)),
    "white on transparent": _redrawn(
        mode="RGBA", background=(255, 255, 255, 0), ink=(255, 255, 255, 255)
    ),
    "white on transparent black": _redrawn(
        mode="RGBA", background=(0, 0, 0, 0), ink=(255, 255, 255, 255)
    ),
    "red on transparent": _redrawn(mode="RGBA", background=(0, 0, 0, 0), ink=(220, 0, 0, 255)),
    "black on opaque white RGBA": _redrawn(
        mode="RGBA", background=(255, 255, 255, 255), ink=(0, 0, 0, 255)
    ),
    "black on half-transparent white": _redrawn(
        mode="RGBA", background=(255, 255, 255, 128), ink=(0, 0, 0, 255)
    ),
    "red on white": _redrawn(mode="RGB", background=(255, 255, 255), ink=(255, 0, 0)),
    "blue on white": _redrawn(mode="RGB", background=(255, 255, 255), ink=(0, 0, 255)),
    "green on white": _redrawn(mode="RGB", background=(255, 255, 255), ink=(0, 160, 0)),
    "yellow on black": _redrawn(mode="RGB", background=(0, 0, 0), ink=(255, 255, 0)),
    "white on blue": _redrawn(mode="RGB", background=(20, 40, 200), ink=(255, 255, 255)),
    "greyscale with alpha": _redrawn(mode="LA", background=(0, 0), ink=(0, 255)),
    "palette": _converted("P", mode="RGB", background=(255, 255, 255), ink=(0, 0, 255)),
    "palette with transparency": _transparent_palette,
    "bilevel": _converted("1"),
    "CMYK": _converted("CMYK", mode="RGB", background=(255, 255, 255), ink=(0, 0, 0)),
    "16-bit greyscale": _sixteen_bit,
    "32-bit float greyscale": lambda digit: draw_digit(digit).convert("F"),
}


@pytest.mark.parametrize("digit", DIGITS)
@pytest.mark.parametrize("convention", list(INK_CONVENTIONS))
def test_ink_convention_does_not_change_the_output(digit: str, convention: str) -> None:
    result = image_to_mnist(INK_CONVENTIONS[convention](digit))

    assert_mnist_input(result)
    assert difference_up_to_one_pixel(result, reference(digit)) < SAME_DRAWING_TOLERANCE


FILE_FORMATS: dict[str, Callable[[Image.Image], bytes]] = {
    "PNG": lambda image: encode(image, "PNG"),
    "PNG RGBA": lambda image: encode(_as_transparent_canvas(image), "PNG"),
    "PNG 16-bit": lambda image: encode(
        Image.fromarray(np.asarray(image.convert("L"), dtype=np.uint16) * 257), "PNG"
    ),
    "JPEG": lambda image: encode(image, "JPEG", quality=75),
    "JPEG quality 20": lambda image: encode(image, "JPEG", quality=20),
    "JPEG greyscale": lambda image: encode(image.convert("L"), "JPEG", quality=75),
    "WebP lossy": lambda image: encode(image, "WEBP", quality=60),
    "WebP lossless RGBA": lambda image: encode(
        _as_transparent_canvas(image), "WEBP", lossless=True
    ),
    "GIF": lambda image: encode(image, "GIF"),
    "BMP": lambda image: encode(image, "BMP"),
}


def _as_transparent_canvas(image: Image.Image) -> Image.Image:
    """Black strokes on a fully transparent background, as canvas.toDataURL() gives."""
    canvas = Image.new("RGBA", image.size, (0, 0, 0, 0))
    canvas.putalpha(ImageOps.invert(image.convert("L")))
    return canvas


@pytest.mark.parametrize("digit", DIGITS)
@pytest.mark.parametrize("file_format", list(FILE_FORMATS))
def test_file_format_does_not_change_the_output(digit: str, file_format: str) -> None:
    data = FILE_FORMATS[file_format](draw_digit(digit, mode="RGB", background="white", ink=0))

    result = image_to_mnist(decode_image(data))

    assert_mnist_input(result)
    tolerance = HEAVY_JPEG_TOLERANCE if file_format == "JPEG quality 20" else SAME_DRAWING_TOLERANCE
    assert difference_up_to_one_pixel(result, reference(digit)) < tolerance


def _noisy_paper(side: int = 280, amplitude: int = 12) -> Image.Image:
    noise = np.random.default_rng(7).integers(-amplitude, amplitude + 1, (side, side))
    return Image.fromarray((235 + noise).astype(np.uint8))


EMPTY_IMAGES: dict[str, Callable[[], Image.Image]] = {
    "white": lambda: Image.new("L", (280, 280), 255),
    "black": lambda: Image.new("L", (280, 280), 0),
    "uniform colour": lambda: Image.new("RGB", (280, 280), (30, 120, 200)),
    "transparent black": lambda: Image.new("RGBA", (280, 280), (0, 0, 0, 0)),
    "transparent white": lambda: Image.new("RGBA", (280, 280), (255, 255, 255, 0)),
    "opaque white RGBA": lambda: Image.new("RGBA", (280, 280), (255, 255, 255, 255)),
    "palette": lambda: Image.new("P", (280, 280), 3),
    "16-bit": lambda: Image.new("I;16", (280, 280), 40000),
    "one pixel": lambda: Image.new("L", (1, 1), 0),
    "no pixels": lambda: Image.new("L", (0, 0)),
    "one row": lambda: Image.new("RGB", (300, 1), "white"),
    "huge white": lambda: Image.new("L", (4096, 4096), 255),
    "faint scribble": lambda: draw_digit("7", background=255, ink=240),
    "paper grain": _noisy_paper,
    "JPEG of paper grain": lambda: Image.open(io.BytesIO(encode(_noisy_paper(), "JPEG"))),
    "JPEG of a blank page": lambda: Image.open(
        io.BytesIO(encode(Image.new("RGB", (280, 280), "white"), "JPEG", quality=30))
    ),
}


@pytest.mark.parametrize("empty", list(EMPTY_IMAGES))
def test_image_without_ink_is_an_empty_drawing(empty: str) -> None:
    with pytest.raises(EmptyDrawingError, match=r"^the drawing is empty$"):
        image_to_mnist(EMPTY_IMAGES[empty]())


def test_empty_drawing_is_a_preprocessing_error() -> None:
    assert issubclass(EmptyDrawingError, PreprocessingError)
    assert issubclass(PreprocessingError, ValueError)


def test_image_to_mnist_refuses_something_that_is_not_an_image() -> None:
    with pytest.raises(TypeError, match="PIL image"):
        image_to_mnist(np.zeros((28, 28)))  # type: ignore[arg-type]


def test_image_to_mnist_leaves_its_input_unchanged() -> None:
    image = draw_digit("7", mode="RGBA", background=(0, 0, 0, 0), ink=(0, 0, 0, 255))
    before = image.tobytes()

    image_to_mnist(image)

    assert image.mode == "RGBA"
    assert image.tobytes() == before


# --------------------------------------------------------------------------------------------
# image_to_mnist: properties and real MNIST

CANVAS_CONVENTIONS = [
    ("L", 255, 0),
    ("L", 0, 255),
    ("RGBA", (0, 0, 0, 0), (0, 0, 0, 255)),
    ("RGB", (255, 255, 255), (200, 0, 40)),
]


@st.composite
def scribbles(draw: st.DrawFn) -> Image.Image:
    width = draw(st.integers(16, 400), label="width")
    height = draw(st.integers(16, 400), label="height")
    mode, background, ink = draw(st.sampled_from(CANVAS_CONVENTIONS), label="convention")
    point = st.tuples(st.integers(0, width - 1), st.integers(0, height - 1))
    strokes = draw(st.lists(st.lists(point, min_size=2, max_size=4), min_size=0, max_size=3))
    stroke_width = draw(st.integers(1, max(1, min(width, height) // 5)), label="stroke width")
    image = Image.new(mode, (width, height), background)
    pen = ImageDraw.Draw(image)
    for stroke in strokes:
        pen.line(stroke, fill=ink, width=stroke_width, joint="curve")
    return image


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scribbles())
def test_any_scribble_is_empty_or_a_centred_20_pixel_digit(image: Image.Image) -> None:
    try:
        result = image_to_mnist(image)
    except EmptyDrawingError:
        return
    assert result.shape == (28, 28)
    assert result.dtype == np.float32
    assert float(result.min()) >= 0.0
    assert float(result.max()) == pytest.approx(1.0)
    # Faint edges of a scribble can be arbitrarily weak next to dense ink, so the box here
    # counts every non-zero pixel (resampling ripples stay inside the 20 px box).
    assert max(ink_box(result, 0.0)) == 20
    assert_centred(result)


def _mnist_test_images(count: int) -> np.ndarray:
    mnist = DATA_DIR / "mnist.npz"
    if not mnist.exists():
        pytest.skip(f"MNIST not found at {mnist}")
    with np.load(mnist) as data:
        return data["x_test"][:count]


def test_mnist_digits_survive_a_round_trip_through_a_canvas() -> None:
    # Each MNIST digit, blown up 10× as dark ink on a white 280 px canvas, must come back as
    # itself: the same 20 px box, the same centring, the same grey levels.
    correlations = []
    for digit in _mnist_test_images(200):
        canvas = Image.fromarray(255 - digit).resize((280, 280), Image.Resampling.NEAREST)
        result = image_to_mnist(canvas)
        original = digit.astype(np.float32) / 255
        correlations.append(np.corrcoef(result.ravel(), original.ravel())[0, 1])

    # Measured: mean 0.98, median 0.996; a missing recentring or rescaling drops far below.
    assert float(np.mean(correlations)) > 0.95
    assert float(np.median(correlations)) > 0.98


def test_mnist_digits_have_mnists_centre_of_mass_convention() -> None:
    # The convention asserted everywhere above is MNIST's own.
    for digit in _mnist_test_images(500):
        for centre in centre_of_mass(digit.astype(np.float64)):
            assert 13.5 - 1e-9 <= centre <= 14.5 + 1e-9


# --------------------------------------------------------------------------------------------
# decode_image


@pytest.mark.parametrize("file_format", list(FILE_FORMATS))
def test_decode_reads_each_accepted_format(file_format: str) -> None:
    data = FILE_FORMATS[file_format](draw_digit("7", canvas=(300, 200), box=(10, 10, 180)))

    image = decode_image(data)

    assert image.size == (300, 200)


@pytest.mark.parametrize(
    "data", [b"", bytearray(), memoryview(b"")], ids=["bytes", "bytearray", "memoryview"]
)
def test_decode_refuses_an_empty_file(data: bytes) -> None:
    with pytest.raises(ImageDecodeError, match=r"^the image file is empty$"):
        decode_image(data)


NOT_IMAGES = {
    "text": b"hello, this is not an image",
    "json": b'{"image": "data:image/png;base64,iVBORw0KGgo="}',
    "html": b"<!doctype html><html><body>no</body></html>",
    "data URL text": b"data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAA",
    "zeros": bytes(1000),
    "random bytes": random.Random(3).randbytes(5000),
}


@pytest.mark.parametrize("name", list(NOT_IMAGES))
def test_decode_refuses_what_is_not_an_image(name: str) -> None:
    with pytest.raises(ImageDecodeError, match="not a PNG, JPEG, WebP, GIF or BMP image"):
        decode_image(NOT_IMAGES[name])


@pytest.mark.parametrize(
    ("file_format", "options"),
    [("TIFF", {}), ("ICO", {}), ("PPM", {}), ("TGA", {}), ("PDF", {}), ("JPEG2000", {})],
)
def test_decode_refuses_other_image_formats_naming_the_accepted_ones(
    file_format: str, options: dict[str, object]
) -> None:
    data = encode(draw_digit("1", mode="RGB", background="white", ink=0), file_format, **options)

    with pytest.raises(ImageDecodeError, match="not a PNG, JPEG, WebP, GIF or BMP image"):
        decode_image(data)


@pytest.mark.parametrize("file_format", ["PNG", "JPEG", "WEBP", "GIF", "BMP"])
@pytest.mark.parametrize("kept", [0.05, 0.3, 0.6, 0.95])
def test_decode_refuses_a_truncated_file(file_format: str, kept: float) -> None:
    data = encode(draw_digit("0", mode="RGB", background="white", ink=0), file_format)

    with pytest.raises(ImageDecodeError, match=r"^the image is truncated or corrupt$"):
        decode_image(data[: max(12, int(len(data) * kept))])


def _jpeg_with(mutation: Callable[[bytearray], None]) -> bytes:
    data = bytearray(encode(draw_digit("0", mode="RGB", background="white", ink=0), "JPEG"))
    mutation(data)
    return bytes(data)


def _zero_frame_size(data: bytearray) -> None:
    start = data.find(b"\xff\xc0")
    data[start + 5 : start + 9] = bytes(4)


def _scramble_scan(data: bytearray) -> None:
    start = data.find(b"\xff\xda") + 20
    data[start : start + 1024] = bytes(range(256)) * 4


def _wipe_tables(data: bytearray) -> None:
    data[4:204] = bytes(200)


@pytest.mark.parametrize("mutation", [_zero_frame_size, _scramble_scan, _wipe_tables])
def test_decode_refuses_a_corrupt_jpeg(mutation: Callable[[bytearray], None]) -> None:
    with pytest.raises(ImageDecodeError, match=r"^the image is truncated or corrupt$"):
        decode_image(_jpeg_with(mutation))


def test_truncated_images_are_never_loaded_leniently() -> None:
    # Pillow's global switch would turn truncated files into half-grey images.
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def png_header_claiming(width: int, height: int) -> bytes:
    """A well-formed PNG (valid CRCs) whose header claims width×height, with a tiny body."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    first_rows = zlib.compress(bytes(width + 1) * 2)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", first_rows)
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    ("width", "height", "named_size"),
    [
        (20000, 20000, "400,000,000 pixels"),
        (5000, 5000, "5000×5000"),
        (4097, 10, "4097×10"),
        (10, 4097, "10×4097"),
    ],
)
def test_decode_refuses_dimensions_over_the_limit(width: int, height: int, named_size: str) -> None:
    data = png_header_claiming(width, height)
    assert len(data) < 2000

    with pytest.raises(ImageTooLargeError) as refusal:
        decode_image(data)

    assert named_size in str(refusal.value)
    assert "4096×4096" in str(refusal.value)


def test_oversized_image_is_refused_before_any_pixel_is_decoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)

    with pytest.raises(ImageTooLargeError):
        decode_image(png_header_claiming(20000, 20000))
    with pytest.raises(ImageTooLargeError):
        decode_image(png_header_claiming(6000, 3000))


@pytest.mark.parametrize(("max_side", "accepted"), [(300, True), (299, False), (199, False)])
def test_decode_applies_the_given_side_limit(max_side: int, accepted: bool) -> None:
    data = encode(Image.new("L", (300, 200), 255), "PNG")

    if accepted:
        assert decode_image(data, max_side=max_side).size == (300, 200)
    else:
        with pytest.raises(ImageTooLargeError, match=f"at most {max_side}×{max_side}"):
            decode_image(data, max_side=max_side)


@pytest.mark.parametrize(
    "pixel_limit",
    [20_000, 50_000],
    ids=["over twice the limit (Pillow refuses)", "over the limit (Pillow only warns)"],
)
def test_decode_refuses_images_over_pillows_pixel_limit(
    monkeypatch: pytest.MonkeyPatch, pixel_limit: int
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", pixel_limit)
    data = encode(Image.new("L", (300, 200), 255), "PNG")  # 60,000 pixels

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with pytest.raises(ImageTooLargeError, match="too large"):
            decode_image(data)


def test_decode_returns_the_first_frame_of_an_animated_gif() -> None:
    first, second = draw_digit("7", mode="RGB"), draw_digit("1", mode="RGB")
    data = encode(first, "GIF", save_all=True, append_images=[second], duration=100, loop=0)
    assert Image.open(io.BytesIO(data)).n_frames == 2

    result = image_to_mnist(decode_image(data))

    assert difference_up_to_one_pixel(result, reference("7")) < SAME_DRAWING_TOLERANCE


@pytest.mark.parametrize("file_format", ["JPEG", "PNG", "WEBP"])
def test_decode_turns_a_photo_upright_from_its_exif_orientation(file_format: str) -> None:
    upright = draw_digit("7", canvas=(300, 200), box=(50, 10, 180), mode="RGB")
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # as a sideways camera stores it
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    data = encode(stored, file_format, exif=exif)

    image = decode_image(data)

    assert image.size == (300, 200)
    assert difference_up_to_one_pixel(image_to_mnist(image), reference("7")) < REDRAWN_TOLERANCE


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")  # Pillow's, expected
def test_decode_keeps_an_image_whose_exif_is_garbage() -> None:
    jpeg = encode(draw_digit("7", mode="RGB"), "JPEG", quality=90)
    garbage = b"Exif\x00\x00" + b"MM\x00\x2a" + bytes(range(256)) * 2
    segment = b"\xff\xe1" + struct.pack(">H", len(garbage) + 2) + garbage
    data = jpeg[:2] + segment + jpeg[2:]

    result = image_to_mnist(decode_image(data))

    assert difference_up_to_one_pixel(result, reference("7")) < SAME_DRAWING_TOLERANCE


def _valid_files() -> list[bytes]:
    image = draw_digit("4", canvas=(64, 48), box=(8, 4, 40), mode="RGB")
    return [
        encode(image, "PNG"),
        encode(image.convert("RGBA"), "PNG"),
        encode(image, "JPEG"),
        encode(image, "WEBP"),
        encode(image, "GIF"),
        encode(image, "BMP"),
    ]


VALID_FILES = _valid_files()


@settings(max_examples=300, deadline=None)
@given(
    file_index=st.integers(0, len(VALID_FILES) - 1),
    edits=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=8),
    kept=st.floats(0.0, 1.0),
)
def test_damaged_files_raise_only_preprocessing_errors(
    file_index: int, edits: list[tuple[float, int]], kept: float
) -> None:
    data = bytearray(VALID_FILES[file_index])
    for position, value in edits:
        data[int(position * len(data))] = value
    data = data[: math.ceil(len(data) * kept)]

    try:
        image = decode_image(bytes(data))
        image_to_mnist(image)
    except PreprocessingError:
        pass


# --------------------------------------------------------------------------------------------
# pixels_to_mnist


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


def _rows_with(value: object, row: int = 3, column: int = 7) -> list[list[object]]:
    rows: list[list[object]] = [[0.0] * 28 for _ in range(28)]
    rows[row][column] = value
    return rows


def _flat_with(value: object, index: int = 100) -> list[object]:
    flat: list[object] = [0.0] * 784
    flat[index] = value
    return flat


@pytest.mark.parametrize(
    "value", ["0.5", "", None, True, False, np.bool_(True), {}, b"1", 1j, np.complex128(1j)]
)
def test_pixels_that_are_not_numbers_are_refused_with_their_position(value: object) -> None:
    with pytest.raises(PixelsError, match=r"must be numbers; found .* at row 3, column 7"):
        pixels_to_mnist(_rows_with(value))
    with pytest.raises(PixelsError, match=r"must be numbers; found .* at row 3, column 16"):
        pixels_to_mnist(_flat_with(value))


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_pixels_that_are_not_finite_are_refused(value: float) -> None:
    with pytest.raises(PixelsError, match=r"finite numbers between 0 and 1; found .*row 3"):
        pixels_to_mnist(_rows_with(value))


@pytest.mark.parametrize("value", [-0.01, 1.01, 255, -1, 2.5, 10**400, -(10**400)])
def test_pixels_outside_zero_to_one_are_refused(value: float) -> None:
    with pytest.raises(PixelsError, match=r"between 0 .* and 1"):
        pixels_to_mnist(_rows_with(value))


@pytest.mark.parametrize(
    "array",
    [np.zeros((28, 28), dtype=bool), np.full((28, 28), "0", dtype=object), np.zeros(784, "U1")],
    ids=["bool", "object", "str"],
)
def test_pixel_arrays_that_are_not_numbers_are_refused(array: np.ndarray) -> None:
    with pytest.raises(PixelsError, match="must be numbers"):
        pixels_to_mnist(array)


def test_pixel_errors_are_preprocessing_errors() -> None:
    assert issubclass(PixelsError, PreprocessingError)
    assert issubclass(ImageDecodeError, PreprocessingError)
    assert issubclass(ImageTooLargeError, PreprocessingError)


# --------------------------------------------------------------------------------------------
# drawing_to_mnist: bytes in, MNIST out, as /predict does it (libspng for plain canvas PNGs)


@pytest.mark.parametrize("digit", DIGITS)
@pytest.mark.parametrize("convention", list(INK_CONVENTIONS))
def test_drawing_to_mnist_equals_decode_then_image_to_mnist(digit: str, convention: str) -> None:
    image = INK_CONVENTIONS[convention](digit)
    if image.mode == "CMYK" or image.mode == "F":
        image = image.convert("RGB" if image.mode == "CMYK" else "L")
    data = encode(image, "PNG")

    np.testing.assert_array_equal(drawing_to_mnist(data), image_to_mnist(decode_image(data)))


@pytest.mark.parametrize("file_format", list(FILE_FORMATS))
def test_drawing_to_mnist_reads_every_accepted_format(file_format: str) -> None:
    data = FILE_FORMATS[file_format](draw_digit("1"))

    np.testing.assert_array_equal(drawing_to_mnist(data), image_to_mnist(decode_image(data)))


@pytest.mark.parametrize("side", [28, 280, 500, 600])
def test_drawing_to_mnist_equals_the_pillow_route_for_any_canvas_size(side: int) -> None:
    image = draw_digit("7", canvas=(side, side), box=(side // 7, side // 7, side * 5 // 7),
                       mode="RGBA", background=(0, 0, 0, 0), ink=(0, 0, 0, 255))
    data = encode(image, "PNG")

    np.testing.assert_array_equal(drawing_to_mnist(data), image_to_mnist(decode_image(data)))


def test_drawing_to_mnist_reports_an_empty_canvas() -> None:
    data = encode(Image.new("RGBA", (280, 280), (0, 0, 0, 0)), "PNG")

    with pytest.raises(EmptyDrawingError):
        drawing_to_mnist(data)


@pytest.mark.parametrize("kept", [0.3, 0.6, 0.95])
def test_drawing_to_mnist_reports_a_truncated_png(kept: float) -> None:
    data = encode(draw_digit("0", mode="RGBA", background=(0, 0, 0, 0), ink=(0, 0, 0, 255)),
                  "PNG")

    with pytest.raises(ImageDecodeError, match=r"^the image is truncated or corrupt$"):
        drawing_to_mnist(data[: int(len(data) * kept)])


def test_drawing_to_mnist_refuses_dimensions_over_the_limit() -> None:
    with pytest.raises(ImageTooLargeError):
        drawing_to_mnist(png_header_claiming(5000, 5000))


@pytest.mark.parametrize(
    ("mode", "background", "ink"),
    [("RGBA", (0, 0, 0, 0), (17, 24, 39, 255)), ("RGB", "white", "black"), ("L", 255, 0),
     ("LA", (0, 0), (0, 255))],
)
def test_a_canvas_png_takes_the_libspng_route(
    monkeypatch: pytest.MonkeyPatch, mode: str, background: Colour, ink: Colour
) -> None:
    calls = []
    real_load = preprocessing.pyspng.load
    monkeypatch.setattr(
        preprocessing.pyspng, "load", lambda data: calls.append(len(data)) or real_load(data)
    )
    data = encode(draw_digit("1", mode=mode, background=background, ink=ink), "PNG")

    result = drawing_to_mnist(data)

    assert calls == [len(data)]
    np.testing.assert_array_equal(result, image_to_mnist(decode_image(data)))


@pytest.mark.parametrize("convention", ["palette", "palette with transparency", "16-bit greyscale"])
def test_other_pngs_take_the_pillow_route(monkeypatch: pytest.MonkeyPatch, convention: str) -> None:
    monkeypatch.setattr(preprocessing.pyspng, "load", lambda data: pytest.fail("libspng used"))
    data = encode(INK_CONVENTIONS[convention]("1"), "PNG")

    np.testing.assert_array_equal(drawing_to_mnist(data), image_to_mnist(decode_image(data)))
