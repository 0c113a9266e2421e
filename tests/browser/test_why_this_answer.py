""""Why this answer" in real Chromium: the layer map of MNIST test digits with the drawing's
marker, the layer switch with each layer's separation, the 8 nearest digits, the saliency, and a
clicked unit's favourite digits; by mouse, keyboard and touch, on desktop and phone, axe-clean.
(The section's landmark, hash and axe checks are tests/browser/test_sections.py's.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from page_actions import (
    ONE,
    SEVEN,
    ZERO,
    draw_with_mouse,
    expect,
    expect_prediction,
    ink,
    open_app,
    open_app_and_draw,
    open_section,
    tap,
)

pytestmark = pytest.mark.browser

MAP = "#atlas-map"


def wait_for_map(page: Any) -> None:
    """The map has its dots and every layer its separation."""
    page.wait_for_function(
        """(selector) => {
          const labels = [...document.querySelectorAll('.layer-separation')];
          return labels.length > 0 && labels.every((label) => label.textContent.endsWith('%'))
            && document.querySelector(selector).getAttribute('aria-label').includes('MNIST');
        }""",
        arg=MAP,
    )


def wait_for_neighbours(page: Any) -> None:
    expect(page.locator("#why-neighbours li")).to_have_count(8)


def test_a_drawn_one_lands_among_ones_with_its_saliency(page: Any) -> None:
    open_app_and_draw(page, ONE, "1")
    open_section(page, "why")
    wait_for_map(page)
    wait_for_neighbours(page)
    layers = page.locator("#why-layers input")
    assert [layers.nth(i).get_attribute("value") for i in range(layers.count())] == [
        "input", "hidden_1", "hidden_2", "output"]
    expect(page.locator("#why-layer-hidden_2")).to_be_checked()
    labels = page.locator("#why-neighbours .neighbour-label").all_inner_texts()
    assert labels.count("1") >= 6, labels
    assert ink(page, "#why-saliency")["ink"] > 10
    expect(page.locator("#why-towards-text")).to_contain_text("1")
    expect(page.locator("#why-pca")).to_contain_text("keeps")


def test_the_marker_moves_while_drawing(page: Any) -> None:
    open_app(page)
    open_section(page, "why")
    wait_for_map(page)
    empty = ink(page, MAP)
    draw_with_mouse(page, ONE)
    expect_prediction(page, "1")
    wait_for_neighbours(page)
    with_one = ink(page, MAP)
    assert with_one["hash"] != empty["hash"]
    page.locator("#clear-button").click()
    draw_with_mouse(page, ZERO)
    expect_prediction(page, "0")
    expect(page.locator("#why-towards-text")).to_contain_text("0")
    page.wait_for_timeout(300)
    assert ink(page, MAP)["hash"] != with_one["hash"]


def test_keyboard_switches_layers_and_reads_the_digits_on_the_map(
    page: Any, assert_accessible: Any
) -> None:
    open_app_and_draw(page, ONE, "1")
    open_section(page, "why")
    wait_for_map(page)
    before = ink(page, MAP)
    page.locator("#why-layer-hidden_2").focus()
    page.keyboard.press("ArrowLeft")  # radio buttons: the arrow chooses the previous layer
    expect(page.locator("#why-layer-hidden_1")).to_be_checked()
    expect(page).to_have_url(re.compile(r"layer=hidden_1"))
    page.wait_for_function(
        "(selector) => document.querySelector(selector).getAttribute('aria-label')"
        ".includes('hidden_1')", arg=MAP,
    )
    assert ink(page, MAP)["hash"] != before["hash"]
    page.locator(MAP).focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#atlas-focus")).to_have_text(
        re.compile(r"^A [01]: MNIST test digit \d+\.$")
    )
    expect(page.locator("#atlas-digit")).to_be_visible()
    page.keyboard.press("End")
    expect(page.locator("#atlas-focus")).to_have_text(re.compile(r"^A [01]: MNIST test digit"))
    assert_accessible(page, "Why this answer, a digit of the map focused")


def test_a_link_opens_the_layer_it_names(page: Any, artifacts: Path) -> None:
    page.goto("/#why?model=digits-0-9&layer=input")
    wait_for_map(page)
    expect(page.locator("#why-layer-input")).to_be_checked()
    expect(page.locator("#atlas-legend li")).to_have_count(10)
    page.locator("#why-layer-hidden_2").check()
    draw_with_mouse(page, SEVEN)
    expect_prediction(page, "7")
    wait_for_neighbours(page)
    expect(page.locator("#why-towards-text")).to_contain_text("7")
    page.wait_for_timeout(300)
    page.locator("#why .why-layout").screenshot(path=str(artifacts / "why-this-answer.png"))


def test_a_clicked_unit_shows_its_favourite_digits_and_weights(
    page: Any, assert_accessible: Any
) -> None:
    open_app_and_draw(page, ONE, "1")
    open_section(page, "why")
    wait_for_map(page)
    page.locator('#why #network-diagram g.unit[data-layer="0"][data-unit="2"]').click()
    body = page.locator("#why-unit-body")
    expect(body).to_be_visible()
    expect(body).to_contain_text("Unit 2 of hidden_1")
    expect(body.locator(".unit-digits").first.locator("li")).to_have_count(9)
    expect(body.locator(".unit-digits").nth(1).locator("li")).to_have_count(9)
    expect(body.locator(".unit-classes li")).to_have_count(2)
    assert ink(page, "#why-unit-body .unit-weights")["ink"] > 50
    assert_accessible(page, "Why this answer, a unit's favourite digits")


def test_a_clicked_cell_of_the_cnns_maps_shows_its_favourite_digits(page: Any) -> None:
    """A cell of a feature map is a unit too: one number of its layer, as GET /units takes it."""
    page.goto("/#why?model=digits-0-9-cnn")
    wait_for_map(page)
    draw_with_mouse(page, SEVEN)
    expect_prediction(page, "7")
    box = page.locator('#feature-maps .feature-map[data-layer="2"][data-channel="4"] .map-box')
    bounds = box.bounding_box()
    box.click(position={"x": 6.5 / 14 * bounds["width"], "y": 3.5 / 14 * bounds["height"]})
    body = page.locator("#why-unit-body")
    expect(body.locator(".why-unit-name")).to_have_text("Conv 2 · filter 5 · row 4, column 7")
    expect(body.locator(".unit-digits").first.locator("li")).to_have_count(9)
    expect(body.locator(".unit-classes li")).to_have_count(10)
    expect(body.locator(".unit-weights")).to_have_count(0)


def test_on_a_phone_by_touch(phone_page: Any, assert_accessible: Any) -> None:
    page = phone_page
    open_app_and_draw(page, ONE, "1", touch=True)
    open_section(page, "why", touch=True)
    wait_for_map(page)
    wait_for_neighbours(page)
    tap(page.locator("#why-layer-output").locator(".."))
    expect(page.locator("#why-layer-output")).to_be_checked()
    width = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert width <= 0, "the section makes the page wider than the phone"
    box = page.locator(MAP).bounding_box()
    assert box["width"] >= 250
    assert_accessible(page, "Why this answer on a phone")
