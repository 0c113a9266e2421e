"""The page's convolution modules on their own, in real Chromium, against core/network.py's NumPy
pass on random convolutional networks (strides of 1 and 2, "same" and "valid" padding, pooling
windows that do not tile their maps): conv_layers.js's windows and tensor shapes, and
conv_explainer.js's window ⊙ kernel products, Σ + b = z, and a pooled cell's winner, cell by
cell, number for number.

The details and the answer are built here as GET /models/{name} and POST /predict give them
(`kind`, `shape`, kernels in Keras's layout, values flat in row-major (h, w, c)), from the NumPy
network of a random Keras model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from page_actions import open_app

pytestmark = pytest.mark.browser

ARCHITECTURES = [
    "conv3-3x3-same-s1-relu pool2x2-s2-valid conv4-3x3-same-s1-relu pool2x2-s2-valid flatten "
    "dense10-softmax",
    "conv2-5x5-valid-s2-relu pool3x3-s2-same conv3-3x3-valid-s1-relu flatten dense10-softmax",
    "conv2-3x3-same-s2x1-relu pool2x2-s2-same flatten dense4-relu dense10-softmax",
]

EXPLAIN_JS = """async ({ details, result, cells }) => {
  const { ConvExplainer } = await import('/static/js/conv_explainer.js');
  const conv = await import('/static/js/conv_layers.js');
  const { receptiveField } = await import('/static/js/map_picture.js');
  const body = document.createElement('div');
  const empty = document.createElement('p');
  document.body.append(body, empty);
  const explainer = new ConvExplainer(body, empty);
  explainer.setModel(details);
  const number = (text) => Number(text.replace('\\u2212', '-'));
  const answers = cells.map((ref) => {
    explainer.show({ map: true, ...ref }, result);
    const sum = body.querySelector('[data-field="conv-sum"]')?.textContent ?? '';
    const field = receptiveField(details, result, { map: true, ...ref });
    return {
      numbers: (sum.match(/−?\\d+\\.\\d+/g) ?? []).map(number),
      products: [...body.querySelectorAll('table[data-grid="products"] td')]
        .map((td) => number(td.textContent)),
      padded: body.querySelectorAll('table[data-grid="window"] td.is-padding').length,
      winner: body.querySelector('td.is-winner')?.textContent ?? null,
      a: number(body.querySelector('[data-field="a"]').textContent),
      field,
    };
  });
  body.remove();
  empty.remove();
  return {
    answers,
    shapes: conv.tensorShapes(details).map((entry) => entry.shape),
    names: details.layers.map((_, index) => conv.layerName(details, index)),
  };
}"""


def served_form(architecture: str, seed: int) -> tuple[dict[str, Any], dict[str, Any], Any, list]:
    """GET /models/{name}'s details and POST /predict's answer for a random digit-like input,
    and the NumPy layers and results they were made from."""
    from random_models import random_conv_model

    from core import network

    layers = network.layers_from_keras(random_conv_model(architecture, seed))
    rng = np.random.default_rng(seed)
    image = (rng.random((28, 28)) * (rng.random((28, 28)) > 0.6)).astype(np.float32)
    results = network.forward(layers, image.reshape(-1))
    classes = [str(d) for d in range(10)]
    details: dict[str, Any] = {"name": "random", "classes": classes, "layers": []}
    answer: dict[str, Any] = {"input": image.tolist(), "layers": []}
    for layer, result in zip(layers, results, strict=True):
        entry: dict[str, Any] = {"name": layer.name, "kind": layer.kind,
                                 "shape": list(layer.output_shape), "activation": layer.activation}
        if layer.kind in ("conv2d", "dense"):
            entry.update(weights=layer.weights.tolist(), biases=layer.biases.tolist())
        if layer.kind in ("conv2d", "max_pool"):
            entry.update(strides=list(layer.strides), padding=layer.padding)
        if layer.kind == "max_pool":
            entry["pool_size"] = list(layer.pool_size)
        entry["units"] = int(np.prod(layer.output_shape))
        details["layers"].append(entry)
        answer["layers"].append({**{k: entry[k] for k in ("name", "kind", "shape", "activation")},
                                 "values": result.a.reshape(-1).tolist(),
                                 "preactivations": result.z.reshape(-1).tolist()})
    return details, answer, layers, results


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_every_explained_cell_adds_up_to_the_numpy_networks_z(
    page: Any, architecture: str
) -> None:
    # Over 60 lines: each explained cell's window, products, bias and z against NumPy's, in turn.
    pytest.importorskip("keras")
    from core import network

    details, answer, layers, results = served_form(architecture, seed=3)
    rng = np.random.default_rng(0)
    cells = []
    for index, layer in enumerate(layers):
        if layer.kind not in ("conv2d", "max_pool"):
            continue
        h, w, c = layer.output_shape
        # The corners (where "same" padding and uneven windows show) and a few cells inside.
        inside = zip(rng.integers(0, h, 3), rng.integers(0, w, 3), strict=True)
        for i, j in [(0, 0), (h - 1, w - 1), (0, w - 1), *inside]:
            channel = int(rng.integers(0, c))
            cells.append({"layer": index, "channel": channel, "row": int(i), "column": int(j)})
    open_app(page)
    shown = page.evaluate(EXPLAIN_JS, {"details": details, "result": answer, "cells": cells})

    assert shown["shapes"] == [[1, 28, 28, 1]] + [[1, *layer.output_shape] for layer in layers]
    assert shown["names"][-1] == "Output" and shown["names"][0].startswith("Conv")
    inputs = [network.as_network_input(layers, np.asarray(answer["input"]).reshape(-1)),
              *(result.a for result in results)]
    for ref, page_answer in zip(cells, shown["answers"], strict=True):
        layer = layers[ref["layer"]]
        below = inputs[ref["layer"]]
        (top, _), (left, _) = layer.windows.pads
        s_h, s_w = layer.windows.strides
        k_h, k_w = layer.windows.size
        row0, col0 = ref["row"] * s_h - top, ref["column"] * s_w - left
        field = page_answer["field"]
        placed = (field["top"], field["left"], field["height"], field["width"])
        assert placed == (row0, col0, k_h, k_w)
        fill = -np.inf if layer.kind == "max_pool" else 0.0
        window = layer.windows.pad(below, fill)[
            row0 + top : row0 + top + k_h, col0 + left : col0 + left + k_w, :
        ]
        value = results[ref["layer"]].a[ref["row"], ref["column"], ref["channel"]]
        assert page_answer["a"] == pytest.approx(float(value), abs=1e-4)
        if layer.kind == "conv2d":
            products = window * layer.weights[:, :, :, ref["channel"]]
            total = float(products.sum())
            z = float(results[ref["layer"]].z[ref["row"], ref["column"], ref["channel"]])
            first_sum, bias, shown_z = page_answer["numbers"][:3]
            assert first_sum == pytest.approx(total, abs=1e-4)
            assert bias == pytest.approx(float(layer.biases[ref["channel"]]), abs=1e-4)
            assert shown_z == pytest.approx(z, abs=1e-4)
            expected = products.transpose(2, 0, 1).ravel()
            assert page_answer["products"] == pytest.approx(expected.tolist(), abs=0.006)
            outside = (k_h * k_w - np.isfinite(layer.windows.pad(below, np.nan)[
                row0 + top : row0 + top + k_h, col0 + left : col0 + left + k_w, 0]).sum())
            assert page_answer["padded"] == outside * below.shape[2]
        else:
            channel = window[:, :, ref["channel"]]
            winner = np.unravel_index(int(np.argmax(channel)), channel.shape)
            won = {"row": row0 + int(winner[0]), "column": col0 + int(winner[1])}
            assert field["winner"] == won
            assert float(page_answer["winner"].replace("\u2212", "-")) == pytest.approx(
                float(channel.max()), abs=1e-4)
