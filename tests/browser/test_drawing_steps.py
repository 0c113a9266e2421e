"""Your drawing, step by step, in "See it think" (real Chromium, the real server): the strip of
preprocessing steps from the canvas to the network's input, each image with its name, shape,
dtype and note; the two switches (fit, centre) that predict again without those steps, kept in
the URL; a small 7 drawn in a corner falls apart without them (its input off-centre) and holds
together with them (its centre of mass in the middle); by keyboard, on a phone, axe-clean.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from page_actions import (
    ANSWER_TIMEOUT_MS,
    ONE,
    draw_with_mouse,
    expect,
    open_app,
    open_app_and_draw,
    settle_in_view,
    tap,
    wait_until_answered,
)

pytestmark = pytest.mark.browser

MIDDLE = 13.5  # the 28×28 field's middle, in pixel-centre coordinates
# A small 7 near the canvas's top-left corner, about a fifth of its height.
SMALL_SEVEN = [(0.08 + 0.14 * t, 0.08) for t in (i / 9 for i in range(10))] + [
    (0.22 - 0.08 * t, 0.08 + 0.2 * t) for t in (i / 14 for i in range(1, 15))
]

# The input preview's ink (255 − red: the page paints ink dark on white paper), 28 rows of 28.
PREVIEW_INK_JS = """async () => {
  await new Promise((resolve) => requestAnimationFrame(resolve));
  const canvas = document.querySelector('#input-preview');
  const data = canvas.getContext('2d').getImageData(0, 0, 28, 28).data;
  const rows = [];
  for (let r = 0; r < 28; r += 1) {
    rows.push(Array.from({ length: 28 }, (_, c) => 255 - data[(r * 28 + c) * 4]));
  }
  return rows;
}"""


def input_centre(page: Any) -> tuple[float, float]:
    """(row, column) of the centre of mass of the input the page shows."""
    rows = page.evaluate(PREVIEW_INK_JS)
    total = sum(map(sum, rows))
    assert total > 0, "the input preview is empty"
    row = sum(r * value for r, line in enumerate(rows) for value in line) / total
    column = sum(c * value for line in rows for c, value in enumerate(line)) / total
    return row, column


def step_names(page: Any) -> list[str]:
    return page.locator("#step-strip li").evaluate_all("els => els.map((el) => el.dataset.step)")


def expect_steps(page: Any, names: list[str]) -> None:
    expect(page.locator("#step-strip li")).to_have_count(len(names), timeout=ANSWER_TIMEOUT_MS)
    wait_until_answered(page)
    assert step_names(page) == names


def hash_of(page: Any) -> str:
    return page.evaluate("() => decodeURIComponent(window.location.hash)")


def test_the_strip_goes_from_the_canvas_to_the_networks_input(
    page: Any, assert_accessible: Any
) -> None:
    open_app_and_draw(page, ONE, "1")
    expect_steps(page, ["canvas", "ink", "box", "scaled", "centred", "input"])
    shapes = page.locator('#step-strip [data-field="shape"]').all_inner_texts()
    assert shapes[0] == "(280, 280, 4) uint8"
    assert shapes[-2:] == ["(28, 28) float32", "(1, 784) float32"]
    last = page.locator('#step-strip li[data-step="input"]')
    expect(last).to_contain_text("read row by row into (1, 784)")
    for image in page.locator("#step-strip img").all():
        assert image.evaluate("img => img.complete && img.naturalWidth > 0")
        assert image.get_attribute("alt")
    expect(page.locator("#step-fit")).to_be_checked()
    expect(page.locator("#step-centre")).to_be_checked()
    assert_accessible(page, "the strip of steps after a drawn 1")


def test_a_small_seven_in_a_corner_falls_apart_without_the_switches(page: Any) -> None:
    open_app(page)
    draw_with_mouse(page, SMALL_SEVEN)
    expect_steps(page, ["canvas", "ink", "box", "scaled", "centred", "input"])
    for centre in input_centre(page):
        assert abs(centre - MIDDLE) <= 1.0

    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.locator("#step-fit").uncheck()
    page.locator("#step-centre").uncheck()
    expect_steps(page, ["canvas", "ink", "squashed", "input"])
    row, column = input_centre(page)
    assert row < 8 and column < 8, (row, column)
    assert any("fit=false" in url and "centre=false" in url for url in requests), requests
    assert hash_of(page) == "#see?model=digits-0-1&fit=off&centre=off"
    expect(page.locator("#step-summary")).to_contain_text("fit and centre off")

    page.locator("#step-centre").check()
    expect_steps(page, ["canvas", "ink", "squashed", "centred", "input"])
    assert hash_of(page) == "#see?model=digits-0-1&fit=off"


def test_the_switches_come_back_from_a_link_and_go_with_the_section(page: Any) -> None:
    page.goto("/#see?model=digits-0-1&fit=off")
    expect(page.locator("#network-diagram g.unit").first).to_be_attached()
    expect(page.locator("#step-fit")).not_to_be_checked()
    expect(page.locator("#step-centre")).to_be_checked()
    draw_with_mouse(page, SMALL_SEVEN)
    expect_steps(page, ["canvas", "ink", "squashed", "centred", "input"])

    # Another section sees the drawing in MNIST's form again: the switches are See it think's.
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.locator('.section-nav a[href="#teach"]').click()
    page.wait_for_function("() => window.location.hash.startsWith('#teach')")
    wait_until_answered(page)
    predicts = [url for url in requests if "/predict" in url]
    assert predicts and "fit" not in predicts[-1] and "steps" not in predicts[-1], predicts


def test_the_switches_by_keyboard(page: Any) -> None:
    open_app(page)
    draw_with_mouse(page, ONE)
    expect_steps(page, ["canvas", "ink", "box", "scaled", "centred", "input"])
    page.locator("#step-fit").focus()
    page.keyboard.press("Space")
    expect(page.locator("#step-fit")).not_to_be_checked()
    expect_steps(page, ["canvas", "ink", "squashed", "centred", "input"])
    page.keyboard.press("Tab")
    expect(page.locator("#step-centre")).to_be_focused()
    page.keyboard.press("Space")
    expect_steps(page, ["canvas", "ink", "squashed", "input"])


def test_the_strip_on_a_phone(phone_page: Any, assert_accessible: Any) -> None:
    page = phone_page
    open_app_and_draw(page, ONE, "1", touch=True)
    expect_steps(page, ["canvas", "ink", "box", "scaled", "centred", "input"])
    tap(page.locator('label[for="step-fit"]'))
    expect_steps(page, ["canvas", "ink", "squashed", "centred", "input"])
    settle_in_view(page.locator("#step-strip"))
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the strip makes the page scroll sideways ({width} px)"
    expect(page.locator("#step-summary")).to_have_text(re.compile("fit off"))
    assert_accessible(page, "the strip of steps on a phone")
