"""The shipped models, loaded the way the server loads them, and the MNIST test set."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from app.model_registry import LoadedModel, load_model
from core.augmentation import shifted_test_set

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL_STORE = REPO_ROOT / "model_store"
SHARED_MNIST = REPO_ROOT.parent / "shared" / "data" / "mnist.npz"


@pytest.fixture(scope="session")
def digits_0_1() -> LoadedModel:
    return load_model(MODEL_STORE / "digits-0-1.json")


@pytest.fixture(scope="session")
def digits_0_9() -> LoadedModel:
    return load_model(MODEL_STORE / "digits-0-9.json")


@pytest.fixture(scope="session")
def mnist_test() -> tuple[np.ndarray, np.ndarray]:
    if not SHARED_MNIST.exists():
        pytest.skip(f"full MNIST not found at {SHARED_MNIST}")
    with np.load(SHARED_MNIST) as data:
        images = data["x_test"].reshape(-1, 784).astype(np.float32) / 255.0
        return images, data["y_test"]


@pytest.fixture(scope="session")
def shifted_mnist_test() -> tuple[np.ndarray, np.ndarray]:
    """The shifted test set (training/shifted_test_set.py): MNIST's test digits changed beyond
    the ranges the models were trained with."""
    if not SHARED_MNIST.exists():
        pytest.skip(f"full MNIST not found at {SHARED_MNIST}")
    with np.load(SHARED_MNIST) as data:
        shifted = shifted_test_set(data["x_test"], data["y_test"])
        return shifted.reshape(-1, 784).astype(np.float32) / 255.0, data["y_test"]
