"""core/writing_styles.py adds the strokes it promises, and core/augmented_epochs.py makes
each epoch's augmented images in a seeded order. Drawn digits only: no MNIST needed."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from core import writing_styles
from core.augmentation import augment
from core.augmented_epochs import (
    BLOCK,
    AugmentedEpochs,
    augment_in_blocks,
    epoch_dataset,
    steps_per_epoch,
)


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


# --- the epochs -----------------------------------------------------------------------------


@pytest.fixture
def epochs(tiny_mnist: dict[str, np.ndarray]) -> AugmentedEpochs:
    images, labels = np.array(tiny_mnist["x_train"]), np.array(tiny_mnist["y_train"])
    return AugmentedEpochs(images, labels, labels, seed=3)


def test_an_epoch_covers_every_image_once_with_its_own_target(
    epochs: AugmentedEpochs,
) -> None:
    images, targets = epochs(0)
    assert images.dtype == np.uint8 and images.shape == (60, 28, 28)
    assert sorted(targets.tolist()) == sorted(epochs.targets.tolist())
    order = np.random.default_rng([3, 0]).permutation(60)
    np.testing.assert_array_equal(targets, epochs.targets[order])


def test_every_epoch_is_new_and_the_same_seed_repeats_them(
    epochs: AugmentedEpochs, tiny_mnist: dict[str, np.ndarray]
) -> None:
    first, second = epochs(0), epochs(1)
    assert np.mean(first[0] != second[0]) > 0.05

    labels = np.array(tiny_mnist["y_train"])
    again = AugmentedEpochs(np.array(tiny_mnist["x_train"]), labels, labels, seed=3)
    np.testing.assert_array_equal(again(0)[0], first[0])
    np.testing.assert_array_equal(again(0)[1], first[1])


def test_blocks_give_the_same_images_whichever_thread_makes_them() -> None:
    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, (3 * BLOCK + 7, 28, 28), dtype=np.uint8)
    digits = rng.integers(0, 10, len(images))
    together = augment_in_blocks(images, digits, [9, 2])
    one_by_one = [
        augment(images[i : i + BLOCK], digits[i : i + BLOCK], np.random.default_rng([9, 2, k]))
        for k, i in enumerate(range(0, len(images), BLOCK))
    ]
    np.testing.assert_array_equal(together, np.concatenate(one_by_one))


def test_kept_epochs_are_the_first_ones_made(epochs: AugmentedEpochs) -> None:
    epochs.keep = 3
    made = epochs(2)
    epochs(3)
    assert list(epochs.kept) == [2]
    assert epochs.kept[2][0] is made[0]


def test_the_dataset_serves_each_epoch_in_float_batches_in_turn(
    epochs: AugmentedEpochs,
) -> None:
    batches = list(epoch_dataset(epochs, 2, batch_size=16).as_numpy_iterator())
    per_epoch = steps_per_epoch(len(epochs), 16)
    assert per_epoch == 4 and len(batches) == 2 * per_epoch
    for k in range(2):
        images, targets = epochs(k)
        served = batches[k * per_epoch : (k + 1) * per_epoch]
        x = np.concatenate([b[0] for b in served])
        assert x.dtype == np.float32 and x.shape == (60, 784)
        np.testing.assert_allclose(x, images.reshape(60, -1) / 255.0, atol=1e-7)
        np.testing.assert_array_equal(np.concatenate([b[1] for b in served]), targets)


def test_epochs_refuse_inputs_of_different_lengths() -> None:
    images = np.zeros((4, 28, 28), dtype=np.uint8)
    with pytest.raises(ValueError, match="same length"):
        AugmentedEpochs(images, np.zeros(3), np.zeros(4), seed=0)
