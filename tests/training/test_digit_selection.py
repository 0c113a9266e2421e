"""select_digits: the requested digits as MNIST stores them, validation held out, test apart."""

from __future__ import annotations

import numpy as np
import pytest

from core.mnist_data import DataError, Mnist
from core.recipe import select_digits


@pytest.fixture
def tiny(tiny_mnist: dict[str, np.ndarray]) -> Mnist:
    return Mnist(**tiny_mnist, source="tiny", format="npz")


@pytest.mark.parametrize("digits", [(0, 1), (1, 2), (0, 2), (0, 1, 2)])
@pytest.mark.parametrize("fraction", [0.1, 0.25, 0.5])
def test_select_digits_keeps_only_the_requested_digits_as_class_indices(
    tiny: Mnist, digits: tuple[int, ...], fraction: float
) -> None:
    splits = select_digits(tiny, digits, fraction, seed=1)

    kept_train = int(np.isin(tiny.y_train, digits).sum())
    kept_test = int(np.isin(tiny.y_test, digits).sum())
    assert len(splits.y_train) + len(splits.y_val) == kept_train
    assert len(splits.y_val) == max(1, round(kept_train * fraction))
    assert len(splits.y_test) == kept_test
    for labels in (splits.y_train, splits.y_val, splits.y_test):
        assert set(np.unique(labels)) <= set(range(len(digits)))
    # Class i is the i-th requested digit, in every split.
    for class_index, digit in enumerate(digits):
        assert int((splits.y_test == class_index).sum()) == int((tiny.y_test == digit).sum())
        in_training = (splits.y_train == class_index).sum() + (splits.y_val == class_index).sum()
        assert int(in_training) == int((tiny.y_train == digit).sum())


def test_select_digits_keeps_the_digits_as_mnist_stores_them(tiny: Mnist) -> None:
    splits = select_digits(tiny, (0, 1), 0.1, seed=1)

    for images in (splits.x_train, splits.x_val, splits.x_test):
        assert images.dtype == np.uint8
        assert images.shape[1:] == (28, 28)
    first = int(splits.test_indices[0])
    np.testing.assert_array_equal(splits.x_test[0], tiny.x_test[first])


def test_test_indices_point_at_the_same_images_in_the_full_test_set(tiny: Mnist) -> None:
    digits = (1, 2)
    splits = select_digits(tiny, digits, 0.2, seed=3)

    np.testing.assert_array_equal(splits.test_indices, np.flatnonzero(np.isin(tiny.y_test, digits)))
    for row, index in enumerate(splits.test_indices):
        assert digits[splits.y_test[row]] == tiny.y_test[index]
        np.testing.assert_array_equal(splits.x_test[row], tiny.x_test[index])


def rows(x: np.ndarray) -> set[bytes]:
    return {row.tobytes() for row in x}


def test_validation_comes_from_training_and_the_test_set_stays_apart(tiny: Mnist) -> None:
    splits = select_digits(tiny, (0, 1, 2), 0.25, seed=5)

    everything_trained = rows(tiny.x_train)
    assert rows(splits.x_val) <= everything_trained
    assert rows(splits.x_train) <= everything_trained
    assert not rows(splits.x_train) & rows(splits.x_val)
    assert not rows(splits.x_test) & (rows(splits.x_train) | rows(splits.x_val))


def test_the_same_seed_gives_the_same_split_and_another_seed_another(tiny: Mnist) -> None:
    first = select_digits(tiny, (0, 1), 0.25, seed=11)
    again = select_digits(tiny, (0, 1), 0.25, seed=11)
    other = select_digits(tiny, (0, 1), 0.25, seed=12)

    np.testing.assert_array_equal(first.x_val, again.x_val)
    np.testing.assert_array_equal(first.y_train, again.y_train)
    assert rows(first.x_val) != rows(other.x_val)
    np.testing.assert_array_equal(first.x_test, other.x_test)  # the test set never moves


@pytest.mark.parametrize(
    ("digits", "message"),
    [
        ((0, 3), "the training set has no examples of digit(s) 3"),
        ((3, 4, 5), "the training set has no examples of digit(s) 3, 4, 5"),
    ],
)
def test_a_digit_with_no_examples_is_a_data_error(
    tiny: Mnist, digits: tuple[int, ...], message: str
) -> None:
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        select_digits(tiny, digits, 0.1, seed=1)


def test_a_digit_missing_only_from_the_test_set_is_a_data_error(tiny: Mnist) -> None:
    y_test = np.where(tiny.y_test == 2, 0, tiny.y_test).astype(np.uint8)
    no_test_twos = Mnist(tiny.x_train, tiny.y_train, tiny.x_test, y_test, "tiny", "npz")

    with pytest.raises(DataError, match=r"the test set has no examples of digit\(s\) 2"):
        select_digits(no_test_twos, (1, 2), 0.1, seed=1)
