"""The "Fool it" section in real Chromium against the real server: draw a digit, and the network
is fooled into another class step by step (the drawing as it was, the changed one, the change
magnified), with the detector's verdict, the target and ε in the URL; the classes' and a clicked
unit's dreams beside its weights and its favourite MNIST test digits from the digit atlas (held
to GET /models/{name}/units), for a dense unit and for a cell of the CNN's feature maps; with the
mouse, a finger and the keyboard, without console errors and without accessibility violations
(desktop and phone are also held to the same checks as every section in test_sections.py).

Over 300 lines: one test per flow of the section, sharing the browser and the server.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from page_actions import (
    ANSWER_TIMEOUT_MS,
    ONE,
    SEVEN,
    ZERO,
    draw_with_mouse,
    expect,
    expect_prediction,
    open_app_and_draw,
    open_section,
    tab_until,
    tap,
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


PAINTED = """(canvas) => {
  const { width, height } = canvas;
  const data = canvas.getContext('2d').getImageData(0, 0, width, height).data;
  for (let i = 4; i < data.length; i += 4) {
    if (data[i] !== data[0] || data[i + 1] !== data[1]) return true;
    if (data[i + 2] !== data[2]) return true;
  }
  return false;
}"""


def painted(page: Any, selector: str) -> bool:
    """Whether the canvas holds anything but one colour."""
    return page.locator(selector).evaluate(PAINTED)


def expect_painted(page: Any, selector: str) -> None:
    """The canvas comes to hold more than one colour (an atlas digit waits for its image)."""
    page.wait_for_function(
        f"(canvas) => ({PAINTED})(canvas)", arg=page.locator(selector).element_handle(),
        timeout=FOOLED_TIMEOUT_MS,
    )


def expect_favourites(
    page: Any, selector: str, digits: list[dict[str, Any]], decimals: int
) -> None:
    """The list at `selector` shows these atlas digits, in order: MNIST test index, activation."""
    items = page.locator(f"{selector} li")
    expect(items).to_have_count(len(digits), timeout=FOOLED_TIMEOUT_MS)
    for item, digit in zip(items.all(), digits, strict=True):
        expect(item.locator('[data-field="index"]')).to_have_text(f"#{digit['index']}")
        shown = float(item.locator('[data-field="activation"]').inner_text().replace("\u2212", "-"))
        assert shown == pytest.approx(digit["activation"], abs=0.6 * 10**-decimals)
        expect_painted(page, f"{selector} li[data-index='{digit['index']}'] canvas")


def unit_atlas(server_url: str, model: str, layer: str, unit: int) -> dict[str, Any]:
    response = httpx.get(f"{server_url}/models/{model}/units/{layer}/{unit}")
    assert response.status_code == 200, response.text
    return response.json()


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
    page: Any, assert_accessible: Any, server_url: str
) -> None:
    open_app_and_draw(page, ONE, "1")
    open_section(page, "fool")
    expect(page.locator("#dream-classes canvas.is-dreamt")).to_have_count(
        2, timeout=FOOLED_TIMEOUT_MS
    )
    # Under each class's dream, the atlas digits it is surest of: for the one sigmoid output,
    # the output unit's highest for "1" and its lowest for "0", as p("0") = 1 − a.
    output = unit_atlas(server_url, "digits-0-1", "output", 0)
    expect_favourites(page, '#dream-classes figure[data-class="1"]', output["top"][:3], 2)
    as_zero = [{**digit, "activation": 1 - digit["activation"]} for digit in output["bottom"][:3]]
    expect_favourites(page, '#dream-classes figure[data-class="0"]', as_zero, 2)
    assert all(digit["label"] == 0 for digit in as_zero)

    expect(page.locator("#dream-unit")).to_contain_text("Click a unit in the diagram")
    page.locator('#network-diagram g.unit[data-layer="0"][data-unit="3"]').click()
    expect(page.locator("#dream-unit-heading")).to_have_text("Unit 4 of hidden_1")
    expect(page.locator("#dream-unit-image")).to_have_class(
        re.compile("is-dreamt"), timeout=FOOLED_TIMEOUT_MS
    )
    expect(page.locator("#dream-unit-numbers")).to_contain_text("on the dream")
    assert painted(page, "#dream-unit-weights")
    top = unit_atlas(server_url, "digits-0-1", "hidden_1", 3)["top"]
    expect_favourites(page, "#dream-unit-favourites", top, 3)
    page.locator('#network-diagram g.unit[data-layer="1"][data-unit="0"]').click()
    expect(page.locator("#dream-unit-heading")).to_have_text("Unit 1 of hidden_2")
    expect(page.locator("#dream-unit-weights")).to_have_count(0)  # weights only for layer 1
    top = unit_atlas(server_url, "digits-0-1", "hidden_2", 0)["top"]
    expect_favourites(page, "#dream-unit-favourites", top, 3)
    expect(page.locator("#dream-unit-image")).to_have_class(
        re.compile("is-dreamt"), timeout=FOOLED_TIMEOUT_MS
    )
    assert_accessible(page, "Fool it with the dreams of a unit and its favourite digits")


# --- the CNN: a cell of a feature map is a unit to dream too ------------------------------------

CNN = "digits-0-9-cnn"


def cnn_details(server_url: str) -> dict[str, Any]:
    names = [model["name"] for model in httpx.get(f"{server_url}/models").json()["models"]]
    if CNN not in names:
        pytest.skip(f"{CNN} is not in the model store")
    return httpx.get(f"{server_url}/models/{CNN}").json()


def click_cell(
    page: Any, layer: int, channel: int, row: int, column: int, shape: list[int]
) -> None:
    box = page.locator(
        f'#feature-maps .feature-map[data-layer="{layer}"][data-channel="{channel}"] .map-box'
    )
    bounds = box.bounding_box()
    box.click(position={
        "x": (column + 0.5) / shape[1] * bounds["width"],
        "y": (row + 0.5) / shape[0] * bounds["height"],
    })


def test_a_cnn_map_cell_and_dense_unit_show_what_they_want_to_see(
    page: Any, assert_accessible: Any, server_url: str
) -> None:
    details = cnn_details(server_url)
    names = [layer["name"] for layer in details["layers"]]
    page.goto(f"/#fool?model={CNN}")
    expect(page.locator("#feature-maps .feature-map[data-layer]").first).to_be_visible()
    draw_with_mouse(page, SEVEN)
    expect_prediction(page, "7")
    expect(page.locator("#dream-classes canvas.is-dreamt")).to_have_count(
        10, timeout=FOOLED_TIMEOUT_MS
    )
    for label in ("0", "7"):
        top = unit_atlas(server_url, CNN, "output", int(label))["top"][:3]
        expect_favourites(page, f'#dream-classes figure[data-class="{label}"]', top, 2)

    # A cell of the first convolution: its weights are its filter's kernel where it looks.
    conv = names.index("conv_1")
    height, width, channels = details["layers"][conv]["shape"]
    click_cell(page, conv, 2, 13, 9, [height, width])
    heading = page.locator("#dream-unit-heading")
    expect(heading).to_have_text("Conv 1 · filter 3 · row 14, column 10")
    unit = (13 * width + 9) * channels + 2
    expect(page.locator("#dream-unit-image")).to_have_class(
        re.compile("is-dreamt"), timeout=FOOLED_TIMEOUT_MS
    )
    expect(page.locator("#dream-unit-numbers")).to_contain_text("on MNIST’s test digits")
    expect(page.locator("#dream-unit-weights")).to_have_count(1)
    assert painted(page, "#dream-unit-weights")
    expect_favourites(
        page, "#dream-unit-favourites", unit_atlas(server_url, CNN, "conv_1", unit)["top"], 3
    )
    # A cell of the second pooling: its dream, no weight image (it does not take the pixels).
    pool = names.index("pool_2")
    height, width, channels = details["layers"][pool]["shape"]
    click_cell(page, pool, 5, 3, 4, [height, width])
    expect(page.locator("#dream-unit-heading")).to_have_text("Pool 2 · map 6 · row 4, column 5")
    expect(page.locator("#dream-unit-image")).to_have_class(
        re.compile("is-dreamt"), timeout=FOOLED_TIMEOUT_MS
    )
    expect(page.locator("#dream-unit-weights")).to_have_count(0)
    unit = (3 * width + 4) * channels + 5
    expect_favourites(
        page, "#dream-unit-favourites", unit_atlas(server_url, CNN, "pool_2", unit)["top"], 3
    )
    # A dense unit of the CNN, from the diagram.
    page.locator('#network-diagram g.unit[data-layer="0"][data-unit="4"]').click()
    expect(page.locator("#dream-unit-heading")).to_have_text("Unit 5 of hidden_1")
    expect(page.locator("#dream-unit-image")).to_have_class(
        re.compile("is-dreamt"), timeout=FOOLED_TIMEOUT_MS
    )
    expect(page.locator("#dream-unit-weights")).to_have_count(0)  # it takes the maps, not pixels
    expect_favourites(
        page, "#dream-unit-favourites", unit_atlas(server_url, CNN, "hidden_1", 4)["top"], 3
    )
    assert_accessible(page, "Fool it on the CNN with a unit's dream and favourite digits")


def test_a_feature_map_reached_with_the_keyboard_is_dreamt(page: Any, server_url: str) -> None:
    cnn_details(server_url)
    page.goto(f"/#fool?model={CNN}")
    expect(page.locator("#feature-maps .feature-map[data-layer]").first).to_be_visible()
    draw_with_mouse(page, SEVEN)
    expect_prediction(page, "7")
    page.locator("#fool-heading").focus()
    tab_until(page, "feature-map", "a feature map")
    # Focusing a map picks its strongest cell for this drawing.
    heading = page.locator("#dream-unit-heading")
    expect(heading).to_have_text(re.compile(r"^Conv 1 · filter 1 · row \d+, column \d+$"))
    page.keyboard.press("ArrowRight")
    expect(heading).to_have_text(re.compile(r"^Conv 1 · filter 2 · "))
    expect(page.locator("#dream-unit-image")).to_have_class(
        re.compile("is-dreamt"), timeout=FOOLED_TIMEOUT_MS
    )
    expect(page.locator("#dream-unit-favourites li")).to_have_count(9)


def test_a_unit_tapped_on_a_phone_shows_its_dream_and_digits_without_scrolling_sideways(
    phone_page: Any, assert_accessible: Any
) -> None:
    page = phone_page
    open_app_and_draw(page, ONE, "1", touch=True)
    open_section(page, "fool", touch=True)
    tap(page.locator('#network-diagram g.unit[data-layer="0"][data-unit="7"]'))
    expect(page.locator("#dream-unit-heading")).to_have_text("Unit 8 of hidden_1")
    expect(page.locator("#dream-unit-image")).to_have_class(
        re.compile("is-dreamt"), timeout=FOOLED_TIMEOUT_MS
    )
    expect(page.locator("#dream-unit-favourites li")).to_have_count(9)
    expect(page.locator("#dream-classes .dream-favourite-digits li")).to_have_count(6)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways on a phone ({width} px wide)"
    assert_accessible(page, "Fool it on a phone with a unit's dream and favourite digits")
