"""Pixels as a JSON client sends them (28 rows of 28, or 784 in a row), all 0.0 but for one
planted value: what the pixel-checking tests of every layer send."""

from __future__ import annotations

from typing import Any


def rows_with(value: Any, row: int = 3, column: int = 7) -> list[list[Any]]:
    """28 rows of 28 zeros with ``value`` at (row, column)."""
    rows: list[list[Any]] = [[0.0] * 28 for _ in range(28)]
    rows[row][column] = value
    return rows


def flat_with(value: Any, index: int = 100) -> list[Any]:
    """784 zeros in a row with ``value`` at ``index`` (row 3, column 16 by default)."""
    flat: list[Any] = [0.0] * 784
    flat[index] = value
    return flat
