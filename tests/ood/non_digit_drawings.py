"""Drawings that are no digit at all: letters, scribbles, a spiral, blobs, a dot, shapes."""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

CANVAS = 280
STROKE = 18


def _canvas() -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("L", (CANVAS, CANVAS), 255)
    return image, ImageDraw.Draw(image)


# Letters as strokes on a 280×280 canvas, the way a person would draw them with a mouse.
LETTER_STROKES: dict[str, list[list[tuple[int, int]]]] = {
    "A": [[(60, 240), (140, 40), (220, 240)], [(95, 160), (185, 160)]],
    "E": [[(200, 40), (80, 40), (80, 240), (200, 240)], [(80, 140), (180, 140)]],
    "F": [[(200, 40), (80, 40), (80, 240)], [(80, 140), (180, 140)]],
    "H": [[(70, 40), (70, 240)], [(210, 40), (210, 240)], [(70, 140), (210, 140)]],
    "K": [[(80, 40), (80, 240)], [(210, 40), (80, 150), (210, 240)]],
    "M": [[(40, 240), (40, 40), (140, 160), (240, 40), (240, 240)]],
    "N": [[(70, 240), (70, 40), (210, 240), (210, 40)]],
    "T": [[(50, 40), (230, 40)], [(140, 40), (140, 240)]],
    "V": [[(60, 40), (140, 240), (220, 40)]],
    "W": [[(30, 40), (80, 240), (140, 90), (200, 240), (250, 40)]],
    "X": [[(60, 40), (220, 240)], [(220, 40), (60, 240)]],
    "Y": [[(60, 40), (140, 140), (220, 40)], [(140, 140), (140, 240)]],
    "Z": [[(60, 40), (220, 40), (60, 240), (220, 240)]],
}


def letter(name: str) -> Image.Image:
    image, draw = _canvas()
    for stroke in LETTER_STROKES[name]:
        draw.line(stroke, fill=0, width=STROKE, joint="curve")
    return image


def scribble(seed: int) -> Image.Image:
    """A random zig-zag of eight points: what a bored hand draws."""
    rng = np.random.default_rng(seed)
    image, draw = _canvas()
    points = [tuple(int(v) for v in rng.integers(20, CANVAS - 20, 2)) for _ in range(8)]
    draw.line(points, fill=0, width=STROKE, joint="curve")
    return image


def spiral() -> Image.Image:
    image, draw = _canvas()
    points = [
        (140 + 4 * t * math.cos(t / 2.5), 140 + 4 * t * math.sin(t / 2.5)) for t in range(30)
    ]
    draw.line(points, fill=0, width=STROKE // 2, joint="curve")
    return image


def filled(shape: str) -> Image.Image:
    image, draw = _canvas()
    if shape == "blob":
        draw.ellipse([60, 60, 220, 220], fill=0)
    elif shape == "square blob":
        draw.rectangle([60, 60, 220, 220], fill=0)
    elif shape == "dot":
        draw.ellipse([135, 135, 147, 147], fill=0)
    elif shape == "square":
        draw.rectangle([60, 60, 220, 220], outline=0, width=STROKE)
    elif shape == "triangle":
        draw.polygon([(140, 40), (240, 240), (40, 240)], outline=0, width=STROKE)
    elif shape == "star":
        points = [
            (140 + (100 if i % 2 == 0 else 40) * math.cos(i * math.pi / 5 - math.pi / 2),
             140 + (100 if i % 2 == 0 else 40) * math.sin(i * math.pi / 5 - math.pi / 2))
            for i in range(11)
        ]
        draw.line(points, fill=0, width=STROKE, joint="curve")
    elif shape == "cross":
        draw.line([(140, 40), (140, 240)], fill=0, width=STROKE)
        draw.line([(40, 140), (240, 140)], fill=0, width=STROKE)
    return image


def non_digit_drawings() -> dict[str, Image.Image]:
    drawings = {f"letter {name}": letter(name) for name in LETTER_STROKES}
    drawings.update({f"scribble {seed}": scribble(seed) for seed in range(12)})
    drawings["spiral"] = spiral()
    for shape in ("blob", "square blob", "dot", "square", "triangle", "star", "cross"):
        drawings[shape] = filled(shape)
    return drawings
