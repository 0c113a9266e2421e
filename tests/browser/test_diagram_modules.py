"""The page's diagram modules on their own, in real Chromium, as later panels will use them:
output_units.js (the one place that knows a lone sigmoid unit serves two classes) and
diagram_view.js (paints whatever per-unit fills and per-connection values its caller gives).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from page_actions import open_app

pytestmark = pytest.mark.browser

BLUE = "rgb(37, 99, 235)"
RED = "rgb(220, 38, 38)"

OUTPUT_UNITS_JS = """async ({ model, label, unit, value }) => {
  const units = await import('/static/js/output_units.js');
  return {
    signal: units.classSignal(model, label),
    predicted: units.predictedOutputUnit(model, label),
    name: units.outputUnitName(model, unit),
    label: units.outputUnitLabel(model, unit, value),
    sentence: units.describeOutputLayer(model),
    // y of the label's own unit, and of unit `unit`, when the answer should be `label`
    targetOfItsUnit: units.outputTarget(model, label, units.classSignal(model, label).unit),
    targetOfUnit: units.outputTarget(model, label, unit),
    loss: units.outputLossName(model),
  };
}"""

PAINT_JS = """async ({ model, width }) => {
  const { DiagramView } = await import('/static/js/diagram_view.js');
  const wrap = document.createElement('div');
  wrap.style.width = `${width}px`;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  wrap.append(svg);
  document.body.append(wrap);
  const view = new DiagramView(svg, wrap);
  view.setModel(model);
  // A picture no forward pass makes: alternate red and blue units, two hand-made lines.
  view.paint({
    units: model.layers.map((layer, l) => Array.from({ length: layer.units }, (_, u) => ({
      fill: u % 2 ? 'rgb(220, 38, 38)' : 'rgb(37, 99, 235)', text: `delta ${l}.${u}`,
      marked: l === 0 && u === 2,
    }))),
    path: model.layers.map((_, l) => new Set(l === 1 ? [0] : [])),
    predicted: -1,
    outputLabels: [{ name: 'loss', value: '0.5', stacked: true }],
    connectionLayers: [{ into: 1, connections: [
      { source: 0, target: 0, value: 2, onPath: true },
      { source: 1, target: 2, value: -1, onPath: false },
    ] }],
    input: null,
    under: { rows: null, caption: ['gradient', 'of x'] },
    selected: { layer: 1, unit: 0 },
  });
  const read = () => ({
    fills: [...svg.querySelectorAll('g.unit .unit-circle')].map((c) => c.getAttribute('fill')),
    labels: [...svg.querySelectorAll('g.unit')].map((g) => g.getAttribute('aria-label')),
    onPath: [...svg.querySelectorAll('g.unit.on-path')].map(
      (g) => [g.dataset.layer, g.dataset.unit]),
    selected: [...svg.querySelectorAll('g.unit.is-selected')].map(
      (g) => [g.dataset.layer, g.dataset.unit]),
    marked: [...svg.querySelectorAll('g.unit.is-marked')].map(
      (g) => [g.dataset.layer, g.dataset.unit]),
    connections: [...svg.querySelectorAll('.connection')].map((e) => ({
      into: e.parentNode.dataset.into, source: e.dataset.source, target: e.dataset.target,
      stroke: e.getAttribute('stroke'), width: Number(e.getAttribute('stroke-width')),
      onPath: e.classList.contains('on-path'), related: e.classList.contains('is-related'),
    })),
    text: svg.textContent,
    svgWidth: Number(svg.getAttribute('width')),
  });
  const before = read();
  // Narrower: the view rebuilds its columns and paints the same picture again by itself.
  wrap.style.width = `${Math.round(width / 2)}px`;
  for (let i = 0; i < 3; i += 1) await new Promise((resolve) => requestAnimationFrame(resolve));
  const after = read();
  wrap.remove();
  return { before, after };
}"""


def model_shape(server_url: str, name: str) -> dict[str, Any]:
    """What the page keeps of GET /models/{name} to lay out a diagram, without the weights."""
    details = httpx.get(f"{server_url}/models/{name}", timeout=10).json()
    return {
        "classes": [str(label) for label in details["classes"]],
        "layers": [
            {"units": layer["units"], "activation": layer["activation"]}
            for layer in details["layers"]
        ],
    }


def test_a_lone_sigmoid_unit_stands_for_both_classes(page: Any, server_url: str) -> None:
    open_app(page)
    model = model_shape(server_url, "digits-0-1")
    assert model["layers"][-1]["units"] == 1
    one = page.evaluate(OUTPUT_UNITS_JS, {"model": model, "label": "1", "unit": 0, "value": 0.25})
    assert one["signal"] == {"unit": 0, "sign": 1}
    assert one["predicted"] == 0
    assert one["name"] == "p(“1”)"
    assert one["label"] == {"name": "p(“1”)", "value": "= 0.250", "stacked": True}
    assert "p(“0”) = 1 − p(“1”)" in one["sentence"]
    assert one["targetOfItsUnit"] == 1 and one["loss"] == "binary cross-entropy"
    zero = page.evaluate(OUTPUT_UNITS_JS, {"model": model, "label": "0", "unit": 0, "value": 0.25})
    assert zero["signal"] == {"unit": 0, "sign": -1}, "a 0 is the lone unit's low end"
    assert zero["predicted"] == -1, "the lone unit is not lit up for a 0"
    assert zero["targetOfItsUnit"] == 0, "a 0 asks the lone unit for p(“1”) = 0"


def test_ten_classes_have_one_output_unit_each(page: Any, server_url: str) -> None:
    open_app(page)
    model = model_shape(server_url, "digits-0-9")
    seven = page.evaluate(
        OUTPUT_UNITS_JS, {"model": model, "label": "7", "unit": 3, "value": 0.123}
    )
    assert seven["signal"] == {"unit": 7, "sign": 1}
    assert seven["predicted"] == 7
    assert seven["name"] == "“3”"
    assert seven["label"] == {"name": "3", "value": "12.3%", "stacked": False}
    assert "10 softmax units, one per class" in seven["sentence"]
    assert seven["targetOfItsUnit"] == 1 and seven["targetOfUnit"] == 0
    assert seven["loss"] == "categorical cross-entropy"


def test_the_view_paints_the_fills_and_connections_its_caller_gives(
    page: Any, server_url: str
) -> None:
    open_app(page)
    model = model_shape(server_url, "digits-0-1")
    sizes = [layer["units"] for layer in model["layers"]]
    drawn = page.evaluate(PAINT_JS, {"model": model, "width": 800})
    before, after = drawn["before"], drawn["after"]

    assert len(before["fills"]) == sum(sizes)
    assert before["fills"] == [BLUE if u % 2 == 0 else RED for n in sizes for u in range(n)]
    assert f"Hidden layer 2, unit 4 of {sizes[1]}: delta 1.3" in before["labels"]
    assert before["onPath"] == [["1", "0"]]
    assert before["selected"] == [["1", "0"]]
    assert before["marked"] == [["0", "2"]], "a unit the picture marks is ringed"
    strong, weak = sorted(before["connections"], key=lambda connection: -connection["width"])
    assert (strong["source"], strong["target"], strong["stroke"]) == ("0", "0", BLUE)
    assert (weak["source"], weak["target"], weak["stroke"]) == ("1", "2", RED)
    assert strong["onPath"] and not weak["onPath"]
    assert strong["related"] and not weak["related"], "lines into the selected unit are marked"
    assert strong["width"] == pytest.approx(1 + 3.2, abs=0.01), "the largest |value| is full width"
    assert weak["width"] == pytest.approx(0.4 + 3.2 * 0.5, abs=0.01), "half the value, half as wide"
    assert "loss" in before["text"] and "gradient" in before["text"]

    assert after["svgWidth"] < before["svgWidth"], "the view rebuilt itself for the new width"
    # (The column titles stack on a narrow diagram, so its text differs.)
    painted = ["fills", "labels", "onPath", "selected", "marked", "connections"]
    assert {key: after[key] for key in painted} == {key: before[key] for key in painted}, (
        "and painted the caller's picture again"
    )
    assert "loss" in after["text"] and "gradient" in after["text"]


LAYOUT_JS = """async ({ width, sizes }) => {
  const { computeLayout } = await import('/static/js/diagram_layout.js');
  const layout = computeLayout(width, sizes);
  return {
    imageRight: layout.input.x + layout.input.size,
    layers: layout.layers.map((layer) => ({
      left: Math.min(...layer.units.map((u) => u.x)) - layer.radius,
      right: Math.max(...layer.units.map((u) => u.x)) + layer.radius,
      radius: layer.radius,
    })),
  };
}"""


@pytest.mark.parametrize("sizes", [[25, 15, 1], [256, 128, 10], [512, 256, 10], [1024, 10]])
@pytest.mark.parametrize("width", [340, 500, 800, 1100])
def test_wide_layers_stay_clear_of_the_images_and_of_each_other(
    page: Any, server_url: str, sizes: list[int], width: int
) -> None:
    open_app(page)
    layout = page.evaluate(LAYOUT_JS, {"width": width, "sizes": sizes})
    boundaries = [layout["imageRight"]] + [
        x for layer in layout["layers"] for x in (layer["left"], layer["right"])
    ] + [width]
    # images, then each layer's columns, left to right
    assert boundaries == sorted(boundaries), layout
    assert all(layer["radius"] > 0.5 for layer in layout["layers"])
