"""The shipped models, loaded the way the server loads them, and the MNIST test set."""

from __future__ import annotations

import numpy as np
import pytest
from project_paths import MODEL_STORE, mnist_test_split_or_skip

from app.model_registry import LoadedModel, load_model
from core.augmentation import shifted_test_set


@pytest.fixture(scope="session")
def digits_0_1() -> LoadedModel:
    return load_model(MODEL_STORE / "digits-0-1.json")


@pytest.fixture(scope="session")
def digits_0_9() -> LoadedModel:
    return load_model(MODEL_STORE / "digits-0-9.json")


@pytest.fixture(scope="session")
def mnist_test() -> tuple[np.ndarray, np.ndarray]:
    images, labels = mnist_test_split_or_skip()
    return images.reshape(-1, 784).astype(np.float32) / 255.0, labels


@pytest.fixture(scope="session")
def shifted_mnist_test() -> tuple[np.ndarray, np.ndarray]:
    """The shifted test set (training/shifted_test_set.py): MNIST's test digits changed beyond
    the ranges the models were trained with."""
    images, labels = mnist_test_split_or_skip()
    shifted = shifted_test_set(images, labels)
    return shifted.reshape(-1, 784).astype(np.float32) / 255.0, labels
