"""All ten digits drawn as the page draws them: round-capped pen strokes on a transparent
280×280 canvas, in the writing styles people use, each at a random size, place, slant and
stroke width, with a little wobble.

Real handwriting kept aside from the project checks the ten-digit model on such drawings; these
are our own, made from stroke templates here, so that the suite checks the same kind of input.
Nothing is trained on them.

A template is a list of strokes, each a list of points in a box 0.6 wide and 1 tall (x to the
right, y down); `arc` makes the curved parts. Styles per digit (`STYLES`): a 0 wide or narrow;
a 1 plain, with a flag, with a flag and a foot; a 3 round or flat-topped; a 4 open or closed
at the top; a 7 with or without a crossbar; a 9 with a straight or a curved stem.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw

from drawings.canvas import CANVAS_SIDE, STROKE_FRACTION, SUPERSAMPLE, draw_stroke

Point = tuple[float, float]
Strokes = list[list[Point]]


def arc(cx: float, cy: float, rx: float, ry: float, start: float, end: float) -> list[Point]:
    """Points along an ellipse from angle `start` to `end` in degrees (0 = right, 90 = down,
    so increasing angles run clockwise on the screen)."""
    angles = np.radians(np.linspace(start, end, max(8, round(abs(end - start) / 8))))
    return list(zip((cx + rx * np.cos(angles)).tolist(), (cy + ry * np.sin(angles)).tolist(),
                    strict=True))


def _zero(narrow: bool) -> Strokes:
    return [arc(0.3, 0.5, 0.17 if narrow else 0.27, 0.48, -90, 280)]


def _one(flag: bool, foot: bool) -> Strokes:
    stem = [(0.34, 0.0), (0.3, 1.0)]
    strokes = [[(0.1, 0.25), *stem] if flag else stem]
    if foot:
        strokes.append([(0.08, 1.0), (0.54, 1.0)])
    return strokes


def _two() -> Strokes:
    return [[*arc(0.3, 0.27, 0.27, 0.26, 200, 380), (0.03, 1.0), (0.6, 1.0)]]


def _three(flat_top: bool) -> Strokes:
    lower = arc(0.28, 0.74, 0.3, 0.26, 270, 500)
    if flat_top:
        return [[(0.05, 0.0), (0.55, 0.0), (0.22, 0.46), *lower]]
    return [[*arc(0.28, 0.25, 0.25, 0.24, 200, 450), *lower]]


def _four(closed_top: bool) -> Strokes:
    if closed_top:
        return [[(0.45, 1.0), (0.45, 0.0), (0.0, 0.66), (0.6, 0.66)]]
    return [[(0.1, 0.0), (0.04, 0.62), (0.6, 0.62)], [(0.45, 0.08), (0.45, 1.0)]]


def _five() -> Strokes:
    return [[(0.12, 0.0), (0.08, 0.44), *arc(0.3, 0.7, 0.28, 0.29, 235, 500)],
            [(0.12, 0.0), (0.56, 0.0)]]


def _six() -> Strokes:
    return [[(0.5, 0.0), (0.2, 0.25), *arc(0.3, 0.73, 0.25, 0.26, 180, -180)]]


def _seven(crossbar: bool) -> Strokes:
    strokes = [[(0.0, 0.0), (0.6, 0.0), (0.2, 1.0)]]
    if crossbar:
        strokes.append([(0.14, 0.52), (0.56, 0.52)])
    return strokes


def _eight() -> Strokes:
    return [arc(0.3, 0.24, 0.21, 0.23, 0, 360), arc(0.3, 0.72, 0.27, 0.27, -90, 270)]


def _nine(curved_stem: bool) -> Strokes:
    loop = arc(0.3, 0.27, 0.27, 0.26, 0, -360)
    stem = [(0.57, 0.27), (0.56, 0.7), (0.4, 1.0)] if curved_stem else [(0.57, 0.27), (0.52, 1.0)]
    return [[*loop, *stem]]


# Each digit's writing styles, drawn in turn.
STYLES: dict[int, list[Callable[[], Strokes]]] = {
    0: [lambda: _zero(False), lambda: _zero(True)],
    1: [lambda: _one(False, False), lambda: _one(True, False), lambda: _one(True, True)],
    2: [_two],
    3: [lambda: _three(False), lambda: _three(True)],
    4: [lambda: _four(False), lambda: _four(True)],
    5: [_five],
    6: [_six],
    7: [lambda: _seven(False), lambda: _seven(True)],
    8: [_eight],
    9: [lambda: _nine(False), lambda: _nine(True)],
}


def draw_digit(digit: int, style: int, rng: np.random.Generator) -> Image.Image:
    """Digit `digit` in its writing style number `style`, as a 280×280 RGBA canvas export."""
    side = CANVAS_SIDE * SUPERSAMPLE
    image = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    height = side * rng.uniform(0.5, 0.75)
    width = round(side * STROKE_FRACTION * rng.uniform(0.8, 1.2))
    centre = side * rng.uniform(0.4, 0.6, 2)
    slant, turn = rng.uniform(-0.2, 0.2), math.radians(rng.uniform(-8, 8))
    stretch = rng.uniform(0.85, 1.15)
    wobble = rng.uniform(0, 2 * math.pi, 2)
    strokes = []
    for stroke in STYLES[digit][style]():
        points = []
        for x, y in stroke:
            # A smooth wobble of a few per cent, as a hand is never exact; then slant, stretch,
            # turn, and place the 0.6 × 1 box on the canvas.
            x += 0.03 * math.sin(5 * y + wobble[0])
            y += 0.03 * math.sin(5 * x + wobble[1])
            x, y = (x - 0.3) * stretch + slant * (0.5 - y), y - 0.5
            x, y = x * math.cos(turn) - y * math.sin(turn), x * math.sin(turn) + y * math.cos(turn)
            points.append((centre[0] + x * height, centre[1] + y * height))
        strokes.append(np.array(points))
    # Moved back inside the canvas where it would run over an edge: the page's canvas clips.
    ends = np.concatenate(strokes)
    low, high = ends.min(axis=0) - width, ends.max(axis=0) + width
    shift = np.maximum(0, -low) - np.maximum(0, high - side)
    for points in strokes:
        draw_stroke(draw, [tuple(point) for point in (points + shift).tolist()], width)
    return image.reduce(SUPERSAMPLE)


def pen_drawn_digits(per_style: int, seed: int = 0) -> list[tuple[int, int, Image.Image]]:
    """(digit, style, canvas) for every style of every digit, `per_style` drawings of each."""
    rng = np.random.default_rng(seed)
    return [
        (digit, style, draw_digit(digit, style, rng))
        for digit, styles in STYLES.items()
        for style in range(len(styles))
        for _ in range(per_style)
    ]
