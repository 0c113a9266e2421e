"""core.mnist_form's stages and switches: every step from the image as sent to the network's
input, and what skipping the fit (crop and 20 px box) or the centring does to a drawing.

A small 7 drawn in a corner is what users draw; with both steps it becomes MNIST's form, with
neither it stays small and off-centre."""

from __future__ import annotations

import numpy as np
import pytest
from digit_drawings import (
    DIGITS,
    as_transparent_canvas,
    assert_mnist_input,
    centre_of_mass,
    draw_digit,
    ink_box,
)
from PIL import Image

from core.input_errors import EmptyDrawingError
from core.mnist_form import image_stages, image_to_mnist

MIDDLE = 13.5  # the 28×28 field's middle, in pixel-centre coordinates
NAMES = {
    (True, True): ["canvas", "ink", "box", "scaled", "centred", "input"],
    (True, False): ["canvas", "ink", "box", "scaled", "placed", "input"],
    (False, True): ["canvas", "ink", "squashed", "centred", "input"],
    (False, False): ["canvas", "ink", "squashed", "input"],
}
SWITCHES = list(NAMES)


def _small_7_in_a_corner() -> Image.Image:
    """A 7 60 px tall near the top-left corner of a 280 px transparent canvas, as the page
    sends it."""
    return as_transparent_canvas(draw_digit("7", box=(20, 20, 60)))


@pytest.mark.parametrize(("fit", "centre"), SWITCHES)
def test_the_stages_are_named_in_order(fit: bool, centre: bool) -> None:
    stages = image_stages(_small_7_in_a_corner(), fit=fit, centre=centre)
    assert [stage.name for stage in stages] == NAMES[fit, centre]
    assert all(stage.note for stage in stages)


@pytest.mark.parametrize(("fit", "centre"), SWITCHES)
def test_the_last_stage_is_the_networks_input(fit: bool, centre: bool) -> None:
    image = _small_7_in_a_corner()
    last = image_stages(image, fit=fit, centre=centre)[-1]
    assert last.values.shape == (1, 784)
    assert last.values.dtype == np.float32
    np.testing.assert_array_equal(
        last.values.reshape(28, 28), image_to_mnist(image, fit=fit, centre=centre)
    )


def test_the_first_stage_is_the_image_as_sent() -> None:
    image = _small_7_in_a_corner()
    first = image_stages(image)[0]
    assert first.values is image
    assert np.asarray(first.values).shape == (280, 280, 4)
    assert "280×280" in first.note


def test_the_steps_between_have_the_shapes_they_say() -> None:
    stages = {stage.name: stage for stage in image_stages(_small_7_in_a_corner())}
    assert stages["ink"].values.shape == (280, 280)
    assert stages["ink"].values.dtype == np.uint8
    height, width = stages["box"].values.shape
    assert 55 <= height <= 62 and width < height  # the 7's own box, about 60 px tall
    assert f"{width}×{height} px" in stages["box"].note
    assert stages["scaled"].values.shape[0] == 20  # the longer side
    assert stages["centred"].values.shape == (28, 28)


@pytest.mark.parametrize("digit", DIGITS)
def test_with_both_steps_an_off_centre_digit_is_centred(digit: str) -> None:
    drawing = as_transparent_canvas(draw_digit(digit, box=(20, 20, 60)))
    result = image_to_mnist(drawing, fit=True, centre=True)
    assert_mnist_input(result)
    for centre in centre_of_mass(result):
        assert abs(centre - MIDDLE) <= 1.0 + 1e-4


@pytest.mark.parametrize("digit", DIGITS)
def test_without_both_steps_an_off_centre_digit_stays_small_and_off_centre(digit: str) -> None:
    drawing = as_transparent_canvas(draw_digit(digit, box=(20, 20, 60)))
    result = image_to_mnist(drawing, fit=False, centre=False)
    row, column = centre_of_mass(result)
    # The 7's box spans 20–80 of 280 px: 2–8 of 28, so its mass is near (5, 5).
    assert row < 8 and column < 8
    assert max(ink_box(result)) <= 8
    assert float(result.max()) == pytest.approx(1.0)


def test_centring_alone_moves_a_squashed_digit_but_keeps_it_small() -> None:
    result = image_to_mnist(_small_7_in_a_corner(), fit=False, centre=True)
    for centre in centre_of_mass(result):
        assert abs(centre - MIDDLE) <= 1.0 + 1e-4
    assert max(ink_box(result)) <= 8


def test_fitting_alone_puts_the_box_in_the_middle_not_the_mass() -> None:
    result = image_to_mnist(_small_7_in_a_corner(), fit=True, centre=False)
    rows, columns = np.nonzero(result > 0.1)
    assert max(ink_box(result)) == 20
    assert abs((rows.min() + rows.max()) / 2 - MIDDLE) <= 0.5
    assert abs((columns.min() + columns.max()) / 2 - MIDDLE) <= 0.5
    # A 7's mass is in its top bar: above the middle, where centring would have moved it down.
    assert centre_of_mass(result)[0] < MIDDLE - 1


def test_squashing_loses_the_aspect_ratio() -> None:
    wide = Image.new("L", (560, 140), "white")
    wide.paste(draw_digit("0", canvas=(140, 140), box=(10, 10, 120)), (210, 0))
    ink = image_to_mnist(wide, fit=False, centre=False) > 0.1
    rows, columns = np.nonzero(ink)
    # A round 0 in the middle quarter of a 4:1 canvas comes out four times as tall as wide.
    assert (rows.max() - rows.min() + 1) > 2.5 * (columns.max() - columns.min() + 1)


def test_a_large_image_without_fit_is_squashed_whole() -> None:
    drawing = draw_digit("1", canvas=(2000, 2000), box=(100, 100, 400))
    stages = image_stages(drawing, fit=False, centre=False)
    assert stages[1].values.shape == (500, 500)  # the ink of the whole image, reduced 4×
    row, column = centre_of_mass(stages[-1].values.reshape(28, 28))
    assert row < 8 and column < 8


@pytest.mark.parametrize(("fit", "centre"), SWITCHES)
def test_an_empty_drawing_is_refused_whatever_the_switches(fit: bool, centre: bool) -> None:
    with pytest.raises(EmptyDrawingError):
        image_stages(Image.new("RGBA", (280, 280), (0, 0, 0, 0)), fit=fit, centre=centre)
