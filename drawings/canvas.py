"""Realistic canvas drawings: round-capped strokes on a 280×280 transparent canvas, and 0s and 1s
drawn with them as PNG data URLs encoded as the page's canvas exports them (Chromium's
toDataURL; tests/browser check the encoding against a real export)."""

from __future__ import annotations

import base64
import json
import math
import struct
import zlib

import numpy as np
from PIL import Image, ImageDraw

CANVAS_SIDE = 280  # what the page exports (static/js/drawing_canvas.js)
INK = (17, 24, 39, 255)  # #111827, opaque, as the page draws its strokes
STROKE_FRACTION = 0.075
SUPERSAMPLE = 3  # drawn larger, then reduced: anti-aliased edges like a browser canvas


def draw_stroke(
    draw: ImageDraw.ImageDraw, points: list[tuple[float, float]], width: int
) -> None:
    """A round-capped, round-joined polyline, as canvas lineCap/lineJoin = 'round' draws it."""
    draw.line(points, fill=INK, width=width, joint="curve")
    radius = width / 2
    for x, y in (points[0], points[-1]):
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=INK)


def draw_canvas(digit: int, rng: np.random.Generator) -> Image.Image:
    """A 280×280 transparent canvas with a hand-drawn-looking 0 (a wobbly loop) or 1 (a slanted bar,
    sometimes with a flag and a base), at a random size, place and slant."""
    side = CANVAS_SIDE * SUPERSAMPLE
    # The page's export: the strokes on a transparent canvas (static/js/drawing_canvas.js).
    image = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    width = round(side * STROKE_FRACTION * rng.uniform(0.8, 1.2))
    centre_x, centre_y = side * rng.uniform(0.4, 0.6), side * rng.uniform(0.42, 0.58)
    height = side * rng.uniform(0.5, 0.75)
    slant = rng.uniform(-0.25, 0.25)
    if digit == 0:
        turns = np.linspace(0.0, 2.0 * math.pi * rng.uniform(1.02, 1.12), 60)
        radius_x = height * rng.uniform(0.28, 0.4)
        wobble = 1.0 + 0.06 * np.sin(3 * turns + rng.uniform(0, 2 * math.pi))
        ys = centre_y - height / 2 * np.cos(turns) * wobble
        xs = centre_x + radius_x * np.sin(turns) * wobble + slant * (centre_y - ys)
        draw_stroke(draw, list(zip(xs.tolist(), ys.tolist(), strict=True)), width)
    else:
        top = (centre_x + slant * height / 2, centre_y - height / 2)
        bottom = (centre_x - slant * height / 2, centre_y + height / 2)
        draw_stroke(draw, [top, bottom], width)
        if rng.random() < 0.4:  # the flag of a European 1
            flag = (top[0] - height * 0.22, top[1] + height * 0.2)
            draw_stroke(draw, [flag, top], width)
        if rng.random() < 0.2:  # a base
            half = height * 0.18
            draw_stroke(draw, [(bottom[0] - half, bottom[1]), (bottom[0] + half, bottom[1])], width)
    return image.reduce(SUPERSAMPLE)


def png_like_chromium(image: Image.Image) -> bytes:
    """An RGBA image as PNG bytes the way Chromium's canvas.toDataURL() encodes them: every row
    with the Up filter, deflate at its fastest level (tests/browser check the filters, the level
    flag and the size against a real export).
    Pillow would choose filters per row and compress harder: a different, smaller file."""
    pixels = np.asarray(image.convert("RGBA"))
    height, width, _ = pixels.shape
    rows = pixels.reshape(height, width * 4)
    filtered = np.empty((height, 1 + width * 4), dtype=np.uint8)
    filtered[:, 0] = 2  # Up: each byte minus the byte above it
    filtered[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA, no interlace
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(filtered.tobytes(), 1))
        + _png_chunk(b"IEND", b"")
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def canvas_data_urls(count: int, seed: int = 0) -> list[tuple[int, str]]:
    """(digit, PNG data URL) pairs, half 0s and half 1s, encoded as Chromium encodes them."""
    rng = np.random.default_rng(seed)
    drawings = []
    for index in range(count):
        digit = index % 2
        png = png_like_chromium(draw_canvas(digit, rng))
        drawings.append((digit, "data:image/png;base64," + base64.b64encode(png).decode()))
    return drawings


def predict_bodies(drawings: list[tuple[int, str]]) -> list[bytes]:
    """The JSON bodies of POST /predict for the drawings, as the page sends them."""
    return [json.dumps({"image": url}).encode() for _, url in drawings]
