"""core/epochs.py: every training source is epoch → (images, targets), plain, augmented or the
detector's, and the one epoch dataset turns any of them into Keras's batches. The tiny stand-in
digits only."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from core.augmentation import TRAINING, augment
from core.epochs import (
    BLOCK,
    DigitEpochs,
    as_inputs,
    augment_in_blocks,
    epoch_dataset,
    steps_per_epoch,
)
from training.detector_data import DetectorEpochs, Outliers
from training.ood_detector import DetectorSettings
from training.train import EPOCHS_AHEAD, KeptEpochs, MadeAhead


@pytest.fixture(scope="module")
def digits(tiny_mnist: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The tiny set's 60 training digits (tests/training/conftest.py) and the digit of each."""
    return np.array(tiny_mnist["x_train"]), np.array(tiny_mnist["y_train"])


@pytest.fixture(params=["plain", "augmented"])
def epochs(request: pytest.FixtureRequest, digits: tuple[np.ndarray, ...]) -> DigitEpochs:
    images, labels = digits
    strengths = TRAINING if request.param == "augmented" else None
    # Targets other than the digits, so that a mix-up of the two shows.
    return DigitEpochs(images, labels + 10, labels, seed=3, strengths=strengths)


def test_as_inputs_flattens_row_by_row_into_the_unit_range() -> None:
    images = np.arange(2 * 28 * 28, dtype=np.int64).reshape(2, 28, 28).astype(np.uint8)

    x = as_inputs(images)

    assert x.dtype == np.float32 and x.shape == (2, 784)
    np.testing.assert_array_equal(x * 255, images.reshape(2, 784))


def test_an_epoch_has_every_digit_once_in_a_seeded_order_with_its_target(
    epochs: DigitEpochs, digits: tuple[np.ndarray, ...]
) -> None:
    images, targets = epochs(0)

    order = np.random.default_rng([3, 0]).permutation(60)
    assert images.dtype == np.uint8 and images.shape == (60, 28, 28)
    np.testing.assert_array_equal(targets, digits[1][order] + 10)
    if epochs.strengths is None:
        np.testing.assert_array_equal(images, digits[0][order])


def test_every_epoch_is_new_and_the_same_seed_repeats_it(epochs: DigitEpochs) -> None:
    first, second = epochs(0), epochs(1)
    again = DigitEpochs(epochs.images, epochs.targets, epochs.digits, 3, epochs.strengths)(0)

    assert not np.array_equal(first[1], second[1])  # a new order
    np.testing.assert_array_equal(again[0], first[0])
    np.testing.assert_array_equal(again[1], first[1])


def test_augmented_epochs_change_the_digits_afresh(digits: tuple[np.ndarray, ...]) -> None:
    images, labels = digits
    epochs = DigitEpochs(images, labels, labels, seed=3, strengths=TRAINING)
    order = np.random.default_rng([3, 0]).permutation(60)

    changed, _ = epochs(0)

    assert np.mean(changed != images[order]) > 0.05
    np.testing.assert_array_equal(changed, augment_in_blocks(images[order], labels[order],
                                                             [3, 0], TRAINING))


def test_each_block_of_an_epoch_is_augmented_with_its_own_seed() -> None:
    rng = np.random.default_rng(5)
    images = rng.integers(0, 256, (3 * BLOCK + 7, 28, 28), dtype=np.uint8)
    digits = rng.integers(0, 10, len(images))
    together = augment_in_blocks(images, digits, [9, 2], TRAINING)
    one_by_one = [
        augment(images[i : i + BLOCK], digits[i : i + BLOCK], np.random.default_rng([9, 2, k]))
        for k, i in enumerate(range(0, len(images), BLOCK))
    ]
    np.testing.assert_array_equal(together, np.concatenate(one_by_one))


def test_the_dataset_serves_each_epoch_as_network_inputs_in_turn(epochs: DigitEpochs) -> None:
    batches = list(epoch_dataset(epochs, 2, batch_size=16).as_numpy_iterator())

    per_epoch = steps_per_epoch(len(epochs), 16)
    assert per_epoch == 4 and len(batches) == 2 * per_epoch
    for k in range(2):
        images, targets = epochs(k)
        served = batches[k * per_epoch : (k + 1) * per_epoch]
        x = np.concatenate([b[0] for b in served])
        assert x.dtype == np.float32
        np.testing.assert_array_equal(x, as_inputs(images))
        np.testing.assert_array_equal(np.concatenate([b[1] for b in served]), targets)


def test_epochs_refuse_inputs_of_different_lengths() -> None:
    images = np.zeros((4, 28, 28), dtype=np.uint8)
    with pytest.raises(ValueError, match="same length"):
        DigitEpochs(images, np.zeros(3), np.zeros(4), seed=0)


def test_kept_epochs_are_made_once_and_only_the_first_ones_are_kept(
    digits: tuple[np.ndarray, ...],
) -> None:
    images, labels = digits
    kept = KeptEpochs(DigitEpochs(images, labels, labels, seed=3, strengths=TRAINING), count=2)

    first = kept(1)

    assert kept(1)[0] is first[0]  # not augmented again
    assert kept(2)[0] is not kept(2)[0]
    assert list(kept.kept) == [1]
    assert len(kept) == len(images)


def test_the_detectors_epoch_is_the_classes_epoch_and_outliers_shuffled_together(
    digits: tuple[np.ndarray, ...],
) -> None:
    images, labels = digits
    classes = DigitEpochs(images, labels, labels, seed=3, strengths=TRAINING)
    outliers = Outliers(other_digits=images[:20], other_digit_labels=labels[:20] + 2,
                        non_digits=images[20:25])
    settings = DetectorSettings(digits=tuple(range(9)), seed=1, augment=True)  # "none": 9
    epochs = DetectorEpochs(classes, outliers, settings)

    images_0, targets_0 = epochs(0)

    assert len(epochs) == len(images_0) == 60 + 20 + 5
    class_images, class_targets = classes(0)
    is_class = targets_0 != 9
    assert sorted(targets_0[is_class]) == sorted(class_targets)
    assert {image.tobytes() for image in images_0[is_class]} == {
        image.tobytes() for image in class_images
    }
    assert not np.array_equal(epochs(1)[0], images_0)
    np.testing.assert_array_equal(
        DetectorEpochs(classes, outliers, settings)(0)[0], images_0
    )


class Counted:
    """An epoch source that notes which epochs were made."""

    def __init__(self, epochs: DigitEpochs) -> None:
        self.epochs, self.made = epochs, []

    def __len__(self) -> int:
        return len(self.epochs)

    def __call__(self, epoch: int) -> tuple[np.ndarray, np.ndarray]:
        self.made.append(epoch)
        return self.epochs(epoch)


def test_epochs_made_ahead_are_the_same_and_none_past_the_last(epochs: DigitEpochs) -> None:
    counted = Counted(epochs)
    with ThreadPoolExecutor(max_workers=EPOCHS_AHEAD) as maker:
        ahead = MadeAhead(counted, count=4, maker=maker)

        served = [ahead(k) for k in range(4)]

    for k, (images, targets) in enumerate(served):
        np.testing.assert_array_equal(images, epochs(k)[0])
        np.testing.assert_array_equal(targets, epochs(k)[1])
    assert sorted(counted.made) == [0, 1, 2, 3]  # each once, and none past the last
    assert len(ahead) == len(epochs)


def test_a_started_source_makes_its_first_epochs_before_they_are_asked(
    epochs: DigitEpochs,
) -> None:
    counted = Counted(epochs)
    with ThreadPoolExecutor(max_workers=EPOCHS_AHEAD) as maker:
        ahead = MadeAhead(counted, count=4, maker=maker).start()
        for k in range(EPOCHS_AHEAD):
            ahead.ahead[k].result()

        assert sorted(counted.made) == list(range(EPOCHS_AHEAD))
        first = ahead(0)

    np.testing.assert_array_equal(first[0], epochs(0)[0])
    assert sorted(counted.made) == list(range(EPOCHS_AHEAD + 1))  # epoch 0 made once
