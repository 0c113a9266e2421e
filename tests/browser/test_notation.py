"""The notation switch in the unit explainer (real Chromium, the real server): the same unit's
equation as Keras writes it (row vector, a·W + b, W inputs × units), as the course does (column
vector, W·a + b, W units × inputs: Keras's W transposed) and as a batch (A·W + b, b broadcast
over the rows), each with this network's shapes, the same real z, and the network's tensor
shapes in that notation with the batch axis named; by mouse, keyboard and on a phone, axe-clean.
"""

from __future__ import annotations

from typing import Any

import pytest
from page_actions import (
    ONE,
    draw_with_mouse,
    expect,
    expect_prediction,
    open_app_and_draw,
    pick_unit,
    tap,
)

pytestmark = pytest.mark.browser

HIDDEN_2_UNIT_4 = '#network-diagram g.unit[data-layer="1"][data-unit="3"]'


def page_number(value: float) -> str:
    """A number as the page writes it (format.js's formatNumber, 4 digits)."""
    text = f"{abs(value):.4f}"
    return f"\u2212{text}" if value < 0 and float(text) != 0 else text


def last_answer(page: Any) -> Any:
    """Keep every /predict answer; the last is the one the page shows once it is answered."""
    answers: list[Any] = []
    page.on(
        "response",
        lambda response: answers.append(response)
        if "/predict" in response.url and response.status == 200 else None,
    )
    return answers


def form(page: Any, name: str) -> Any:
    return page.locator(f'#explainer-body .notation-form[data-form="{name}"]')


def tensor_shapes(page: Any, name: str) -> list[str]:
    return form(page, name).locator('[data-field="tensor-shapes"] code').all_inner_texts()


def explain_hidden_2_unit_4(page: Any) -> None:
    pick_unit(page, 1, 3)
    expect(page.locator("#explainer-body")).to_contain_text("Hidden layer 2 · unit 4 of 15")


def test_the_same_unit_three_ways_with_the_same_z(page: Any, assert_accessible: Any) -> None:
    answers = last_answer(page)
    open_app_and_draw(page, ONE, "1")
    z = answers[-1].json()["layers"][1]["preactivations"][3]
    explain_hidden_2_unit_4(page)

    keras = form(page, "keras")
    expect(keras).to_be_visible()
    expect(form(page, "course")).to_be_hidden()
    expect(page.locator("#notation-keras")).to_be_checked()
    expect(keras.locator('[data-field="shapes"]')).to_have_text("(1×25)·(25×15) + (1×15) → (1×15)")
    expect(keras).to_contain_text("column 4 of W")
    expect(keras).to_contain_text("inputs × units (25×15)")
    expect(keras.locator('[data-field="notation-z"]')).to_have_text(page_number(z))
    assert tensor_shapes(page, "keras") == ["(1, 784)", "(1, 25)", "(1, 15)", "(1, 1)"]
    expect(keras.locator("li.is-explained")).to_contain_text("(1, 15)")
    expect(keras).to_contain_text("The 1 is the batch axis")
    assert_accessible(page, "the unit explainer in Keras's notation")

    page.locator('label[for="notation-course"]').click()
    course = form(page, "course")
    expect(course).to_be_visible()
    expect(keras).to_be_hidden()
    expect(course.locator('[data-field="shapes"]')).to_have_text("(15×25)·(25×1) + (15×1) → (15×1)")
    expect(course).to_contain_text("row 4 of W")
    expect(course).to_contain_text("Keras's W transposed")
    expect(course.locator('[data-field="notation-z"]')).to_have_text(page_number(z))
    assert tensor_shapes(page, "course") == ["(784, 1)", "(25, 1)", "(15, 1)", "(1, 1)"]

    page.locator('label[for="notation-batch"]').click()
    batch = form(page, "batch")
    expect(batch).to_be_visible()
    expect(batch.locator('[data-field="shapes"]')).to_have_text("(m×25)·(25×15) + (1×15) → (m×15)")
    expect(batch).to_contain_text("broadcasting")
    expect(batch.locator('[data-field="notation-z"]')).to_have_text(page_number(z))
    assert tensor_shapes(page, "batch") == ["(m, 784)", "(m, 25)", "(m, 15)", "(m, 1)"]
    expect(page.locator("#explainer-body .notation-why")).to_contain_text("the same number")
    assert_accessible(page, "the unit explainer in the batch notation")


def test_the_chosen_notation_stays_for_the_next_unit(page: Any) -> None:
    open_app_and_draw(page, ONE, "1")
    explain_hidden_2_unit_4(page)
    page.locator('label[for="notation-course"]').click()
    pick_unit(page, 0, 2)
    expect(page.locator("#explainer-body")).to_contain_text("Hidden layer 1 · unit 3 of 25")
    expect(page.locator("#notation-course")).to_be_checked()
    expect(form(page, "course").locator('[data-field="shapes"]')).to_have_text(
        "(25×784)·(784×1) + (25×1) → (25×1)"
    )


def test_the_notation_switch_by_keyboard(page: Any) -> None:
    open_app_and_draw(page, ONE, "1")
    unit = page.locator(HIDDEN_2_UNIT_4)
    unit.focus()
    page.keyboard.press("Enter")
    page.locator("#notation-keras").focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#notation-course")).to_be_checked()
    expect(page.locator("#notation-course")).to_be_focused()
    expect(form(page, "course")).to_be_visible()
    page.keyboard.press("ArrowRight")
    expect(form(page, "batch")).to_be_visible()


def test_the_ten_digit_models_shapes(page: Any) -> None:
    page.goto("/#see?model=digits-0-9")
    # The ten-digit model's diagram, not the default model's drawn before it arrived.
    expect(page.locator('#network-diagram g.unit[data-layer="2"][data-unit="9"]')).to_be_attached()
    draw_with_mouse(page, ONE)
    expect_prediction(page, "1")
    pick_unit(page, 2, 1)
    expect(form(page, "keras").locator('[data-field="shapes"]')).to_have_text(
        "(1×256)·(256×10) + (1×10) → (1×10)"
    )
    assert tensor_shapes(page, "keras") == ["(1, 784)", "(1, 512)", "(1, 256)", "(1, 10)"]


def test_the_notation_switch_on_a_phone(phone_page: Any, assert_accessible: Any) -> None:
    page = phone_page
    open_app_and_draw(page, ONE, "1", touch=True)
    tap(page.locator(HIDDEN_2_UNIT_4))
    expect(page.locator("#explainer-body")).to_contain_text("Hidden layer 2 · unit 4 of 15")
    tap(page.locator('label[for="notation-batch"]'))
    expect(form(page, "batch")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the explainer makes the page scroll sideways ({width} px)"
    assert_accessible(page, "the notation switch on a phone")
