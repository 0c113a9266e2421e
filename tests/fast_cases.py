"""Which cases of a parametrised test `make test-fast` runs.

A test repeated over many models, examples or settings keeps a sample in `make test-fast` and
runs every case in `make test`: the other cases are marked `slow` (pyproject.toml's markers).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import pytest

T = TypeVar("T")


def fast_sample(values: Iterable[T], fast: Callable[[T], bool] | None = None) -> list[Any]:
    """``values`` as pytest params: those ``fast`` picks (the first one if not given) as they are,
    the others marked slow. For a parametrize's or a fixture's ``params``; ``ids`` still apply."""
    return [
        value
        if (fast(value) if fast is not None else index == 0)
        else pytest.param(value, marks=pytest.mark.slow)
        for index, value in enumerate(values)
    ]
