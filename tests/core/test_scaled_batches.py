"""MNIST kept as uint8 for the page's live training: the recipe's uint8 path gives the same
inputs, batches and probabilities as its float path."""

from __future__ import annotations

import numpy as np

from core import recipe
from core.mnist_data import Mnist
from core.scaled_batches import ScaledBatches


def small_mnist() -> Mnist:
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (300, 28, 28), dtype=np.uint8)
    labels = np.tile(np.arange(3, dtype=np.uint8), 100)
    return Mnist(images[:240], labels[:240], images[240:], labels[240:], "test", "npz")


def test_uint8_splits_scale_to_exactly_the_float_splits() -> None:
    floats = recipe.select_digits(small_mnist(), (0, 2), 0.2, seed=5)
    bytes_ = recipe.select_digits(small_mnist(), (0, 2), 0.2, seed=5, keep_uint8=True)
    assert bytes_.x_train.dtype == np.uint8
    for name in ("x_train", "x_val", "x_test"):
        assert np.array_equal(getattr(bytes_, name).astype(np.float32) / 255.0,
                              getattr(floats, name))
    assert np.array_equal(bytes_.y_train, floats.y_train)


def test_each_epoch_serves_every_row_once_in_a_new_seeded_order() -> None:
    x = np.arange(10, dtype=np.uint8).repeat(784).reshape(10, 784)
    y = np.arange(10)

    def epoch(batches: ScaledBatches) -> np.ndarray:
        batches.on_epoch_begin()
        parts = [batches[i] for i in range(batches.num_batches)]
        assert all(np.array_equal(bx[:, 0] * 255, by) for bx, by in parts)  # rows keep labels
        return np.concatenate([by for _, by in parts])

    batches = ScaledBatches(x, y, batch_size=4, seed=1, shuffle=True)
    first, second = epoch(batches), epoch(batches)
    assert sorted(first) == list(range(10)) and sorted(second) == list(range(10))
    assert not np.array_equal(first, second)
    assert np.array_equal(first, epoch(ScaledBatches(x, y, batch_size=4, seed=1, shuffle=True)))


def test_probabilities_of_uint8_rows_match_those_of_float_rows() -> None:
    splits = recipe.select_digits(small_mnist(), (0, 1, 2), 0.2, seed=5, keep_uint8=True)
    model = recipe.build_network(recipe.RecipeSettings(digits=(0, 1, 2), hidden=(8,)))
    from_bytes = recipe.class_probabilities(model, splits.x_test, binary=False)
    floats = splits.x_test.astype(np.float32) / 255.0
    from_floats = recipe.class_probabilities(model, floats, binary=False)
    assert np.allclose(from_bytes, from_floats, atol=1e-6)
