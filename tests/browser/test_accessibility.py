"""axe-core on the real page in real Chromium: no accessibility violation of any impact, in every
state a person reaches (empty, answered with a unit explained, another model, a phone).

A new panel is held to the same check by calling `assert_accessible` (conftest.py) in its own
browser test once the panel shows something.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from page_actions import (
    ONE,
    draw_with_mouse,
    draw_with_touch,
    expect,
    expect_prediction,
    open_app,
    open_app_and_draw,
    pick_unit,
    tap,
)

pytestmark = pytest.mark.browser


def explain_a_unit(page: Any, layer: int, unit: int) -> None:
    pick_unit(page, layer, unit)
    expect(page.locator("#explainer-body")).to_be_visible()


def test_the_empty_page_has_no_violations(page: Any, assert_accessible: Any) -> None:
    open_app(page)
    assert_accessible(page, "the empty page")


def test_the_page_after_a_drawing_has_no_violations(page: Any, assert_accessible: Any) -> None:
    open_app_and_draw(page, ONE, "1")
    assert_accessible(page, "the page answering a drawn 1")
    explain_a_unit(page, layer=0, unit=0)
    assert_accessible(page, "the page explaining a first-layer unit")
    explain_a_unit(page, layer=2, unit=0)
    assert_accessible(page, "the page explaining the output unit")


def test_the_page_after_switching_models_has_no_violations(
    page: Any, assert_accessible: Any
) -> None:
    open_app(page)
    radios = page.locator('#model-switch input[name="model"]')
    other = next(
        value
        for value in radios.evaluate_all("radios => radios.map((radio) => radio.value)")
        if not page.locator(f'#model-switch input[value="{value}"]').is_checked()
    )
    page.locator(f'#model-switch input[value="{other}"]').check()
    expect(page.locator("#bars li.bar")).not_to_have_count(0)
    assert_accessible(page, f"the empty page with {other}")
    draw_with_mouse(page, ONE)
    expect_prediction(page, "1")
    explain_a_unit(page, layer=1, unit=0)
    assert_accessible(page, f"the page answering a drawn 1 with {other}")


def test_the_page_on_a_phone_has_no_violations(phone_page: Any, assert_accessible: Any) -> None:
    page = phone_page
    open_app(page)
    assert_accessible(page, "the empty page on a phone")
    draw_with_touch(page, ONE)
    expect_prediction(page, "1")
    tap(page.get_by_role("button", name=re.compile("^Clear")))
    page.keyboard.press("Control+z")
    expect_prediction(page, "1")
    assert_accessible(page, "the page answering a drawn 1 on a phone")
