"""Where the suite finds the project and the MNIST beside it: one definition for every test.

MNIST lives in ../shared/data beside the project's root (never committed); tests that need it
skip when it is absent (CI has it).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
MODEL_STORE = REPO_ROOT / "model_store"
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
SHARED_MNIST_NPZ = SHARED_DATA / "mnist.npz"


@cache
def mnist_test_split() -> tuple[np.ndarray, np.ndarray] | None:
    """MNIST's 10,000 test digits (uint8 (n, 28, 28), white ink on black) and their labels, read
    once and read-only; None when ../shared/data has no mnist.npz."""
    if not SHARED_MNIST_NPZ.is_file():
        return None
    with np.load(SHARED_MNIST_NPZ) as archive:
        images, labels = archive["x_test"], archive["y_test"]
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def mnist_test_split_or_skip() -> tuple[np.ndarray, np.ndarray]:
    """As mnist_test_split(), skipping the test that asks when MNIST is absent."""
    split = mnist_test_split()
    if split is None:
        pytest.skip(f"MNIST is not at {SHARED_MNIST_NPZ}")
    return split
