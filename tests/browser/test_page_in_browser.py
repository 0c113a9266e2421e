"""The page in a real Chromium against the real server: draw digits, read what the page shows.

Every test ends with no console error, page error or failed request (see browser_pages.py), and
saves a screenshot of each state under tests/artifacts/.

Over 300 lines: one test per thing the page shows, sharing the browser, the server and the drawing
helpers.
"""

from __future__ import annotations

import base64
import io
import json
import re
import struct
import zlib
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from page_actions import (
    ANSWER_TIMEOUT_MS,
    BAR,
    ONE,
    SEVEN,
    ZERO,
    draw_with_mouse,
    draw_with_touch,
    expect,
    expect_prediction,
    ink,
    open_app,
    open_app_and_draw,
    pick_unit,
    tab_until,
    tap,
    wait_until_answered,
)
from PIL import Image

from drawings.canvas import png_like_chromium

pytestmark = pytest.mark.browser

# POST /predict?model=…, and not /static/js/predict_client.js.
PREDICT_URL = re.compile(r"/predict(\?|$)")
# Long enough that an answer is still on its way when the next step happens, even on a busy CI.
SLOW_NETWORK_MS = 600

UNIT_FILLS_JS = """() => [...document.querySelectorAll('#network-diagram g.unit')].map(
  (unit) => unit.querySelector('.unit-circle').getAttribute('fill'))"""


# --- helpers --------------------------------------------------------------------------------


def screenshot_of(page: Any, selector: str, path: Path) -> None:
    """A picture of one element, cut from a full-page screenshot.

    (Playwright's element screenshot scrolls an element taller than the viewport in a way that
    can leave the page scrolled under the next click.)
    """
    box = page.locator(selector).bounding_box()
    scroll = page.evaluate("() => [window.scrollX, window.scrollY]")
    clip = {"x": box["x"] + scroll[0], "y": box["y"] + scroll[1]}
    page.screenshot(
        path=path, full_page=True, clip={**clip, "width": box["width"], "height": box["height"]}
    )


def unit_fills(page: Any) -> list[str]:
    return page.evaluate(UNIT_FILLS_JS)


def bar_values(page: Any) -> dict[str, str]:
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('#bars li.bar')].map(
          (bar) => [bar.dataset.class, bar.querySelector('.bar-value').textContent]))"""
    )


def bar_widths(page: Any) -> dict[str, float]:
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('#bars li.bar')].map(
          (bar) => [bar.dataset.class, parseFloat(bar.querySelector('.bar-fill').style.width)]))"""
    )


def predict_responses(page: Any) -> list[Any]:
    """Successful /predict responses of this page, oldest first (bodies are read on demand)."""
    responses: list[Any] = []
    page.on(
        "response",
        lambda response: (
            responses.append(response)
            if "/predict" in response.url and response.status == 200
            else None
        ),
    )
    return responses


def format_like_page(value: float, digits: int = 4) -> str:
    text = f"{abs(value):.{digits}f}"
    return f"\u2212{text}" if value < 0 and float(text) != 0 else text


def model_details(server_url: str, name: str) -> dict[str, Any]:
    response = httpx.get(f"{server_url}/models/{name}", timeout=10)
    response.raise_for_status()
    return response.json()


def shapes_text(inputs: int, units: int) -> str:
    return f"(1×{inputs})·({inputs}×{units}) + (1×{units})"


# --- tests ----------------------------------------------------------------------------------


def test_draw_a_one_then_a_zero_updates_every_panel(page: Any, artifacts: Path) -> None:
    responses = predict_responses(page)
    open_app(page)
    expect(page.locator("#canvas-hint")).to_be_visible()
    expect(page.locator("#prediction")).to_have_text("–")
    assert set(bar_values(page).values()) == {"—"}, "an empty canvas must show no probabilities"
    empty_fills = unit_fills(page)
    assert ink(page, "#input-preview")["ink"] == 0
    page.screenshot(path=artifacts / "page-empty.png", full_page=True)

    draw_with_mouse(page, ONE)
    expect_prediction(page, "1")
    expect(page.locator("#canvas-hint")).to_be_hidden()
    last = responses[-1].json()
    assert last["label"] == "1", "the page shows the latest answer"
    values = bar_values(page)
    assert set(values) == {"0", "1"}
    assert all(re.fullmatch(r"[<>]?\d{1,3}\.\d%", text) for text in values.values()), values
    expect(page.locator("#bars li.bar.is-winner")).to_have_attribute("data-class", "1")
    widths = bar_widths(page)
    assert widths["1"] > 50 > widths["0"]
    preview_one = ink(page, "#input-preview")
    assert (preview_one["width"], preview_one["height"]) == (28, 28)
    assert preview_one["ink"] > 20, "the 28×28 preview shows the digit the network received"
    fills_one = unit_fills(page)
    assert fills_one != empty_fills, "units are shaded by activation once there is an answer"
    assert page.locator("#network-diagram .connection").count() > 0
    expect(page.locator("#ood-warning")).to_be_hidden()
    # Open the most active first-layer unit, so the screenshot shows a whole path and a pattern.
    first_layer = last["layers"][0]["values"]
    strongest = max(range(len(first_layer)), key=first_layer.__getitem__)
    pick_unit(page, 0, strongest)
    expect(page.locator("#explainer-body")).to_be_visible()
    page.screenshot(path=artifacts / "page-one.png", full_page=True)

    page.get_by_role("button", name=re.compile("^Clear")).click()
    draw_with_mouse(page, ZERO)
    expect_prediction(page, "0")
    expect(page.locator("#bars li.bar.is-winner")).to_have_attribute("data-class", "0")
    widths = bar_widths(page)
    assert widths["0"] > 50 > widths["1"]
    preview_zero = ink(page, "#input-preview")
    assert preview_zero["ink"] > preview_one["ink"], "a 0 has more ink than a 1"
    assert preview_zero["hash"] != preview_one["hash"], "the preview changes with the drawing"
    assert unit_fills(page) != fills_one, "the diagram's shading changes with the drawing"
    assert responses[-1].json()["label"] == "0"
    page.screenshot(path=artifacts / "page-zero.png", full_page=True)


def test_clicking_units_explains_them_with_this_networks_shapes(
    page: Any, server_url: str, artifacts: Path
) -> None:
    # Over 60 lines: one walk through the units a visitor clicks, each checked as it opens.
    responses = predict_responses(page)
    open_app(page)
    details = model_details(server_url, "digits-0-1")
    sizes = [layer["units"] for layer in details["layers"]]
    draw_with_mouse(page, ONE)
    expect_prediction(page, "1")
    answer = responses[-1].json()
    body = page.locator("#explainer-body")

    page.locator('#network-diagram g.unit[data-layer="0"][data-unit="2"]').click()
    expect(body).to_be_visible()
    expect(body).to_contain_text("Hidden layer 1 · unit 3 of 25")
    expect(body).to_contain_text("(1×784)·(784×25) + (1×25)")
    expect(body).to_contain_text("Keras stores W as inputs × units")
    first = answer["layers"][0]
    expect(body.locator('[data-field="a"]')).to_have_text(format_like_page(first["values"][2]))
    expect(body.locator('[data-field="z"]')).to_have_text(
        format_like_page(first["preactivations"][2])
    )
    expect(body.locator('[data-field="g"]')).to_contain_text("sigmoid")
    weights = page.evaluate(
        """() => {
          const canvas = document.querySelector('#explainer-body canvas[data-role="unit-weights"]');
          const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
          let red = 0, blue = 0;
          for (let i = 0; i < data.length; i += 4) {
            if (data[i] > data[i + 2] + 40) red += 1;
            if (data[i + 2] > data[i] + 40) blue += 1;
          }
          return { width: canvas.width, height: canvas.height, red, blue };
        }"""
    )
    assert (weights["width"], weights["height"]) == (28, 28)
    assert weights["red"] > 0 and weights["blue"] > 0, "weights drawn red (−) and blue (+)"
    # The diagram shows the same pattern beside the input image.
    assert (
        page.locator('#network-diagram image[data-role="weight-image"]')
        .get_attribute("href")
        .startswith("data:image/png")
    )
    page.mouse.move(0, 0)
    screenshot_of(page, ".network-view", artifacts / "page-explain-hidden1.png")

    second = pick_unit(page, 1, 0)
    expect(second).to_have_attribute("aria-pressed", "true")
    expect(body).to_contain_text(f"Hidden layer 2 · unit 1 of {sizes[1]}")
    expect(body).to_contain_text(shapes_text(sizes[0], sizes[1]))
    expect(body).to_contain_text("Strongest pushes on z")
    expect(body.locator('[data-field="a"]')).to_have_text(
        format_like_page(answer["layers"][1]["values"][0])
    )
    screenshot_of(page, ".network-view", artifacts / "page-explain-hidden2.png")

    page.locator('#network-diagram g.unit[data-layer="2"][data-unit="0"]').click()
    expect(body).to_contain_text("Output layer")
    expect(body).to_contain_text(shapes_text(sizes[1], sizes[2]))
    expect(body).to_contain_text("p(“1”)")

    page.get_by_role("button", name="Close the explanation").click()
    expect(body).to_be_hidden()
    expect(page.locator("#explainer-empty")).to_be_visible()


def test_units_are_reachable_with_the_keyboard(page: Any) -> None:
    open_app_and_draw(page, ONE, "1")
    tab_until(page, "unit", "a unit of the diagram")
    body = page.locator("#explainer-body")
    expect(body).to_contain_text("Hidden layer 1 · unit 1 of 25")
    page.keyboard.press("ArrowDown")
    expect(body).to_contain_text("Hidden layer 1 · unit 2 of 25")
    page.keyboard.press("ArrowRight")
    expect(body).to_contain_text("Hidden layer 2")


def test_clear_empties_everything_and_shows_the_hint(page: Any, artifacts: Path) -> None:
    open_app(page)
    empty_fills = unit_fills(page)
    draw_with_mouse(page, ONE)
    expect_prediction(page, "1")
    assert ink(page, "#drawing-canvas")["ink"] > 0

    page.get_by_role("button", name=re.compile("^Clear")).click()
    expect(page.locator("#canvas-hint")).to_be_visible()
    expect(page.locator("#prediction")).to_have_text("–")
    expect(page.locator("#status")).to_contain_text("Draw a digit")
    assert ink(page, "#drawing-canvas")["ink"] == 0, "the canvas is empty"
    assert ink(page, "#input-preview")["ink"] == 0, "the preview is empty"
    assert set(bar_values(page).values()) == {"—"}
    assert set(bar_widths(page).values()) == {0.0}
    expect(page.locator("#bars li.bar.is-winner")).to_have_count(0)
    assert unit_fills(page) == empty_fills, "the diagram returns to its neutral shading"
    assert page.locator("#network-diagram .connection").count() == 0
    expect(page.get_by_role("button", name=re.compile("^Clear"))).to_be_disabled()
    # Nothing is sent for an empty canvas, and no late answer brings the old result back.
    page.wait_for_timeout(600)
    expect(page.locator("#prediction")).to_have_text("–")
    page.screenshot(path=artifacts / "page-cleared.png", full_page=True)


def test_undo_removes_the_last_stroke_and_keys_work(page: Any) -> None:
    open_app_and_draw(page, ONE, "1")
    only_one = ink(page, "#drawing-canvas")
    draw_with_mouse(page, BAR)
    wait_until_answered(page)
    assert ink(page, "#drawing-canvas")["ink"] > only_one["ink"]

    page.get_by_role("button", name=re.compile("^Undo")).click()
    assert ink(page, "#drawing-canvas") == only_one, "Undo takes exactly the last stroke away"
    expect_prediction(page, "1")

    page.keyboard.press("Control+z")
    expect(page.locator("#canvas-hint")).to_be_visible()
    expect(page.locator("#prediction")).to_have_text("–")
    assert ink(page, "#drawing-canvas")["ink"] == 0

    draw_with_mouse(page, ONE)
    expect_prediction(page, "1")
    page.keyboard.press("Escape")
    expect(page.locator("#prediction")).to_have_text("–")
    assert ink(page, "#drawing-canvas")["ink"] == 0
    # Clearing by mistake is not final: Undo brings the drawing back.
    page.keyboard.press("Control+z")
    assert ink(page, "#drawing-canvas")["ink"] > 0
    expect_prediction(page, "1")


@pytest.mark.parametrize("failure", ["http-500", "network"])
def test_a_failed_request_shows_a_message_and_keeps_the_drawing(
    page: Any, problems: Any, artifacts: Path, failure: str
) -> None:
    problems.expect_failures(r"/predict")
    open_app(page)

    def fail(route: Any) -> None:
        if failure == "http-500":
            route.fulfill(status=500, json={"detail": "the model crashed"})
        else:
            route.abort("connectionrefused")

    page.route(PREDICT_URL, fail)
    draw_with_mouse(page, ONE)
    error = page.locator("#error")
    expect(error).to_be_visible(timeout=ANSWER_TIMEOUT_MS)
    if failure == "http-500":
        expect(error).to_contain_text("HTTP 500: the model crashed")
    else:
        expect(error).to_contain_text("Could not reach the server")
    expect(error).to_contain_text("Your drawing is kept")
    expect(error).to_have_attribute("role", "alert")
    assert ink(page, "#drawing-canvas")["ink"] > 0, "the drawing survives a failed request"
    page.screenshot(path=artifacts / f"page-error-{failure}.png", full_page=True)

    page.unroute(PREDICT_URL)
    page.get_by_role("button", name="Try again").click()
    expect_prediction(page, "1")
    expect(error).to_be_hidden()


def test_requests_never_pile_up_and_the_latest_drawing_wins(page: Any) -> None:
    # Over 60 lines: the slow network is a script injected into the page, written out here.
    # A slow network, and a record of requests, answers and what was shown.
    page.add_init_script(
        f"const SLOW_NETWORK_MS = {SLOW_NETWORK_MS};\n"
        + """
        window.__log = { inFlight: 0, maxInFlight: 0, answers: [], pointerUps: [], shown: [] };
        const realFetch = window.fetch.bind(window);
        window.fetch = async (input, init) => {
          if (!String(input && input.url ? input.url : input).includes('/predict')) {
            return realFetch(input, init);
          }
          const log = window.__log;
          const answer = { start: performance.now(), end: null, label: null };
          log.answers.push(answer);
          log.inFlight += 1;
          log.maxInFlight = Math.max(log.maxInFlight, log.inFlight);
          try {
            await new Promise((resolve) => setTimeout(resolve, SLOW_NETWORK_MS));
            const response = await realFetch(input, init);
            answer.label = (await response.clone().json()).label;
            return response;
          } finally {
            answer.end = performance.now();
            log.inFlight -= 1;
          }
        };
        document.addEventListener(
          'pointerup', () => window.__log.pointerUps.push(performance.now()), true);
        document.addEventListener('DOMContentLoaded', () => {
          const prediction = document.getElementById('prediction');
          new MutationObserver(() => window.__log.shown.push(
            [performance.now(), prediction.textContent])).observe(
            prediction, { childList: true, characterData: true, subtree: true });
        });
        """
    )
    open_app(page)
    draw_with_mouse(page, ONE, pause_ms=25)
    started_while_drawing = len(page.evaluate("() => window.__log.answers"))
    assert started_while_drawing >= 2, "it predicts while the person is still drawing"
    # Clear at once (Esc), while an answer for the 1 is still on its way, and draw a 0.
    page.keyboard.press("Escape")
    cleared_at = page.evaluate("() => performance.now()")
    draw_with_mouse(page, ZERO, pause_ms=8)
    expect_prediction(page, "0")
    page.wait_for_timeout(400)
    expect(page.locator("#prediction")).to_have_text("0")

    log = page.evaluate("() => window.__log")
    answers = log["answers"]
    moves = len(ONE) + len(ZERO)
    assert log["maxInFlight"] == 1, "at most one request is in flight"
    drawing_ms = answers[-1]["end"] - answers[0]["start"]
    assert len(answers) <= drawing_ms / SLOW_NETWORK_MS + 1, "each request waits for the last"
    assert len(answers) < moves, "drawings made while a request is out are skipped, not queued"
    assert answers[-1]["start"] >= log["pointerUps"][-1], "one last request after the stroke ends"
    stale = [a for a in answers if a["start"] < cleared_at < a["end"]]
    assert stale, "an answer for the 1 arrived after Clear (else this test proves nothing)"
    first_fresh_end = min(a["end"] for a in answers if a["start"] > cleared_at)
    shown_after_clear = [(at, text) for at, text in log["shown"] if at > cleared_at]
    assert shown_after_clear, "answers for the 0 were shown"
    assert all(at >= first_fresh_end for at, _ in shown_after_clear), (
        f"an answer for the cleared drawing was shown: {shown_after_clear}, stale: {stale}"
    )


def test_a_seven_for_the_zero_one_model_says_neither_with_the_real_detector(
    page: Any, artifacts: Path
) -> None:
    responses = predict_responses(page)
    open_app_and_draw(page, ONE, "1")
    if responses[-1].json()["in_distribution"] is None:
        pytest.skip("digits-0-1 ships without an out-of-distribution detector")
    assert responses[-1].json()["in_distribution"] is True
    expect(page.locator("#ood-warning")).to_be_hidden()

    page.keyboard.press("Escape")
    draw_with_mouse(page, SEVEN)
    warning = page.locator("#ood-warning")
    expect(warning).to_contain_text("This looks like neither 0 nor 1", timeout=ANSWER_TIMEOUT_MS)
    wait_until_answered(page)
    answer = responses[-1].json()
    assert answer["in_distribution"] is False
    # The answer and the activations are still shown.
    expect(page.locator("#prediction")).to_have_text(answer["label"])
    assert all(text.endswith("%") for text in bar_values(page).values())
    page.screenshot(path=artifacts / "page-seven-neither.png", full_page=True)


def test_bars_and_diagram_follow_each_model(page: Any, server_url: str, artifacts: Path) -> None:
    served = httpx.get(f"{server_url}/models", timeout=10).json()["models"]
    open_app(page)
    radios = page.locator('#model-switch input[name="model"]')
    assert sorted(radios.evaluate_all("els => els.map(e => e.value)")) == sorted(
        model["name"] for model in served
    )
    for model in served:
        name = model["name"]
        page.locator(f'#model-switch input[value="{name}"]').check()
        # The diagram's units are the dense layers', numbered from 0; a CNN's maps before them
        # are images (tests/browser/test_convolution.py).
        layers = model_details(server_url, name)["layers"]
        sizes = [layer["units"] for layer in layers if layer.get("kind", "dense") == "dense"]
        for index, units in enumerate(sizes):
            expect(page.locator(f'#network-diagram g.unit[data-layer="{index}"]')).to_have_count(
                units
            )
        expect(page.locator("#bars li.bar")).to_have_count(len(model["classes"]))
        draw_with_mouse(page, ONE)
        expect_prediction(page, "1")
        expect(page.locator("#bars li.bar.is-winner")).to_have_attribute("data-class", "1")
        # The path to the answer: bright lines into the output end at the unit for "1" (the
        # lone sigmoid unit p("1") of a two-class model, else the unit of class "1").
        output = len(sizes) - 1
        answer_unit = "0" if sizes[-1] == 1 else str(model["classes"].index("1"))
        path_targets = page.eval_on_selector_all(
            f'#network-diagram .connection-layer[data-into="{output}"] .connection.on-path',
            "connections => connections.map(e => e.dataset.target)",
        )
        assert path_targets and set(path_targets) == {answer_unit}, path_targets
        expect(
            page.locator(
                f'#network-diagram g.unit[data-layer="{output}"][data-unit="{answer_unit}"]'
            )
        ).to_have_class(re.compile("on-path"))
        page.screenshot(path=artifacts / f"page-model-{name}.png", full_page=True)
        page.get_by_role("button", name=re.compile("^Clear")).click()


def test_touch_drawing_on_a_phone(phone_page: Any, artifacts: Path) -> None:
    page = phone_page
    page.add_init_script(
        """window.__pointerTypes = [];
        document.addEventListener('pointerdown', (e) => window.__pointerTypes.push(e.pointerType),
          true);"""
    )
    open_app(page)
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375, "no sideways scroll"
    assert (
        page.evaluate(
            "() => getComputedStyle(document.querySelector('#drawing-canvas')).touchAction"
        )
        == "none"
    )
    page.screenshot(path=artifacts / "phone-empty.png")
    scroll_before = page.evaluate("() => window.scrollY")

    draw_with_touch(page, ONE)
    expect_prediction(page, "1")
    assert page.evaluate("() => window.__pointerTypes") == ["touch"]
    assert page.evaluate("() => window.scrollY") == scroll_before, "drawing does not scroll"
    assert ink(page, "#input-preview")["ink"] > 20
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    page.screenshot(path=artifacts / "phone-touch-one.png")
    page.screenshot(path=artifacts / "phone-touch-one-full.png", full_page=True)

    tap(page.get_by_role("button", name=re.compile("^Clear")))
    draw_with_touch(page, ZERO)
    expect_prediction(page, "0")
    tap(page.locator('#network-diagram g.unit[data-layer="0"][data-unit="0"]'))
    expect(page.locator("#explainer-body")).to_contain_text("(1×784)·(784×25) + (1×25)")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    screenshot_of(page, ".network-view", artifacts / "phone-explain.png")


def test_page_runs_under_a_strict_content_security_policy(page: Any) -> None:
    response = page.goto("/")
    policy = response.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "style-src 'self'" in policy, policy
    html = response.text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "no inline scripts"
    assert not re.search(r"\sstyle=", html), "no inline style attributes"
    assert not re.search(r"\son[a-z]+=", html), "no inline event handlers"
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "nothing loaded from other sites"
    # The page works under that policy: a violation would be a console error (see browser_pages.py).
    expect(page.locator("#network-diagram g.unit").first).to_be_attached()
    draw_with_mouse(page, ONE)
    expect_prediction(page, "1")


def png_rows_and_zlib_header(png: bytes) -> tuple[tuple[int, int, int, int], np.ndarray, bytes]:
    """(width, height, bit depth, colour type), each row's filter type, and the zlib stream."""
    width, height, depth, colour = struct.unpack(">IIBB", png[16:26])
    stream, position = b"", 8
    while position < len(png):
        length, kind = struct.unpack(">I4s", png[position : position + 8])
        if kind == b"IDAT":
            stream += png[position + 8 : position + 8 + length]
        position += 12 + length
    rows = np.frombuffer(zlib.decompress(stream), np.uint8).reshape(height, -1)
    return (width, height, depth, colour), rows[:, 0], stream


def test_the_benchmark_sends_canvas_pngs_encoded_as_this_browser_encodes_them(
    page: Any,
) -> None:
    """`make bench` claims its bodies are what the page sends; the page's own export says so."""
    bodies: list[str] = []
    page.on(
        "request",
        lambda request: bodies.append(request.post_data) if "/predict" in request.url else None,
    )
    open_app_and_draw(page, ZERO, "0")
    png = base64.b64decode(json.loads(bodies[-1])["image"].split(",", 1)[1])
    header, filters, stream = png_rows_and_zlib_header(png)
    assert header == (280, 280, 8, 6), "the page exports a 280×280 8-bit RGBA canvas"
    assert set(filters.tolist()) == {2}, "Chromium filters every row with Up"

    ours = png_like_chromium(Image.open(io.BytesIO(png)))
    our_header, our_filters, our_stream = png_rows_and_zlib_header(ours)
    assert our_header == header and set(our_filters.tolist()) == {2}
    assert our_stream[:2] == stream[:2], "the same zlib compression level (fastest)"
    assert abs(len(our_stream) - len(stream)) <= 0.05 * len(stream), (len(our_stream), len(stream))
