"""colors.js, as the page loads it: the class palette stays readable for colour-blind people.

Each class colour is seen as a person with protanopia, deuteranopia or tritanopia would see it
(Machado, Oliveira and Fernandes 2009, full severity, applied in linear RGB), and every pair
of classes must still differ by at least MIN_DIFFERENCE in CIELAB (ΔE*ab). The palette the page
ships (Petroff's ten colours) keeps every pair 17 or more apart; matplotlib's old default
"tab10" falls to 4.6 under protanopia (its orange and green), so this check can fail.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from page_actions import open_app

pytestmark = pytest.mark.browser

MIN_DIFFERENCE = 15.0
CLASSES = 10

SIMULATIONS = {
    "normal vision": np.eye(3),
    "protanopia": np.array(
        [
            [0.152286, 1.052583, -0.204868],
            [0.114503, 0.786281, 0.099216],
            [-0.003882, -0.048116, 1.051998],
        ]
    ),
    "deuteranopia": np.array(
        [
            [0.367322, 0.860646, -0.227968],
            [0.280085, 0.672501, 0.047413],
            [-0.011820, 0.042940, 0.968881],
        ]
    ),
    "tritanopia": np.array(
        [
            [1.255528, -0.076749, -0.178779],
            [-0.078411, 0.930809, 0.147602],
            [0.004733, 0.691367, 0.303900],
        ]
    ),
}
SRGB_TO_XYZ = np.array(
    [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
)
D65 = np.array([0.95047, 1.0, 1.08883])


def linear_rgb(hex_colour: str) -> np.ndarray:
    srgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]) / 255
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def cielab(linear: np.ndarray) -> np.ndarray:
    t = SRGB_TO_XYZ @ linear / D65
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def closest_pair(colours: list[str], simulation: np.ndarray) -> tuple[float, str, str]:
    seen = [cielab(np.clip(simulation @ linear_rgb(c), 0, 1)) for c in colours]
    return min(
        (float(np.linalg.norm(seen[i] - seen[j])), colours[i], colours[j])
        for i, j in itertools.combinations(range(len(colours)), 2)
    )


def test_closest_pair_tells_a_safe_palette_from_an_unsafe_one() -> None:
    tab10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
             "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]  # fmt: skip
    assert closest_pair(tab10, SIMULATIONS["protanopia"])[0] < MIN_DIFFERENCE


def test_the_class_palette_stays_apart_for_colour_blind_eyes(page: Any) -> None:
    open_app(page)
    colours = page.evaluate("async () => (await import('/static/js/colors.js')).CLASS_COLOURS")
    assert len(set(colours)) >= CLASSES, "one colour for each of MNIST's ten classes"
    for name, simulation in SIMULATIONS.items():
        difference, first, second = closest_pair(colours, simulation)
        assert difference >= MIN_DIFFERENCE, f"{name}: {first} and {second} look alike"
