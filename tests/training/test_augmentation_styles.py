"""core/writing_styles.py adds the strokes it promises. Drawn digits only: no MNIST needed."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from core import writing_styles


def drawn(strokes: list[list[tuple[int, int]]], width: int = 3) -> np.ndarray:
    """A 28×28 digit from strokes, white on black, float32 in [0, 1]."""
    image = Image.new("L", (28, 28), 0)
    draw = ImageDraw.Draw(image)
    for stroke in strokes:
        draw.line(stroke, fill=255, width=width)
    return np.asarray(image, dtype=np.float32) / 255.0


ONE = drawn([[(14, 4), (14, 23)]])
SEVEN = drawn([[(7, 4), (21, 4), (12, 23)]])
OPEN_FOUR = drawn([[(8, 4), (8, 15), (22, 15)], [(18, 4), (18, 23)]])


def params(*values: float) -> np.ndarray:
    return np.array([[*values, *[0.5] * (5 - len(values))]], dtype=np.float64)


def test_a_flag_adds_ink_left_of_the_top_of_a_one() -> None:
    flagged = writing_styles.flag_and_foot(ONE[None], params(0.5, 0.5, 0.5, 0.9))[0]
    top_left = (slice(4, 12), slice(0, 12))
    assert ONE[top_left].sum() == 0
    assert flagged[top_left].sum() > 5
    assert flagged[20:, :].sum() == pytest.approx(ONE[20:, :].sum(), abs=0.5)  # no foot


def test_a_foot_adds_a_bar_across_the_bottom_of_a_one() -> None:
    footed = writing_styles.flag_and_foot(ONE[None], params(0.5, 0.5, 0.5, 0.1))[0]
    bottom = footed[21:25]
    columns_with_ink = np.flatnonzero(bottom.max(axis=0) > 0.5)
    assert columns_with_ink[0] < 11 and columns_with_ink[-1] > 17  # wider than the stem's 3 px


def test_a_crossbar_crosses_the_stem_of_a_seven_below_its_middle() -> None:
    crossed = writing_styles.crossbar(SEVEN[None], params(0.5, 0.5, 0.5))[0]
    added = crossed - SEVEN
    rows_with_new_ink = np.flatnonzero(added.max(axis=1) > 0.5)
    assert 12 <= rows_with_new_ink.mean() <= 17
    assert (added.max(axis=0) > 0.5).sum() >= 6  # a horizontal bar, several columns wide


def test_a_closed_four_gets_a_stroke_from_the_stem_top_to_the_arm() -> None:
    closed = writing_styles.closed_top(OPEN_FOUR[None], params(0.5))[0]
    gap = (slice(4, 10), slice(10, 17))  # between the arm and the stem, at the top
    assert OPEN_FOUR[gap].sum() == 0
    assert closed[gap].sum() > 3


def test_only_the_chosen_digits_get_a_style() -> None:
    images = np.stack([ONE, SEVEN, OPEN_FOUR, ONE])
    labels = np.array([1, 7, 4, 0])  # the last "1" is labelled 0: it must stay as it is
    styled = writing_styles.add_variants(images, labels, np.random.default_rng(0), 1.0)
    assert all(not np.array_equal(styled[i], images[i]) for i in range(3))
    np.testing.assert_array_equal(styled[3], images[3])
    unchanged = writing_styles.add_variants(images, labels, np.random.default_rng(0), 0.0)
    np.testing.assert_array_equal(unchanged, images)
