"""core/augmentation.py: each change does what it says, the result is in MNIST form (the app's,
within a stated agreement), and a seed gives the same images. On drawn bars and the tiny
stand-in digits, and, for the agreement with the app, 300 real MNIST digits."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core import augmentation as aug
from core.mnist_data import load_mnist
from core.mnist_form import image_to_mnist

SIDE = 28


def bar(rows: slice = slice(4, 24), cols: slice = slice(13, 16), side: int = SIDE) -> np.ndarray:
    """One white vertical bar on black, float32 (1, side, side)."""
    image = np.zeros((1, side, side), dtype=np.float32)
    image[0, rows, cols] = 1.0
    return image


def orientation_degrees(image: np.ndarray) -> float:
    """Angle of the ink's long axis from the vertical, positive when its top leans left (as
    an anticlockwise turn of a vertical bar leaves it), from the second moments."""
    rows, cols = np.mgrid[: image.shape[0], : image.shape[1]]
    mass = image.sum()
    r = rows - (image * rows).sum() / mass
    c = cols - (image * cols).sum() / mass
    rr, cc, rc = (image * r * r).sum(), (image * c * c).sum(), (image * r * c).sum()
    return float(np.degrees(0.5 * np.arctan2(2 * rc, rr - cc)))


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.mgrid[: image.shape[0], : image.shape[1]]
    mass = image.sum()
    return float((image * rows).sum() / mass), float((image * cols).sum() / mass)


def extent(image: np.ndarray) -> tuple[float, float]:
    """(height, width) of the ink from its second moments: exact for a filled rectangle
    (a uniform spread of length L has variance L²/12), blind to soft edges."""
    rows, cols = np.mgrid[: image.shape[0], : image.shape[1]]
    mass = image.sum()
    r = rows - (image * rows).sum() / mass
    c = cols - (image * cols).sum() / mass
    return (float(np.sqrt(12 * (image * r * r).sum() / mass)),
            float(np.sqrt(12 * (image * c * c).sum() / mass)))


def ink_box(image: np.ndarray, floor: float) -> tuple[int, int]:
    """(height, width) of the pixels above `floor`."""
    rows = np.flatnonzero(image.max(axis=1) > floor)
    cols = np.flatnonzero(image.max(axis=0) > floor)
    return int(rows[-1] - rows[0] + 1), int(cols[-1] - cols[0] + 1)


@pytest.fixture(scope="module")
def digits(tiny_mnist: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The tiny stand-in set's 60 crude training digits (tests/training/conftest.py)."""
    return np.array(tiny_mnist["x_train"]), np.array(tiny_mnist["y_train"])


# --- the whole change ---------------------------------------------------------------------


def test_augment_gives_uint8_digits_of_the_same_shape(digits: tuple[np.ndarray, ...]) -> None:
    images, labels = digits
    out = aug.augment(images, labels, np.random.default_rng(0))
    assert out.shape == images.shape
    assert out.dtype == np.uint8
    assert (out.reshape(len(out), -1).max(axis=1) == 255).all()  # strongest ink is full


def test_the_same_seed_gives_the_same_images_and_another_seed_others(
    digits: tuple[np.ndarray, ...],
) -> None:
    images, labels = digits
    first = aug.augment(images, labels, np.random.default_rng(5))
    again = aug.augment(images, labels, np.random.default_rng(5))
    other = aug.augment(images, labels, np.random.default_rng(6))
    np.testing.assert_array_equal(first, again)
    assert np.mean(first != other) > 0.05


def test_augmented_digits_are_in_mnist_form(digits: tuple[np.ndarray, ...]) -> None:
    """Without the deliberate shift and zoom: the ink's box 20 px, its centre of mass (14, 14)."""
    images, labels = digits
    still = aug.Strengths(shift_px=0.0, zoom=0.0)
    out = aug.augment(images, labels, np.random.default_rng(1), still)
    for image in out:
        height, width = ink_box(image / 255.0, 0.2)
        assert 17 <= max(height, width) <= 21  # the box is 20: soft edges move it a bit
        row, col = centre_of_mass(image / 255.0)
        assert abs(row - 14) < 0.6 and abs(col - 14) < 0.6


@pytest.mark.full_mnist
def test_the_vectorised_mnist_form_agrees_with_the_apps(shared_data: Path) -> None:
    """Training's `to_mnist_form` and the app's `image_to_mnist` (core/mnist_form.py) make the
    same MNIST form of 300 MNIST training digits turned, slanted and stretched out of it. The
    app moves a digit by whole pixels, training by fractions of one, so for every digit: the
    centres of mass at most 0.55 px apart on each axis, the ink boxes' longer sides at most 1 px
    apart, and, once the app's digit is moved by the fraction between the two centres, a pixel
    correlation of at least 0.95 and a mean absolute difference of at most 0.04 (here: 0.53 px,
    1 px, 0.960 and 0.033 at worst)."""
    rng = np.random.default_rng(0)
    digits = load_mnist(shared_data).x_train[rng.choice(60_000, 300, replace=False)]
    n = len(digits)
    warped = aug.warp(
        digits / np.float32(255),
        rotation_degrees=rng.uniform(-15, 15, n),
        slant=rng.uniform(-0.3, 0.3, n),
        stretch_x=np.exp(rng.uniform(-0.3, 0.3, n)),
        stretch_y=np.exp(rng.uniform(-0.3, 0.3, n)),
    )
    images = aug.as_uint8(warped)  # 34×34, no longer in MNIST form

    training = aug.to_mnist_form(images / np.float32(255))
    app = np.stack([image_to_mnist(Image.fromarray(image)) for image in images])

    for ours, theirs in zip(training, app, strict=True):
        (row, col), (app_row, app_col) = centre_of_mass(ours), centre_of_mass(theirs)
        assert abs(row - app_row) <= 0.55 and abs(col - app_col) <= 0.55
        assert abs(max(ink_box(ours, 0.2)) - max(ink_box(theirs, 0.2))) <= 1
        grid = np.mgrid[:SIDE, :SIDE].astype(np.float32)
        aligned = aug.sample_bilinear(theirs[None], grid[0][None] + np.float32(app_row - row),
                                      grid[1][None] + np.float32(app_col - col))[0]
        assert np.corrcoef(ours.ravel(), aligned.ravel())[0, 1] >= 0.95
        assert np.mean(np.abs(ours - aligned)) <= 0.04


def test_augment_refuses_what_is_not_a_batch_of_uint8_digits() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"uint8 digits of shape \(n, 28, 28\)"):
        aug.augment(np.zeros((2, 28, 28), dtype=np.float32), np.zeros(2), rng)
    with pytest.raises(ValueError, match=r"\(n, 28, 28\)"):
        aug.augment(np.zeros((2, 784), dtype=np.uint8), np.zeros(2), rng)


def test_the_shifted_test_set_is_the_same_on_every_run_and_unlike_training(
    digits: tuple[np.ndarray, ...],
) -> None:
    images, labels = digits
    first = aug.shifted_test_set(images, labels)
    np.testing.assert_array_equal(first, aug.shifted_test_set(images, labels))
    assert np.mean(first != aug.shifted_test_set(images, labels, seed=1)) > 0.05
    assert first.shape == images.shape and first.dtype == np.uint8


def test_the_shifted_set_reaches_beyond_every_training_range() -> None:
    for field in fields(aug.Strengths):
        train, shifted = getattr(aug.TRAINING, field.name), getattr(aug.SHIFTED, field.name)
        if isinstance(train, tuple):
            assert shifted[1] > train[1], field.name  # the far end goes further
            if field.name == "thickness_px":
                assert shifted[0] <= train[0]  # and thinner still is as thin
        else:
            assert shifted > train, field.name


def test_the_strengths_are_recorded_for_the_card_by_name() -> None:
    card = aug.TRAINING.as_card()
    assert card["rotation_degrees"] == aug.TRAINING.rotation_degrees
    assert card["thickness_px"] == list(aug.TRAINING.thickness_px)
    assert set(card) == {field.name for field in fields(aug.Strengths)}


# --- the single changes -------------------------------------------------------------------


def test_thicker_strokes_have_more_ink_and_thinner_less() -> None:
    image = bar(cols=slice(12, 16))
    thicker = aug.change_thickness(image, np.array([2.0]))
    thinner = aug.change_thickness(image, np.array([-1.0]))
    assert (thicker > 0.5).sum() > (image > 0.5).sum() + 20
    assert (thinner > 0.5).sum() < (image > 0.5).sum() - 10
    width = lambda x: int((x[0, 14] > 0.5).sum())  # noqa: E731
    assert (width(thinner), width(image), width(thicker)) == (3, 4, 6)


def test_a_thicker_stroke_stays_where_it_was() -> None:
    image = bar(cols=slice(12, 16))
    thicker = aug.change_thickness(image, np.array([2.0]))
    assert centre_of_mass(thicker[0]) == pytest.approx(centre_of_mass(image[0]), abs=0.01)


def test_no_thickness_change_leaves_the_image_as_it_is() -> None:
    image = bar()
    np.testing.assert_array_equal(aug.change_thickness(image, np.array([0.0])), image)


@pytest.mark.parametrize("degrees", [-15.0, 10.0, 20.0])
def test_rotation_turns_the_ink_by_its_angle_about_its_centre_of_mass(degrees: float) -> None:
    image = bar()
    turned = aug.warp(image, np.array([degrees]), np.zeros(1), np.ones(1), np.ones(1))[0]
    assert orientation_degrees(turned) == pytest.approx(degrees, abs=1.0)
    middle = (34 - 1) / 2  # the warp's field is 34×34, the centre of mass in its middle
    assert centre_of_mass(turned) == pytest.approx((middle, middle), abs=0.1)


def test_positive_slant_leans_the_top_to_the_right() -> None:
    image = bar()
    slanted = aug.warp(image, np.zeros(1), np.array([0.3]), np.ones(1), np.ones(1))[0]
    top, bottom = slanted[:12], slanted[22:]
    assert centre_of_mass(top)[1] > centre_of_mass(bottom)[1] + 4
    assert orientation_degrees(slanted) == pytest.approx(-np.degrees(np.arctan(0.3)), abs=1.5)


def test_stretching_widens_and_heightens_by_the_factors() -> None:
    image = np.zeros((1, SIDE, SIDE), dtype=np.float32)
    image[0, 9:19, 9:19] = 1.0  # a 10×10 square
    stretched = aug.warp(image, np.zeros(1), np.zeros(1), np.array([1.5]), np.array([0.8]))[0]
    height, width = extent(stretched)
    assert height == pytest.approx(8.0, abs=0.3)
    assert width == pytest.approx(15.0, abs=0.3)


def test_elastic_distortion_moves_ink_smoothly_and_zero_knots_move_nothing() -> None:
    image = bar()
    still = aug.warp(image, np.zeros(1), np.zeros(1), np.ones(1), np.ones(1))
    zero = aug.warp(image, np.zeros(1), np.zeros(1), np.ones(1), np.ones(1),
                    np.zeros((1, 2, 4, 4)))
    np.testing.assert_allclose(zero, still, atol=1e-6)
    knots = np.random.default_rng(0).normal(0, 0.8, (1, 2, 4, 4))
    bent = aug.warp(image, np.zeros(1), np.zeros(1), np.ones(1), np.ones(1), knots)
    assert np.abs(bent - still).max() > 0.5  # it moved
    assert bent.sum() == pytest.approx(still.sum(), rel=0.3)  # stretched or squeezed a little
    assert centre_of_mass(bent[0]) == pytest.approx(centre_of_mass(still[0]), abs=1.5)


def test_blur_spreads_the_ink_and_keeps_its_amount() -> None:
    image = bar()
    blurred = aug.blur(image, np.array([1.0]))
    assert (blurred > 0.01).sum() > (image > 0.01).sum() + 40
    assert blurred.max() < 0.9
    assert blurred.sum() == pytest.approx(image.sum(), rel=1e-4)
    np.testing.assert_allclose(aug.blur(image, np.array([0.0])), image, atol=1e-6)


def test_mnist_form_scales_the_box_to_20_px_and_centres_the_mass() -> None:
    small = np.zeros((1, 34, 34), dtype=np.float32)
    small[0, 2:12, 25:30] = 0.6  # a faint 10×5 block in a corner
    out = aug.to_mnist_form(small)[0]
    assert extent(out) == pytest.approx((20.0, 10.0), abs=0.5)
    height, width = ink_box(out, 0.2)
    assert 20 <= height <= 21 and 10 <= width <= 11  # soft edges, as after any resampling
    assert centre_of_mass(out) == pytest.approx((14.0, 14.0), abs=0.3)
    assert out.max() == pytest.approx(1.0)


def test_mnist_form_applies_the_shift_and_zoom_asked_for() -> None:
    square = np.zeros((1, SIDE, SIDE), dtype=np.float32)
    square[0, 4:24, 4:24] = 1.0
    out = aug.to_mnist_form(square, zoom=np.array([0.8]), shift=np.array([[2.0, -1.0]]))[0]
    assert extent(out) == pytest.approx((16.0, 16.0), abs=0.3)
    assert centre_of_mass(out) == pytest.approx((16.0, 13.0), abs=0.1)


def test_an_empty_image_stays_black() -> None:
    assert aug.to_mnist_form(np.zeros((1, 34, 34), dtype=np.float32)).max() == 0.0
