"""Inputs for the robustness tests: canvas-like drawings, real MNIST digits, and image files
whose headers claim sizes their few bytes could never hold (written byte by byte)."""

from __future__ import annotations

import base64
import io
import json
import struct
import zlib

import numpy as np
from PIL import Image, ImageDraw
from project_paths import mnist_test_split

from core.mnist_form import image_to_mnist

CANVAS_SIDE = 280  # the page's canvas


# --------------------------------------------------------------------------------------------
# Drawings and digits


def canvas_drawing(digit: int, variant: int = 0) -> Image.Image:
    """A 0 or a 1 as the page's canvas draws it: dark round strokes on a transparent canvas.

    `variant` moves, resizes and thickens the stroke, so no two drawings are the same image.
    """
    image = Image.new("RGBA", (CANVAS_SIDE, CANVAS_SIDE), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    dx = (variant % 5 - 2) * 14
    dy = (variant // 5 % 3 - 1) * 12
    width = 14 + variant % 4 * 3
    height = 150 + variant % 3 * 25
    top = (CANVAS_SIDE - height) // 2 + dy
    ink = (20, 20, 20, 255)
    if digit == 0:
        half_width = 45 + variant % 4 * 8
        box = (140 - half_width + dx, top, 140 + half_width + dx, top + height)
        draw.ellipse(box, outline=ink, width=width)
    elif digit == 1:
        slant = (variant % 3 - 1) * 12
        start, end = (140 + dx + slant, top), (140 + dx - slant, top + height)
        draw.line((start, end), fill=ink, width=width)
        for x, y in (start, end):  # round caps, as the canvas's lineCap = "round"
            draw.ellipse((x - width / 2, y - width / 2, x + width / 2, y + width / 2), fill=ink)
    else:
        raise ValueError(f"only 0 and 1 are drawn, not {digit}")
    return image


def encode(image: Image.Image, image_format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    if image_format in ("JPEG", "BMP") and image.mode == "RGBA":
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image).convert("RGB")
    image.save(buffer, format=image_format)
    return buffer.getvalue()


def data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def mnist_zeros_and_ones(count: int) -> tuple[np.ndarray, np.ndarray]:
    """The first `count` 0s and 1s of the real MNIST test set, (n, 28, 28) in [0, 1], and their
    labels; without the MNIST file, the drawings brought to 28×28 instead."""
    if (mnist := mnist_test_split()) is not None:
        images, labels = mnist
        wanted = np.flatnonzero(labels <= 1)[:count]
        return images[wanted].astype(np.float32) / 255.0, labels[wanted].astype(int)
    # In MNIST form, as the app makes it (a plain resize would leave them off-centre and
    # unlike anything the network was trained on).
    digits = [(index % 2, index) for index in range(count)]
    images = [image_to_mnist(canvas_drawing(digit, variant)) for digit, variant in digits]
    return np.stack(images), np.array([digit for digit, _ in digits])


def json_body(payload: object) -> bytes:
    """JSON as a client might send it: NaN and Infinity included when asked for."""
    return json.dumps(payload, allow_nan=True).encode()


# --------------------------------------------------------------------------------------------
# Image headers that lie about the size

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def png_claiming(
    width: int, height: int, bit_depth: int = 8, colour_type: int = 2, pixels: bytes = b""
) -> bytes:
    """A PNG with a correct IHDR (and CRCs) for `width`×`height` but only `pixels` of data."""
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(pixels or b"\x00" * 64))
        + png_chunk(b"IEND", b"")
    )


def gif_claiming(width: int, height: int) -> bytes:
    screen = struct.pack("<HHBBB", width, height, 0, 0, 0)
    descriptor = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0)
    return b"GIF89a" + screen + descriptor + b"\x02\x02\x44\x01\x00" + b"\x3b"


def bmp_claiming(width: int, height: int) -> bytes:
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    pixels = b"\x00" * 64
    header = b"BM" + struct.pack("<IHHI", 14 + len(info) + len(pixels), 0, 0, 14 + len(info))
    return header + info + pixels


def webp_claiming(width: int, height: int) -> bytes:
    """An extended (VP8X) WebP whose canvas is `width`×`height` (24-bit fields, minus one)."""
    vp8x = b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (
        height - 1
    ).to_bytes(3, "little")
    chunk = b"VP8X" + struct.pack("<I", len(vp8x)) + vp8x
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk


def jpeg_claiming(width: int, height: int) -> bytes:
    """A real 16×16 JPEG whose start-of-frame is rewritten to say `width`×`height`."""
    data = bytearray(encode(Image.new("L", (16, 16), 255), "JPEG"))
    frame = data.index(b"\xff\xc0")  # baseline start of frame: length, precision, height, width
    data[frame + 5 : frame + 9] = struct.pack(">HH", height, width)
    return bytes(data)


CLAIMING_HUGE = {
    "PNG": png_claiming,
    "GIF": gif_claiming,
    "BMP": bmp_claiming,
    "WEBP": webp_claiming,
    "JPEG": jpeg_claiming,
}
