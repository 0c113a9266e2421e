"""POST /predict?steps=true and the preprocessing switches `fit` and `centre`: the drawing at
every step as a PNG with its shape, dtype and note, ending in the answer's `input`; the
switches as query parameters or body fields; which steps ran, in every answer; and bad values
refused with a 422 that names the field."""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

MIDDLE = 13.5  # the 28×28 field's middle, in pixel-centre coordinates
DEFAULT_STEPS = ["canvas", "ink", "box", "scaled", "centred", "input"]


def _small_7_in_a_corner() -> bytes:
    """A 7 about 60 px tall near the top-left of a transparent 280 px canvas: the page's PNG."""
    image = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    ImageDraw.Draw(image).line(
        [(22, 24), (72, 24), (40, 84)], fill=(20, 20, 20, 255), width=8, joint="curve"
    )
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def _predict(client: TestClient, query: str = "", **body: Any) -> dict[str, Any]:
    answer = client.post(
        f"/predict{query}", json={"image": _data_url(_small_7_in_a_corner()), **body}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _centre_of_mass(pixels: list[list[float]]) -> tuple[float, float]:
    values = np.asarray(pixels, dtype=np.float64)
    total = values.sum()
    return (
        float(values.sum(axis=1) @ np.arange(28)) / total,
        float(values.sum(axis=0) @ np.arange(28)) / total,
    )


def _png(data_url: str) -> Image.Image:
    header, _, payload = data_url.partition(",")
    assert header == "data:image/png;base64"
    image = Image.open(io.BytesIO(base64.b64decode(payload)))
    assert image.format == "PNG"
    return image


def test_without_steps_the_answer_says_which_steps_ran_and_has_no_images(
    client: TestClient,
) -> None:
    answer = _predict(client)
    assert "steps" not in answer
    assert answer["preprocessing"] == {"fit": True, "centre": True, "ran": DEFAULT_STEPS}


def test_steps_go_from_the_canvas_to_the_networks_input(client: TestClient) -> None:
    answer = _predict(client, "?steps=true")
    steps = answer["steps"]
    assert [step["name"] for step in steps] == DEFAULT_STEPS
    assert set(steps[0]) == {"name", "shape", "dtype", "image", "note"}
    assert (steps[0]["shape"], steps[0]["dtype"]) == ([280, 280, 4], "uint8")
    assert (steps[1]["shape"], steps[1]["dtype"]) == ([280, 280], "uint8")
    assert steps[3]["shape"][0] == 20  # the 7 is taller than wide: its height is 20 px
    assert (steps[4]["shape"], steps[4]["dtype"]) == ([28, 28], "float32")
    assert (steps[-1]["shape"], steps[-1]["dtype"]) == ([1, 784], "float32")
    for step in steps:
        assert step["note"] and "\n" not in step["note"]
        image = _png(step["image"])
        shown = step["shape"] if step["name"] != "input" else [28, 28]
        assert [image.height, image.width] == shown[:2]


def test_the_last_step_is_the_answers_input(client: TestClient) -> None:
    answer = _predict(client, "?steps=true")
    shown = np.asarray(_png(answer["steps"][-1]["image"]).convert("L"), dtype=np.float64)
    np.testing.assert_allclose(shown / 255.0, answer["input"], atol=0.5 / 255 + 1e-6)
    centred, network_input = (_png(step["image"]) for step in answer["steps"][-2:])
    np.testing.assert_array_equal(np.asarray(centred), np.asarray(network_input))


def test_with_both_switches_on_the_input_is_centred(client: TestClient) -> None:
    answer = _predict(client, "?fit=true&centre=true")
    for centre in _centre_of_mass(answer["input"]):
        assert abs(centre - MIDDLE) <= 1.0


def test_with_both_switches_off_the_input_stays_off_centre(client: TestClient) -> None:
    answer = _predict(client, "?fit=false&centre=false&steps=true")
    assert answer["preprocessing"] == {
        "fit": False,
        "centre": False,
        "ran": ["canvas", "ink", "squashed", "input"],
    }
    row, column = _centre_of_mass(answer["input"])
    assert row < 8 and column < 8  # the 7 sits in the canvas's top-left (its 2–9 of 28)
    assert answer["steps"][-1]["shape"] == [1, 784]


@pytest.mark.parametrize(
    ("switches", "ran"),
    [
        ("fit=false", ["canvas", "ink", "squashed", "centred", "input"]),
        ("centre=false", ["canvas", "ink", "box", "scaled", "placed", "input"]),
    ],
)
def test_each_switch_alone_skips_its_step(
    client: TestClient, switches: str, ran: list[str]
) -> None:
    assert _predict(client, f"?{switches}")["preprocessing"]["ran"] == ran


def test_the_switches_work_as_json_fields(client: TestClient) -> None:
    by_query = _predict(client, "?fit=false&centre=false")
    by_body = _predict(client, fit=False, centre=False)
    assert by_body["preprocessing"] == by_query["preprocessing"]
    assert by_body["input"] == by_query["input"]


def test_the_switches_work_as_form_fields(client: TestClient) -> None:
    answer = client.post(
        "/predict",
        files={"file": ("seven.png", _small_7_in_a_corner(), "image/png")},
        data={"fit": "false", "centre": "false", "steps": "true"},
    )
    assert answer.status_code == 200, answer.text
    assert [step["name"] for step in answer.json()["steps"]] == [
        "canvas", "ink", "squashed", "input"
    ]


def test_a_switch_given_twice_alike_is_fine_and_differently_is_refused(
    client: TestClient,
) -> None:
    assert _predict(client, "?fit=false", fit=False)["preprocessing"]["fit"] is False
    answer = client.post(
        "/predict?fit=false", json={"image": _data_url(_small_7_in_a_corner()), "fit": True}
    )
    assert answer.status_code == 422
    assert answer.json()["detail"] == (
        "'fit' is given twice, false in the query and true in the body: give it once"
    )


def test_pixels_go_straight_in_whatever_the_switches(client: TestClient) -> None:
    pixels = [[1.0 if 12 <= c <= 15 and 4 <= r <= 23 else 0.0 for c in range(28)]
              for r in range(28)]
    answer = client.post("/predict?steps=true&fit=false", json={"pixels": pixels})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["preprocessing"] == {"fit": False, "centre": False, "ran": ["pixels", "input"]}
    assert [step["shape"] for step in body["steps"]] == [[28, 28], [1, 784]]
    assert body["input"] == pixels


def test_gradients_use_the_same_switches(client: TestClient) -> None:
    predicted = _predict(client, "?fit=false&centre=false")
    answer = client.post(
        "/gradients?fit=false&centre=false",
        json={"image": _data_url(_small_7_in_a_corner()), "target": "1"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["input"] == predicted["input"]
    assert answer.json()["preprocessing"] == predicted["preprocessing"]
    assert "steps" not in answer.json()


@pytest.mark.parametrize(
    ("query", "body", "field"),
    [
        ("?steps=2", {}, "steps"),
        ("?fit=maybe", {}, "fit"),
        ("?centre=" + "9" * 5000, {}, "centre"),
        ("?steps=", {}, "steps"),
        ("?fit=nan", {}, "fit"),
        ("", {"fit": "maybe"}, "fit"),
        ("", {"steps": [True]}, "steps"),
        ("", {"centre": {"on": True}}, "centre"),
        ("", {"fit": 1e308}, "fit"),
        ("", {"steps": -1}, "steps"),
        ("", {"steps": None}, "steps"),
    ],
)
def test_a_switch_that_is_not_true_or_false_is_refused_naming_it(
    client: TestClient, query: str, body: dict[str, Any], field: str
) -> None:
    answer = client.post(
        f"/predict{query}", json={"image": _data_url(_small_7_in_a_corner()), **body}
    )
    assert answer.status_code == 422, answer.text
    assert field in answer.json()["detail"]
    assert client.get("/healthz").status_code == 200


@pytest.mark.parametrize("value", ["maybe", "", "2", "x" * 10000])
def test_a_form_switch_that_is_not_true_or_false_is_refused_naming_it(
    client: TestClient, value: str
) -> None:
    answer = client.post(
        "/predict",
        files={"file": ("seven.png", _small_7_in_a_corner(), "image/png")},
        data={"steps": value},
    )
    assert answer.status_code == 422, answer.text
    assert "steps" in answer.json()["detail"]
