"""The convolutional network on the page, in real Chromium, with the shipped CNN: its feature maps
and the line of tensor shapes, a clicked cell explained with this drawing's real numbers (held
to the numbers of GET /models and POST /predict, recomputed here in NumPy), a pooled cell's
window and winner, the keyboard, a phone, axe-core, and Teach it's δ maps and ∂L/∂K (held to
POST /gradients?weights=true).

Over 300 lines: one test per behaviour of the CNN's section, sharing the page and the numbers they
check.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from page_actions import (
    SEVEN,
    draw_with_mouse,
    draw_with_touch,
    expect,
    expect_prediction,
    ink,
    tab_until,
    tap,
)

pytestmark = pytest.mark.browser

CNN = "digits-0-9-cnn"


@pytest.fixture(scope="module")
def cnn(server_url: str) -> dict[str, Any]:
    """GET /models/digits-0-9-cnn, with its kernels."""
    names = [model["name"] for model in httpx.get(f"{server_url}/models").json()["models"]]
    if CNN not in names:
        pytest.skip(f"{CNN} is not in the model store")
    return httpx.get(f"{server_url}/models/{CNN}").json()


def map_layers(details: dict[str, Any], kind: str | None = None) -> list[int]:
    kinds = (kind,) if kind else ("conv2d", "max_pool")
    return [i for i, layer in enumerate(details["layers"]) if layer.get("kind") in kinds]


def predict_responses(page: Any) -> list[Any]:
    responses: list[Any] = []
    def keep(response: Any) -> None:
        if "/predict" in response.url and response.request.method == "POST":
            responses.append(response)

    page.on("response", keep)
    return responses


def open_cnn(page: Any, section: str = "see") -> None:
    page.goto(f"/#{section}?model={CNN}")
    expect(page.locator("#feature-maps .feature-map[data-layer]").first).to_be_visible()


def draw_seven(page: Any, responses: list[Any]) -> dict[str, Any]:
    draw_with_mouse(page, SEVEN)
    expect_prediction(page, "7")
    return responses[-1].json()


def as_maps(values: list[float], shape: list[int]) -> np.ndarray:
    """A layer's flat values in row-major (h, w, c), as the API sends them, as an array."""
    return np.asarray(values, dtype=np.float64).reshape(shape)


def input_of(details: dict[str, Any], answer: dict[str, Any], index: int) -> np.ndarray:
    """What layer `index` took: the 28×28×1 image, or the layer before's maps."""
    if index == 0 or details["layers"][index - 1].get("kind") not in ("conv2d", "max_pool"):
        return np.asarray(answer["input"], dtype=np.float64).reshape(28, 28, 1)
    below = details["layers"][index - 1]
    return as_maps(answer["layers"][index - 1]["values"], below["shape"])


def window_start(layer: dict[str, Any], size: int, n_in: int, position: int, axis: int) -> int:
    stride = layer["strides"][axis]
    pad = 0
    if layer["padding"] == "same":
        total = max((-(-n_in // stride) - 1) * stride + size - n_in, 0)
        pad = total // 2
    return position * stride - pad


def map_of(page: Any, layer: int, channel: int) -> Any:
    return page.locator(
        f'#feature-maps .feature-map[data-layer="{layer}"][data-channel="{channel}"]'
    )


def click_cell(
    page: Any, layer: int, channel: int, row: int, column: int, shape: list[int]
) -> None:
    box = map_of(page, layer, channel).locator(".map-box")
    bounds = box.bounding_box()
    box.click(position={
        "x": (column + 0.5) / shape[1] * bounds["width"],
        "y": (row + 0.5) / shape[0] * bounds["height"],
    })


def number(text: str) -> float:
    return float(text.replace("\u2212", "-"))


def test_the_cnn_shows_its_feature_maps_and_tensor_shapes(
    page: Any, cnn: dict[str, Any], assert_accessible: Any, artifacts: Path
) -> None:
    responses = predict_responses(page)
    open_cnn(page)
    expect(page.locator(f'#model-switch .model-option:has(input[value="{CNN}"])')).to_contain_text(
        "CNN"
    )
    for index in map_layers(cnn):
        maps = page.locator(f'#feature-maps .feature-map[data-layer="{index}"]')
        expect(maps).to_have_count(cnn["layers"][index]["shape"][2])
    # One kernel image under every conv map.
    for index in map_layers(cnn, "conv2d"):
        kernels = page.locator(
            f'#feature-maps .feature-map[data-layer="{index}"] canvas[data-role="kernel"]'
        )
        expect(kernels).to_have_count(cnn["layers"][index]["shape"][2])
    expected = ["(1, 28, 28, 1)"] + [
        f"({', '.join(str(size) for size in [1, *layer['shape']])})" for layer in cnn["layers"]
    ]
    assert page.locator("#tensor-shapes .tensor-shape").all_text_contents() == expected
    assert expected[-1] == f"(1, {len(cnn['classes'])})"
    note = page.locator("#tensor-shapes .tensor-note")
    expect(note).to_contain_text("batch")
    expect(note).to_contain_text(f"took {cnn['batch_size']} digits at once")
    expect(note).to_contain_text("channels")
    expect(page.locator("#network-diagram .column-title").first).to_have_text("Flatten")

    draw_seven(page, responses)
    first_conv = map_layers(cnn, "conv2d")[0]
    painted = ink(
        page, f'#feature-maps .feature-map[data-layer="{first_conv}"][data-channel="0"] canvas'
    )
    assert painted["ink"] > 0, "the first conv map shows the drawing's activations"
    assert_accessible(page, "the CNN's feature maps with a drawing")
    page.locator("#feature-maps").scroll_into_view_if_needed()
    page.locator(".network-view").screenshot(path=str(artifacts / "cnn-feature-maps.png"))


def test_a_conv_cell_is_explained_with_its_window_kernel_and_products(
    page: Any, cnn: dict[str, Any], artifacts: Path
) -> None:
    responses = predict_responses(page)
    open_cnn(page)
    answer = draw_seven(page, responses)
    index = map_layers(cnn, "conv2d")[1]  # the second convolution: a window over every map below
    layer = cnn["layers"][index]
    channel = 2
    maps = as_maps(answer["layers"][index]["values"], layer["shape"])
    row, column = np.unravel_index(int(np.argmax(maps[:, :, channel])), maps.shape[:2])
    click_cell(page, index, channel, int(row), int(column), layer["shape"])

    body = page.locator("#explainer-body")
    expect(body).to_have_attribute("data-cell", f"{row},{column}")
    expect(body).to_contain_text(f"filter {channel + 1} of {layer['shape'][2]}")
    # The same numbers, recomputed here from GET /models's kernel and /predict's maps.
    kernel = np.asarray(layer["weights"], dtype=np.float64)
    k_h, k_w, channels_in, _ = kernel.shape
    below = input_of(cnn, answer, index)
    top = window_start(layer, k_h, below.shape[0], int(row), 0)
    left = window_start(layer, k_w, below.shape[1], int(column), 1)
    padded = np.pad(below, ((k_h, k_h), (k_w, k_w), (0, 0)))
    window = padded[top + k_h : top + 2 * k_h, left + k_w : left + 2 * k_w, :]
    products = window * kernel[:, :, :, channel]
    total = float(products.sum())
    z = as_maps(answer["layers"][index]["preactivations"], layer["shape"])[row, column, channel]
    assert total + layer["biases"][channel] == pytest.approx(z, abs=1e-3)
    sum_text = body.locator('[data-field="conv-sum"]').text_content()
    shown = re.findall(r"−?\d+\.\d+", sum_text)
    assert number(shown[0]) == pytest.approx(total, abs=2e-4)
    assert number(shown[-1]) == pytest.approx(z, abs=2e-4)
    expect(body.locator('[data-field="conv-activation"]')).to_contain_text("max(0,")
    grids = body.locator('table[data-grid="products"]')
    expect(grids).to_have_count(channels_in)
    first_products = [number(t) for t in grids.nth(0).locator("td").all_text_contents()]
    assert first_products == pytest.approx(products[:, :, 0].ravel().tolist(), abs=0.006)
    assert body.locator('canvas[data-role="kernel-image"]').count() == 1
    # The window is outlined on every map of the layer below, where it is.
    fields = page.locator(
        f'#feature-maps .feature-map[data-layer="{index - 1}"] .map-field:not([hidden])'
    )
    expect(fields).to_have_count(channels_in)
    place = fields.first.evaluate("(e) => [parseFloat(e.style.top), parseFloat(e.style.left)]")
    # Chromium gives a style's percentage back in 6 significant digits (3/14 → "21.4286%").
    assert place == pytest.approx(
        [top / below.shape[0] * 100, left / below.shape[1] * 100], abs=1e-3
    )
    page.mouse.move(0, 0)
    page.locator(".network-view").screenshot(path=str(artifacts / "cnn-explain-conv.png"))


def test_a_pooled_cell_shows_its_window_and_which_one_won(page: Any, cnn: dict[str, Any]) -> None:
    responses = predict_responses(page)
    open_cnn(page)
    answer = draw_seven(page, responses)
    index = map_layers(cnn, "max_pool")[0]
    layer = cnn["layers"][index]
    channel = 1
    pooled = as_maps(answer["layers"][index]["values"], layer["shape"])
    row, column = np.unravel_index(int(np.argmax(pooled[:, :, channel])), pooled.shape[:2])
    click_cell(page, index, channel, int(row), int(column), layer["shape"])
    below = input_of(cnn, answer, index)
    p_h, p_w = layer["pool_size"]
    window = below[row * p_h : row * p_h + p_h, column * p_w : column * p_w + p_w, channel]
    body = page.locator("#explainer-body")
    expect(body.locator('table[data-grid="pool-window"] td')).to_have_count(p_h * p_w)
    winner = body.locator("td.is-winner")
    expect(winner).to_have_count(1)
    assert number(winner.text_content()) == pytest.approx(window.max(), abs=1e-4)
    assert number(body.locator('[data-field="a"]').text_content()) == pytest.approx(
        pooled[row, column, channel], abs=1e-4
    )
    # Only that channel's map below is outlined, with its winner ringed.
    outlined = page.locator(
        f'#feature-maps .feature-map[data-layer="{index - 1}"]:has(.map-field:not([hidden]))'
    )
    expect(outlined).to_have_count(1)
    expect(outlined).to_have_attribute("data-channel", str(channel))
    expect(outlined.locator(".map-winner:not([hidden])")).to_have_count(1)


def test_feature_maps_and_their_cells_are_reachable_with_the_keyboard(
    page: Any, cnn: dict[str, Any]
) -> None:
    responses = predict_responses(page)
    open_cnn(page)
    draw_seven(page, responses)
    tab_until(page, "feature-map", "a feature map")
    body = page.locator("#explainer-body")
    first = map_layers(cnn)[0]
    expect(body).to_have_attribute("data-layer", str(first))
    expect(body).to_have_attribute("data-channel", "0")
    page.keyboard.press("ArrowRight")
    expect(body).to_have_attribute("data-channel", "1")
    page.keyboard.press("ArrowDown")
    expect(body).to_have_attribute("data-layer", str(map_layers(cnn)[1]))
    cell = body.get_attribute("data-cell")
    page.keyboard.press("Enter")  # now the arrow keys move the cell
    row, column = (int(n) for n in cell.split(","))
    page.keyboard.press("ArrowDown" if row == 0 else "ArrowUp")
    expect(body).to_have_attribute("data-cell", f"{1 if row == 0 else row - 1},{column}")
    page.keyboard.press("Escape")  # stops moving the cell; the drawing stays
    expect(page.locator("#prediction")).to_have_text("7")
    page.keyboard.press("ArrowRight")  # between maps again
    expect(body).to_have_attribute("data-channel", "2")


def test_the_cnn_on_a_phone(phone_page: Any, cnn: dict[str, Any], assert_accessible: Any) -> None:
    page = phone_page
    open_cnn(page)
    draw_with_touch(page, SEVEN)
    expect_prediction(page, "7")
    target = page.locator(
        f'#feature-maps .feature-map[data-layer="{map_layers(cnn)[0]}"][data-channel="3"] .map-box'
    )
    tap(target)
    expect(page.locator("#explainer-body")).to_contain_text("filter 4 of")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375, "the maps wrap on a phone instead of widening the page"
    assert_accessible(page, "the CNN's feature maps on a phone")


def test_teach_it_paints_delta_maps_and_explains_a_kernels_gradient(
    page: Any, cnn: dict[str, Any], server_url: str, artifacts: Path
) -> None:
    gradients: list[Any] = []
    page.on(
        "response", lambda r: gradients.append(r) if "/gradients" in r.url else None
    )
    open_cnn(page, "teach")
    draw_with_mouse(page, SEVEN)
    expect_prediction(page, "7")
    page.locator('#teach-panel button[data-class="3"]').click()
    expect(page.locator("#teach-loss")).to_contain_text("Loss")
    first = map_layers(cnn, "conv2d")[0]
    colours = page.evaluate(
        """(selector) => {
          const canvas = document.querySelector(selector);
          const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
          let red = 0, blue = 0;
          for (let i = 0; i < data.length; i += 4) {
            if (data[i] > data[i + 2] + 40) red += 1;
            if (data[i + 2] > data[i] + 40) blue += 1;
          }
          return { red, blue };
        }""",
        f'#feature-maps .feature-map[data-layer="{first}"][data-channel="0"] canvas',
    )
    assert colours["red"] + colours["blue"] > 0, "the δ map is drawn in blue and red"
    answer = gradients[-1].json()
    layer = cnn["layers"][first]
    delta = as_maps(answer["layers"][first]["delta"], layer["shape"])
    channel = int(np.argmax(np.abs(delta).reshape(-1, layer["shape"][2]).sum(axis=0)))
    row, column = np.unravel_index(int(np.argmax(np.abs(delta[:, :, channel]))), delta.shape[:2])
    click_cell(page, first, channel, int(row), int(column), layer["shape"])
    backward = page.locator("#backward-explainer")
    expect(backward.locator('[data-field="kernel-gradient"]')).to_be_visible()
    cells = backward.locator('table[data-grid="kernel-gradient"] td')
    shown = [number(text) for text in cells.all_text_contents()]
    # ∂L/∂K as the server computes it, for the request the page sent.
    served = httpx.post(
        f"{server_url}/gradients?model={CNN}&weights=true",
        content=gradients[-1].request.post_data,
        headers={"Content-Type": "application/json"},
    ).json()
    assert served["loss"] == pytest.approx(answer["loss"])
    kernel_gradient = np.asarray(served["layers"][first]["weight_gradient"], dtype=np.float64)
    expected = kernel_gradient[:, :, :, channel].transpose(2, 0, 1).ravel()
    allowed = 1e-4 + 1e-3 * float(np.abs(expected).max())
    assert shown == pytest.approx(expected.tolist(), abs=allowed)
    page.mouse.move(0, 0)
    page.locator(".network-view").screenshot(path=str(artifacts / "cnn-teach.png"))
