"""The "Fool it" section in real Chromium against the real server: draw a digit, and the network
is fooled into another class step by step (the drawing as it was, the changed one, the change
magnified), with the detector's verdict, the target and ε in the URL; the classes' and a clicked
unit's dreams beside its weights; with the mouse and the keyboard, without console errors and
without accessibility violations (desktop and phone are held to the same checks as every section
in test_sections.py).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from page_actions import (
    ANSWER_TIMEOUT_MS,
    ONE,
    ZERO,
    expect,
    open_app_and_draw,
    open_section,
)

pytestmark = pytest.mark.browser

FOOLED_TIMEOUT_MS = 30_000


def hash_of(page: Any) -> str:
    return page.evaluate("() => decodeURIComponent(window.location.hash)")


def expect_fooled(page: Any, was: str, says: str) -> None:
    expect(page.locator("#fool-verdict")).to_contain_text(
        f"A person still reads a {was}: the network says {says} with", timeout=FOOLED_TIMEOUT_MS
    )
    expect(page.locator("#fool-step-value")).to_have_text("20 of 20", timeout=FOOLED_TIMEOUT_MS)


def painted(page: Any, selector: str) -> bool:
    """Whether the canvas holds anything but one colour."""
    return page.locator(selector).evaluate(
        """(canvas) => {
          const { width, height } = canvas;
          const data = canvas.getContext('2d').getImageData(0, 0, width, height).data;
          for (let i = 4; i < data.length; i += 4) {
            if (data[i] !== data[0] || data[i + 1] !== data[1]) return true;
            if (data[i + 2] !== data[2]) return true;
          }
          return false;
        }"""
    )


def test_a_drawn_1_is_fooled_into_a_0_step_by_step_and_the_detector_notices(
    page: Any, assert_accessible: Any, artifacts: Path
) -> None:
    open_app_and_draw(page, ONE, "1")
    open_section(page, "fool")
    # No target chosen: the next class after the answer.
    expect(page.locator('#fool .class-button[data-class="0"]')).to_have_attribute(
        "aria-pressed", "true"
    )
    expect_fooled(page, "1", "0")
    expect(page.locator("#fool-detector")).to_contain_text("Does the detector notice? Yes")
    expect(page.locator('#fool-bars li.bar[data-class="0"]')).to_have_class(re.compile("is-winner"))
    for canvas in ("#fool-drawn", "#fool-changed", "#fool-change"):
        assert painted(page, canvas), canvas
    expect(page.locator("#fool-changed")).to_have_attribute(
        "aria-label", re.compile(r"after 20 of 20 steps: the network says 0")
    )
    assert_accessible(page, "Fool it after a 1 was fooled into a 0")
    # docs/fool-it.png is this picture (of the section, down to the dreams).
    expect(page.locator("#dream-classes canvas.is-dreamt")).to_have_count(
        2, timeout=FOOLED_TIMEOUT_MS
    )
    top = page.locator("#fool").bounding_box()
    bottom = page.locator("#dream-classes").bounding_box()
    scroll = page.evaluate("() => window.scrollY")
    page.screenshot(
        path=artifacts / "fool-it.png",
        full_page=True,
        clip={
            "x": top["x"],
            "y": top["y"] + scroll,
            "width": top["width"],
            "height": bottom["y"] + bottom["height"] - top["y"] + 12,
        },
    )


def test_the_steps_replay_with_the_keyboard(page: Any) -> None:
    open_app_and_draw(page, ONE, "1")
    open_section(page, "fool")
    expect_fooled(page, "1", "0")
    page.locator("#fool-step").focus()
    page.keyboard.press("Home")
    expect(page.locator("#fool-step-value")).to_have_text("0 of 20")
    expect(page.locator("#fool-changed-caption")).to_have_text("Changed: not yet")
    expect(page.locator('#fool-bars li.bar[data-class="1"]')).to_have_class(re.compile("is-winner"))
    page.keyboard.press("ArrowRight")
    expect(page.locator("#fool-step-value")).to_have_text("1 of 20")
    page.locator("#fool-replay").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#fool-step-value")).to_have_text("20 of 20", timeout=FOOLED_TIMEOUT_MS)


def test_the_target_and_epsilon_go_in_the_url_and_come_back(page: Any) -> None:
    open_app_and_draw(page, ZERO, "0")
    page.locator('#model-switch input[value="digits-0-9"]').check()
    open_section(page, "fool")
    page.locator('#fool .class-button[data-class="6"]').click()
    slider = page.locator("#fool-epsilon")
    slider.focus()
    page.keyboard.press("ArrowRight")  # 0.25 → 0.30
    expect(page.locator("#fool-epsilon-value")).to_have_text("0.30")
    assert re.search(r"target=6&eps=0\.3\b", hash_of(page)), hash_of(page)
    expect(page.locator("#fool-verdict")).to_contain_text(
        "the network says 6", timeout=FOOLED_TIMEOUT_MS
    )
    expect(page.locator("#fool-detector")).to_contain_text("no detector")
    page.reload()
    expect(page.locator('#fool .class-button[data-class="6"]')).to_have_attribute(
        "aria-pressed", "true", timeout=ANSWER_TIMEOUT_MS
    )
    expect(page.locator("#fool-epsilon-value")).to_have_text("0.30")


def test_each_class_and_a_clicked_unit_show_what_they_want_to_see(
    page: Any, assert_accessible: Any
) -> None:
    open_app_and_draw(page, ONE, "1")
    open_section(page, "fool")
    expect(page.locator("#dream-classes canvas.is-dreamt")).to_have_count(
        2, timeout=FOOLED_TIMEOUT_MS
    )
    expect(page.locator("#dream-unit")).to_contain_text("Click a unit in the diagram")
    page.locator('#network-diagram g.unit[data-layer="0"][data-unit="3"]').click()
    expect(page.locator("#dream-unit-heading")).to_have_text("Unit 4 of hidden_1")
    expect(page.locator("#dream-unit-image")).to_have_class(
        re.compile("is-dreamt"), timeout=FOOLED_TIMEOUT_MS
    )
    expect(page.locator("#dream-unit-numbers")).to_contain_text("on the dream")
    assert painted(page, "#dream-unit-weights")
    page.locator('#network-diagram g.unit[data-layer="1"][data-unit="0"]').click()
    expect(page.locator("#dream-unit-heading")).to_have_text("Unit 1 of hidden_2")
    expect(page.locator("#dream-unit-weights")).to_have_count(0)  # weights only for layer 1
    assert_accessible(page, "Fool it with the dreams of a unit")
