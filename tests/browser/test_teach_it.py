"""The "Teach it" section in real Chromium against the real server: draw, choose what it should be,
see the loss and the diagram redrawn with the backward pass (δ per unit, gradients per line, the
input gradient beside what the network sees), the backward maths for a unit and a connection,
one step with its before and after, with the mouse, the keyboard and on a phone, for both
models, without console errors and without accessibility violations.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from page_actions import (
    ANSWER_TIMEOUT_MS,
    ONE,
    ZERO,
    draw_with_mouse,
    expect,
    expect_prediction,
    open_app,
    open_app_and_draw,
    open_section,
    pick_unit,
    tap,
)

pytestmark = pytest.mark.browser

UNIT_FILLS = "els => els.map((el) => el.getAttribute('fill'))"


def unit_fills(page: Any) -> list[str]:
    return page.locator("#network-diagram g.unit circle.unit-circle").evaluate_all(UNIT_FILLS)


def choose_target(page: Any, label: str) -> None:
    page.locator(f'#teach-panel .class-button[data-class="{label}"]').click()
    expect_loss(page, label)


def expect_loss(page: Any, label: str) -> None:
    expect(page.locator("#teach-loss")).to_contain_text(f"p(“{label}”)", timeout=ANSWER_TIMEOUT_MS)
    expect(page.locator("#network-diagram")).to_have_class(re.compile(r"\bis-backward\b"))


def teach(page: Any, points: list[tuple[float, float]], drawn: str, target: str) -> None:
    """Draw `points`, wait until the page reads `drawn`, open Teach it and choose `target`."""
    open_app_and_draw(page, points, drawn)
    open_section(page, "teach")
    choose_target(page, target)


def shown_loss(page: Any) -> float:
    return float(page.locator('#teach-loss [data-field="loss"]').inner_text())


def test_choosing_the_wrong_answer_shows_a_large_loss_and_the_backward_diagram(
    page: Any, assert_accessible: Any
) -> None:
    open_app_and_draw(page, ONE, "1")
    open_section(page, "teach")
    forward_fills = unit_fills(page)
    expect(page.locator("#input-gradient-figure")).to_be_hidden()
    choose_target(page, "0")
    assert shown_loss(page) > 1.0
    expect(page.locator('#teach-panel .class-button[data-class="0"]')).to_have_attribute(
        "aria-pressed", "true"
    )
    assert unit_fills(page) != forward_fills
    expect(page.locator("#backward-legend")).to_be_visible()
    expect(page.locator("#forward-legend")).to_be_hidden()
    expect(page.locator("#input-gradient-figure")).to_be_visible()
    expect(page.locator("#input-gradient-caption")).to_contain_text("−∂L/∂x for “0”")
    into_output = page.locator('#network-diagram g.connection-layer[data-into="2"] .connection')
    expect(into_output).not_to_have_count(0)
    assert_accessible(page, "the Teach it panel with the backward pass for “0”")


def test_the_right_answer_has_a_small_loss(page: Any) -> None:
    teach(page, ONE, "1", "1")
    assert shown_loss(page) < 0.7


def test_one_step_shows_the_probabilities_before_and_after_and_the_loss_falling(
    page: Any, assert_accessible: Any
) -> None:
    teach(page, ONE, "1", "0")
    page.locator("#teach-rate").fill("0.2")
    page.get_by_role("button", name="Take one step").click()
    result = page.locator("#teach-step-result")
    expect(result.locator("table")).to_contain_text("η = 0.20", timeout=ANSWER_TIMEOUT_MS)
    expect(result.locator("tbody tr")).to_have_count(2)
    expect(result.locator('[data-field="loss-change"]')).to_contain_text("fell by")
    expect(page.locator("#teach-panel")).to_contain_text("starts from the trained model")
    assert_accessible(page, "the Teach it panel after one step")
    # The step was taken on a copy: the answer for the same drawing is unchanged.
    expect(page.locator("#prediction")).to_have_text("1")


def test_a_learning_rate_out_of_range_is_refused_on_the_page(page: Any) -> None:
    teach(page, ONE, "1", "0")
    page.locator("#teach-rate").fill("50")
    expect(page.get_by_role("button", name="Take one step")).to_be_disabled()
    expect(page.locator("#teach-panel")).to_contain_text("at most 10")


def test_the_explainer_writes_the_backward_maths_with_real_shapes(page: Any) -> None:
    teach(page, ONE, "1", "0")
    pick_unit(page, 1, 0)
    maths = page.locator("#backward-explainer")
    expect(maths).to_contain_text("δ₂ = (δ₃ · W₃ᵀ) ⊙ a₂(1 − a₂)")
    expect(maths.locator('[data-field="delta-shapes"]')).to_have_text(
        "(1×1)·(1×15) ⊙ (1×15) → (1×15)"
    )
    expect(maths.locator('[data-field="weight-shapes"]')).to_have_text("(25×1)·(1×15) → (25×15)")
    pick_unit(page, 2, 0)
    expect(maths).to_contain_text("δ₃ = a₃ − y")
    expect(maths).to_contain_text("y is 0 here")


def test_a_connection_shows_its_weight_gradient_and_where_a_step_moves_it(page: Any) -> None:
    teach(page, ONE, "1", "0")
    pick_unit(page, 2, 0)
    page.locator("#backward-explainer .link-button").first.click()
    detail = page.locator('#backward-explainer [data-field="connection"]')
    expect(detail).to_contain_text("∂L/∂w = a")
    expect(detail).to_contain_text("One step with η = 0.50 moves w by")
    # A line of the diagram explains itself when clicked, too.
    page.locator("#explainer-body .icon-button").click()
    diagram = page.locator('#network-diagram g.connection-layer[data-into="2"]')
    line = diagram.locator(".connection.on-path").first
    line.dispatch_event("click")
    expect(detail).to_contain_text("Weight h2·")


def test_saturated_units_are_marked_and_say_why_their_delta_is_tiny(page: Any) -> None:
    teach(page, ZERO, "0", "1")
    saturated = page.locator("#network-diagram g.unit.is-marked")
    expect(saturated).not_to_have_count(0)
    marked = saturated.count()
    # A narrower window rebuilds the diagram; the rings come back on the new units.
    wide = page.locator("#network-diagram").get_attribute("width")
    page.set_viewport_size({"width": 900, "height": 800})
    expect(page.locator("#network-diagram")).not_to_have_attribute("width", wide)
    expect(saturated).to_have_count(marked)
    saturated.first.click()
    page.mouse.move(0, 0)
    note = page.locator('#backward-explainer [data-field="saturation"]')
    expect(note).to_contain_text("vanishing gradient")


def test_back_to_the_forward_pass(page: Any) -> None:
    open_app_and_draw(page, ONE, "1")
    open_section(page, "teach")
    forward_fills = unit_fills(page)
    choose_target(page, "0")
    page.get_by_role("button", name="Back to the forward pass").click()
    expect(page.locator("#network-diagram")).not_to_have_class(re.compile(r"\bis-backward\b"))
    expect(page.locator("#input-gradient-figure")).to_be_hidden()
    assert unit_fills(page) == forward_fills


def test_teach_it_with_the_keyboard_alone(page: Any) -> None:
    open_app_and_draw(page, ONE, "1")
    open_section(page, "teach")
    page.locator('#teach-panel .class-button[data-class="1"]').focus()
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    expect_loss(page, "0")
    page.locator("#teach-rate").focus()
    page.keyboard.press("Control+a")
    page.keyboard.type("0.1")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Take one step"
    page.keyboard.press("Enter")
    expect(page.locator("#teach-step-result table")).to_contain_text(
        "η = 0.10", timeout=ANSWER_TIMEOUT_MS
    )


def test_teach_it_on_a_phone(phone_page: Any, assert_accessible: Any) -> None:
    page = phone_page
    open_app_and_draw(page, ONE, "1", touch=True)
    open_section(page, "teach", touch=True)
    tap(page.locator('#teach-panel .class-button[data-class="0"]'))
    expect_loss(page, "0")
    tap(page.get_by_role("button", name="Take one step"))
    expect(page.locator("#teach-step-result table")).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways on a phone ({width} px wide)"
    assert_accessible(page, "the Teach it panel on a phone")


def test_teach_it_with_the_ten_digit_model(page: Any) -> None:
    open_app(page)
    open_section(page, "teach")
    page.locator('#model-switch input[value="digits-0-9"]').check()
    expect(page.locator("#teach-panel .class-button")).to_have_count(10)
    draw_with_mouse(page, ONE)
    expect_prediction(page, "1")
    choose_target(page, "7")
    pick_unit(page, 2, 7)
    maths = page.locator("#backward-explainer")
    expect(maths.locator('[data-field="delta-shapes"]')).to_have_text("(1×10) − (1×10) → (1×10)")
    expect(maths).to_contain_text("y is 1 here")
