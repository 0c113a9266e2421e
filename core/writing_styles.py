"""Ways of writing digits that MNIST, written mostly by American writers, has few of.

Many people write a 1 with a long flag at the top and a foot at the bottom, a 7 with a bar
across its stem, and a 4 closed at the top. These are drawn onto MNIST's own training digits
(never taken from any other handwriting set): a straight stroke, as wide as the digit's own
strokes, added where the writer would add it. Works on float32 batches (n, 28, 28) in [0, 1],
white ink on black; core/augmentation.py calls add_variants before its other changes.
"""

from __future__ import annotations

import numpy as np

_ROWS, _COLS = np.mgrid[0:28, 0:28].astype(np.float32)
_INK = 0.5  # a pixel at least this bright is part of a stroke


def add_variants(x: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
                 probability: float) -> np.ndarray:
    """Give about `probability` of the 1s, 7s and 4s a variant writing style. The random
    draws do not depend on the labels' order of appearance, only on the batch's size."""
    n = len(x)
    chosen = rng.random(n) < probability
    params = rng.random((n, 5))
    out = x.copy()
    for digit, draw in ((1, flag_and_foot), (7, crossbar), (4, closed_top)):
        pick = chosen & (labels == digit)
        if pick.any():
            out[pick] = draw(x[pick], params[pick])
    return out


def flag_and_foot(x: np.ndarray, params: np.ndarray) -> np.ndarray:
    """1s with a flag from the top, down to the left (35–65° below the horizontal, 20–40% of
    the digit's length: shallower and longer, it would read as a 7), and for half of them a
    horizontal foot across the bottom.
    `params` (n, 5) uniform in [0, 1) choose the sizes."""
    top, bottom = _ink_rows(x)
    top_col = _mean_column(x, top, top + 2)
    bottom_col = _mean_column(x, bottom - 1, bottom + 1)
    length = np.hypot(bottom - top, bottom_col - top_col)
    width = _stroke_width(x, top + 0.3 * (bottom - top), top + 0.7 * (bottom - top))
    angle = np.radians(35 + 30 * params[:, 0])
    flag = (0.20 + 0.20 * params[:, 1]) * length
    start = np.stack([top + 0.5, top_col], 1)
    end = start + np.stack([flag * np.sin(angle), -flag * np.cos(angle)], 1)
    out = np.maximum(x, _segment(start, end, width))
    half_foot = (0.18 + 0.15 * params[:, 2]) * length
    foot = params[:, 3] < 0.5
    left = np.stack([bottom - 0.5, bottom_col - half_foot], 1)
    right = np.stack([bottom - 0.5, bottom_col + half_foot], 1)
    return np.where(foot[:, None, None], np.maximum(out, _segment(left, right, width)), out)


def crossbar(x: np.ndarray, params: np.ndarray) -> np.ndarray:
    """7s with a short bar across the stem, a little below the middle of its height."""
    top, bottom = _ink_rows(x)
    height = bottom - top
    row = top + (0.45 + 0.15 * params[:, 0]) * height
    column = _mean_column(x, np.floor(row) - 1, np.floor(row) + 2)
    width = _stroke_width(x, top + 0.4 * height, top + 0.8 * height)
    half = (0.16 + 0.12 * params[:, 1]) * height
    tilt = np.radians(-8 + 16 * params[:, 2])
    delta = np.stack([half * np.sin(tilt), half * np.cos(tilt)], 1)
    centre = np.stack([row, column], 1)
    has_stem = np.isfinite(column)
    centre = np.where(has_stem[:, None], centre, -100.0)  # no ink in that row: no bar
    return np.maximum(x, _segment(centre - delta, centre + delta, width))


def closed_top(x: np.ndarray, params: np.ndarray) -> np.ndarray:
    """4s whose open top is closed as in print: a diagonal from the top of the stem down to
    the left arm, 25–45% of the height below the top, so the top comes to a point (a square
    join would make a 9)."""
    top, bottom = _ink_rows(x)
    height = bottom - top
    ink = x >= _INK
    columns_with_ink = ink.any(axis=1)
    left_edge = columns_with_ink.argmax(axis=1)
    right_edge = 27 - columns_with_ink[:, ::-1].argmax(axis=1)
    middle = ((left_edge + right_edge) / 2)[:, None, None]
    stem_top = _topmost(ink & (_COLS[None] >= middle))
    row = np.floor(top + (0.25 + 0.20 * params[:, 0]) * height)
    in_row = (_ROWS[None] >= row[:, None, None] - 1) & (_ROWS[None] <= row[:, None, None] + 1)
    arm = np.where(in_row & (_COLS[None] < middle), x, 0.0)
    mass = arm.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        arm_col = np.where(mass > 0.5, (arm * _COLS).sum(axis=(1, 2)) / mass, np.nan)
    arm_point = np.stack([row, arm_col], 1)
    arm_point = np.where(np.isfinite(arm_col)[:, None], arm_point, -100.0)
    width = np.maximum(_stroke_width(x, top, top + 0.3 * height) / 2, 1.5)
    return np.maximum(x, _segment(stem_top, arm_point, width))


# ---------------------------------------------------------------------------------------------


def _ink_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last row (float) holding stroke ink."""
    rows = (x >= _INK).any(axis=2)
    return rows.argmax(axis=1).astype(np.float32), (27 - rows[:, ::-1].argmax(axis=1)).astype(
        np.float32
    )


def _mean_column(x: np.ndarray, first_row: np.ndarray, stop_row: np.ndarray) -> np.ndarray:
    """Ink-weighted mean column of rows [first_row, stop_row); NaN where they hold no ink."""
    in_rows = (_ROWS[None] >= first_row[:, None, None]) & (_ROWS[None] < stop_row[:, None, None])
    weights = np.where(in_rows, x, 0.0)
    total = weights.sum(axis=(1, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0.5, (weights * _COLS).sum(axis=(1, 2)) / total, np.nan)


def _stroke_width(x: np.ndarray, first_row: np.ndarray, stop_row: np.ndarray) -> np.ndarray:
    """Stroke pixels per row in rows [first_row, stop_row): a stroke's width where it crosses
    them once; between 1.5 and 4 px."""
    in_rows = (_ROWS[None] >= first_row[:, None, None]) & (_ROWS[None] < stop_row[:, None, None])
    counted = (in_rows & (x >= _INK)).sum(axis=(1, 2))
    rows = np.maximum(in_rows.any(axis=2).sum(axis=1), 1)
    return np.clip(counted / rows, 1.5, 4.0)


def _topmost(mask: np.ndarray) -> np.ndarray:
    """(row, col) of the first pixel in reading order of each mask; far away if it is empty."""
    flat = mask.reshape(len(mask), -1)
    index = flat.argmax(axis=1)
    point = np.stack([index // 28, index % 28], 1).astype(np.float32)
    return np.where(flat.any(axis=1)[:, None], point, -100.0)


def _segment(start: np.ndarray, end: np.ndarray, width: np.ndarray) -> np.ndarray:
    """Anti-aliased straight strokes (n, 28, 28) from start to end (n, 2 as row, col) of the
    given width, ink 1 at the core."""
    d = (end - start)[:, :, None, None]
    p_row = _ROWS[None] - start[:, 0, None, None]
    p_col = _COLS[None] - start[:, 1, None, None]
    length2 = np.maximum(d[:, 0] ** 2 + d[:, 1] ** 2, 1e-6)
    t = np.clip((p_row * d[:, 0] + p_col * d[:, 1]) / length2, 0.0, 1.0)
    distance = np.hypot(p_row - t * d[:, 0], p_col - t * d[:, 1])
    return np.clip(width[:, None, None] / 2 + 0.5 - distance, 0.0, 1.0).astype(np.float32)
