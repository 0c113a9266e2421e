"""core.image_decoding: bytes of an image file → a Pillow image, within limits, upright."""

from __future__ import annotations

import contextlib
import io
import math
import random
import struct
import warnings
import zlib
from collections.abc import Callable

import pytest
from digit_drawings import (
    FILE_FORMATS,
    REDRAWN_TOLERANCE,
    SAME_DRAWING_TOLERANCE,
    difference_up_to_one_pixel,
    draw_digit,
    encode,
    reference,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

from core.image_decoding import declared_pixels, decode_image
from core.input_errors import ImageDecodeError, ImageTooLargeError, PreprocessingError
from core.mnist_form import image_to_mnist

NOT_AN_ACCEPTED_IMAGE = "not a PNG, JPEG, WebP, GIF or BMP image"
CORRUPT = r"^the image is truncated or corrupt$"


@pytest.mark.parametrize("file_format", list(FILE_FORMATS))
def test_each_accepted_format_is_decoded(file_format: str) -> None:
    data = FILE_FORMATS[file_format](draw_digit("7", canvas=(300, 200), box=(10, 10, 180)))

    assert decode_image(data).size == (300, 200)


@pytest.mark.parametrize(
    "data", [b"", bytearray(), memoryview(b"")], ids=["bytes", "bytearray", "memoryview"]
)
def test_an_empty_file_is_refused(data: bytes) -> None:
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
def test_what_is_not_an_image_is_refused_naming_the_accepted_formats(name: str) -> None:
    with pytest.raises(ImageDecodeError, match=NOT_AN_ACCEPTED_IMAGE):
        decode_image(NOT_IMAGES[name])


@pytest.mark.parametrize("file_format", ["TIFF", "ICO", "PPM", "TGA", "PDF", "JPEG2000"])
def test_other_image_formats_are_refused_naming_the_accepted_ones(file_format: str) -> None:
    data = encode(draw_digit("1", mode="RGB"), file_format)

    with pytest.raises(ImageDecodeError, match=NOT_AN_ACCEPTED_IMAGE):
        decode_image(data)


@pytest.mark.parametrize("file_format", ["PNG", "JPEG", "WEBP", "GIF", "BMP"])
@pytest.mark.parametrize("kept", [0.05, 0.3, 0.95])
def test_a_truncated_file_is_refused_as_corrupt(file_format: str, kept: float) -> None:
    data = encode(draw_digit("0", mode="RGB"), file_format)

    with pytest.raises(ImageDecodeError, match=CORRUPT):
        decode_image(data[: max(12, int(len(data) * kept))])


def _zero_frame_size(data: bytearray) -> None:
    start = data.find(b"\xff\xc0")
    data[start + 5 : start + 9] = bytes(4)


def _scramble_scan(data: bytearray) -> None:
    start = data.find(b"\xff\xda") + 20
    data[start : start + 1024] = bytes(range(256)) * 4


def _wipe_tables(data: bytearray) -> None:
    data[4:204] = bytes(200)


@pytest.mark.parametrize("damage", [_zero_frame_size, _scramble_scan, _wipe_tables])
def test_a_corrupt_jpeg_is_refused_as_corrupt(damage: Callable[[bytearray], None]) -> None:
    data = bytearray(encode(draw_digit("0", mode="RGB"), "JPEG"))
    damage(data)

    with pytest.raises(ImageDecodeError, match=CORRUPT):
        decode_image(bytes(data))


def test_a_png_with_damaged_pixel_data_is_refused_as_corrupt() -> None:
    data = bytearray(encode(draw_digit("0", mode="RGBA"), "PNG"))
    data[data.find(b"IDAT") + 40] ^= 0xFF  # inside the compressed pixels

    with pytest.raises(ImageDecodeError, match=CORRUPT):
        decode_image(bytes(data))


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
def test_dimensions_over_the_limit_are_refused_naming_both(
    width: int, height: int, named_size: str
) -> None:
    data = png_header_claiming(width, height)
    assert len(data) < 2000

    with pytest.raises(ImageTooLargeError) as refusal:
        decode_image(data)

    assert named_size in str(refusal.value)
    assert "at most 4096×4096 pixels" in str(refusal.value)


def test_an_oversized_image_is_refused_before_any_pixel_is_decoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)

    for width, height in [(20000, 20000), (6000, 3000)]:
        with pytest.raises(ImageTooLargeError):
            decode_image(png_header_claiming(width, height))


@pytest.mark.parametrize("file_format", list(FILE_FORMATS))
def test_the_pixels_a_header_declares_are_read_without_decoding_any(
    file_format: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = FILE_FORMATS[file_format](draw_digit("7", canvas=(300, 200), box=(10, 10, 180)))

    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    assert declared_pixels(data) == 300 * 200
    assert declared_pixels(png_header_claiming(6000, 3000)) == 18_000_000


@pytest.mark.parametrize("name", list(NOT_IMAGES))
def test_a_file_that_is_not_an_image_declares_no_pixels(name: str) -> None:
    assert declared_pixels(NOT_IMAGES[name]) is None


@pytest.mark.parametrize(("max_side", "accepted"), [(300, True), (299, False), (199, False)])
def test_the_given_side_limit_applies_to_width_and_height(max_side: int, accepted: bool) -> None:
    data = encode(Image.new("L", (300, 200), 255), "PNG")

    if accepted:
        assert decode_image(data, max_side=max_side).size == (300, 200)
    else:
        with pytest.raises(ImageTooLargeError, match=f"at most {max_side}×{max_side}"):
            decode_image(data, max_side=max_side)


@pytest.mark.parametrize("max_side", [0, -1])
def test_a_side_limit_below_one_is_a_programming_error(max_side: int) -> None:
    with pytest.raises(ValueError, match="max_side must be at least 1"):
        decode_image(encode(Image.new("L", (3, 3)), "PNG"), max_side=max_side)


@pytest.mark.parametrize(
    "pixel_limit",
    [20_000, 50_000],
    ids=["over twice the limit (Pillow refuses)", "over the limit (Pillow only warns)"],
)
def test_images_over_pillows_pixel_limit_are_refused(
    monkeypatch: pytest.MonkeyPatch, pixel_limit: int
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", pixel_limit)
    data = encode(Image.new("L", (300, 200), 255), "PNG")  # 60,000 pixels

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with pytest.raises(ImageTooLargeError, match="too large"):
            decode_image(data)


def test_an_animated_gif_gives_its_first_frame() -> None:
    first, second = draw_digit("7", mode="RGB"), draw_digit("1", mode="RGB")
    data = encode(first, "GIF", save_all=True, append_images=[second], duration=100, loop=0)
    assert Image.open(io.BytesIO(data)).n_frames == 2

    result = image_to_mnist(decode_image(data))

    assert difference_up_to_one_pixel(result, reference("7")) < SAME_DRAWING_TOLERANCE


@pytest.mark.parametrize("file_format", ["JPEG", "PNG", "WEBP"])
def test_a_photo_is_turned_upright_by_its_exif_orientation(file_format: str) -> None:
    upright = draw_digit("7", canvas=(300, 200), box=(50, 10, 180), mode="RGB")
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # as a sideways camera stores it
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    data = encode(stored, file_format, exif=exif)

    image = decode_image(data)

    assert image.size == (300, 200)
    assert difference_up_to_one_pixel(image_to_mnist(image), reference("7")) < REDRAWN_TOLERANCE


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")  # Pillow's, expected
def test_an_image_whose_exif_is_garbage_is_still_read() -> None:
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
def test_a_damaged_file_raises_nothing_but_a_preprocessing_error(
    file_index: int, edits: list[tuple[float, int]], kept: float
) -> None:
    data = bytearray(VALID_FILES[file_index])
    for position, value in edits:
        data[int(position * len(data))] = value
    data = data[: math.ceil(len(data) * kept)]

    with contextlib.suppress(PreprocessingError):
        image_to_mnist(decode_image(bytes(data)))
