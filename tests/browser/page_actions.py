"""What a person does on the page, for every browser test: open it, draw with a mouse or a
finger, wait for the answer. Strokes are lists of points in canvas fractions.

Imported by name (`from page_actions import ...`): pytest puts this folder on sys.path.
Without Playwright, importing this skips the test module (a failure in CI, see conftest.py).
"""

from __future__ import annotations

import math
import os
from typing import Any

import pytest

try:
    from playwright.sync_api import expect
except ImportError:
    if os.environ.get("CI"):
        raise
    pytest.skip("Playwright not installed: pip install -e '.[test]'", allow_module_level=True)

__all__ = [
    "ANSWER_TIMEOUT_MS",
    "BAR",
    "ONE",
    "SEVEN",
    "ZERO",
    "canvas_point",
    "draw_with_mouse",
    "draw_with_touch",
    "expect",
    "expect_prediction",
    "ink",
    "open_app",
    "open_app_and_draw",
    "open_section",
    "pick_unit",
    "settle_in_view",
    "tab_until",
    "tap",
    "wait_until_answered",
]

ANSWER_TIMEOUT_MS = 15_000
# A "1": one slightly slanted vertical stroke, as canvas fractions.
ONE = [(0.52 - 0.04 * t, 0.16 + 0.68 * t) for t in (i / 39 for i in range(40))]
# A "0": an upright ellipse, closed, from many small moves.
ZERO = [
    (0.5 + 0.22 * math.sin(2 * math.pi * i / 72), 0.5 - 0.32 * math.cos(2 * math.pi * i / 72))
    for i in range(75)
]
# A "7": a bar across the top, then a long slanted stroke down.
SEVEN = [(0.25 + 0.5 * t, 0.2) for t in (i / 19 for i in range(20))] + [
    (0.75 - 0.3 * t, 0.2 + 0.65 * t) for t in (i / 29 for i in range(1, 30))
]
# A stroke across the middle: with ONE it makes a cross, which Undo must take away again.
BAR = [(0.25 + 0.5 * t, 0.5) for t in (i / 24 for i in range(25))]


# Scrolls the element into view if it is not (nothing moves if it is), then waits until its box
# has stayed put for COMMITTED_FRAMES animation frames in a row. Chromium hit-tests a touch (and
# turns touchstart/touchend into a tap, hence a click) against the compositor's copy of the page,
# which lags the main thread by a frame; a touch sent right after a main-thread scroll or layout
# change can lose its click, and the busier the machine the wider that window.
SETTLE_IN_VIEW_JS = """async (element, committedFrames) => {
  element.scrollIntoView({ block: 'nearest', inline: 'nearest', behavior: 'instant' });
  const where = () => {
    const box = element.getBoundingClientRect();
    return [box.x, box.y, box.width, box.height].join();
  };
  let last = where();
  for (let still = 0; still < committedFrames;) {
    await new Promise((resolve) => requestAnimationFrame(resolve));
    const now = where();
    still = now === last ? still + 1 : 0;
    last = now;
  }
}"""
COMMITTED_FRAMES = 3


def settle_in_view(locator: Any) -> None:
    """Bring `locator` into view and wait until the page as shown has it where it is."""
    locator.evaluate(SETTLE_IN_VIEW_JS, COMMITTED_FRAMES)


INK_COUNT_JS = """async (selector) => {
  // After the next frame, so whatever the page has drawn is on the canvas.
  await new Promise((resolve) => requestAnimationFrame(resolve));
  const canvas = document.querySelector(selector);
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let ink = 0;
  let hash = 2166136261;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i] < 200 || data[i + 1] < 200 || data[i + 2] < 200) ink += 1;
    hash = Math.imul(hash ^ data[i] ^ (data[i + 1] << 8) ^ (data[i + 2] << 16), 16777619);
  }
  return { ink, hash, width: canvas.width, height: canvas.height };
}"""


def ink(page: Any, selector: str) -> dict[str, int]:
    """How many of a canvas's pixels are not near white, and a hash of all of them."""
    return page.evaluate(INK_COUNT_JS, selector)


def tap(locator: Any) -> None:
    """A finger's tap on `locator`, sent only once the screen shows it where the page has it.

    (Playwright's own tap scrolls the element into view and touches it at once, before the
    compositor has the scrolled page: under load the tap then produced no click.)
    """
    settle_in_view(locator)
    locator.tap()


def open_app(page: Any) -> None:
    page.goto("/")
    # The diagram is built once the model (with weights) has arrived.
    expect(page.locator("#network-diagram g.unit").first).to_be_attached()


def open_section(page: Any, name: str, *, touch: bool = False) -> None:
    """Follow the section's link in the page's navigation (a click, or a tap with `touch`) and
    wait until the section is shown and has what it shows."""
    link = page.locator(f'.section-nav a[href="#{name}"]')
    if touch:
        tap(link)
    else:
        link.click()
    section = page.locator(f"#{name}")
    expect(section).to_be_visible()
    expect(section.locator(".section-body > *").first).to_be_attached()


def canvas_point(page: Any, point: tuple[float, float]) -> tuple[float, float]:
    box = page.locator("#drawing-canvas").bounding_box()
    return box["x"] + point[0] * box["width"], box["y"] + point[1] * box["height"]


def draw_with_mouse(page: Any, points: list[tuple[float, float]], pause_ms: int = 0) -> None:
    page.locator("#drawing-canvas").scroll_into_view_if_needed()
    page.mouse.move(*canvas_point(page, points[0]))
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*canvas_point(page, point))
        if pause_ms:
            page.wait_for_timeout(pause_ms)
    page.mouse.up()


def draw_with_touch(page: Any, points: list[tuple[float, float]]) -> None:
    """Real touch input through the DevTools protocol (touchstart/move/end, not mouse events),
    once the canvas is in view and shown where it is (see SETTLE_IN_VIEW_JS)."""
    settle_in_view(page.locator("#drawing-canvas"))
    cdp = page.context.new_cdp_session(page)

    def touch(kind: str, point: tuple[float, float] | None) -> None:
        touch_points = []
        if point is not None:
            x, y = canvas_point(page, point)
            touch_points = [{"x": x, "y": y, "radiusX": 4, "radiusY": 4, "force": 1, "id": 1}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": touch_points})

    touch("touchStart", points[0])
    for point in points[1:]:
        touch("touchMove", point)
    touch("touchEnd", None)
    cdp.detach()


def open_app_and_draw(
    page: Any, points: list[tuple[float, float]], label: str, *, touch: bool = False
) -> None:
    """Open the page, draw `points` with the mouse (or a finger, with `touch`) and wait until
    the page reads `label`."""
    open_app(page)
    if touch:
        draw_with_touch(page, points)
    else:
        draw_with_mouse(page, points)
    expect_prediction(page, label)


def pick_unit(page: Any, layer: int, unit: int) -> Any:
    """Click a unit of the diagram to explain it and return its locator. The pointer then
    leaves the diagram, so the pinned unit (not a hovered one) is what the explainer shows."""
    picked = page.locator(f'#network-diagram g.unit[data-layer="{layer}"][data-unit="{unit}"]')
    picked.click()
    page.mouse.move(0, 0)
    return picked


def tab_until(page: Any, css_class: str, what: str) -> None:
    """Press Tab until the focused element has `css_class`; fail, naming `what`, if 40 presses
    do not get there."""
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("(name) => document.activeElement.classList.contains(name)", css_class):
            return
    pytest.fail(f"Tab never reached {what}")


def wait_until_answered(page: Any) -> None:
    """Wait until no prediction request is in flight or due (the final one has been answered)."""
    page.wait_for_function(
        "() => !document.querySelector('#answer-card').classList.contains('is-busy')",
        timeout=ANSWER_TIMEOUT_MS,
    )


def expect_prediction(page: Any, label: str) -> None:
    expect(page.locator("#prediction")).to_have_text(label, timeout=ANSWER_TIMEOUT_MS)
    wait_until_answered(page)
    expect(page.locator("#prediction")).to_have_text(label)
