"""Fixtures that write the tiny MNIST look-alike (tests/training/tiny_mnist.py) to disk, whole
or deliberately broken, and settings for a fast run on it. No test here needs real MNIST except
those marked ``full_mnist``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from project_paths import SHARED_DATA
from tiny_mnist import MnistFiles, make_tiny_mnist

from training.settings import TrainSettings

SHARED_DATA_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "mnist.npz",
    "README.md",
)


@pytest.fixture(scope="session")
def tiny_mnist() -> dict[str, np.ndarray]:
    """60 training and 22 test images of the digits 0, 1 and 2 (read-only arrays)."""
    return make_tiny_mnist()


@pytest.fixture
def mnist_files(tmp_path: Path, tiny_mnist: dict[str, np.ndarray]) -> MnistFiles:
    return MnistFiles(tmp_path, tiny_mnist)


@pytest.fixture(scope="module")
def tiny_idx_folder(
    tmp_path_factory: pytest.TempPathFactory, tiny_mnist: dict[str, np.ndarray]
) -> Path:
    """The tiny set as gzipped IDX files, shared by the tests of one module (read only)."""
    return MnistFiles(tmp_path_factory.mktemp("tiny"), tiny_mnist).idx_folder()


@pytest.fixture
def tiny_settings(tmp_path: Path, tiny_idx_folder: Path) -> Callable[..., TrainSettings]:
    """Settings for a fast full run on the tiny set (no out-of-distribution detector);
    keyword arguments override them."""

    def make(**overrides: object) -> TrainSettings:
        values: dict[str, object] = {
            "data": tiny_idx_folder,
            "out": tmp_path / "store",
            "epochs": 2,
            "batch_size": 16,
            "seed": 7,
            # The detector (training/ood_detector.py) is not what these tests are about.
            "out_of_distribution": False,
        }
        values.update(overrides)
        return TrainSettings(**values)  # type: ignore[arg-type]

    return make


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real MNIST beside the project; tests that need it skip, saying why, without it."""
    missing = [name for name in SHARED_DATA_FILES if not (SHARED_DATA / name).is_file()]
    if missing:
        pytest.skip(f"full MNIST not found: {SHARED_DATA} lacks {', '.join(missing)}")
    return SHARED_DATA
