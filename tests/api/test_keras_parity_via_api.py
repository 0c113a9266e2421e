"""Through the API: every layer's `values` (and `preactivations`) in a /predict answer equal
Keras's own intermediate outputs for the answer's `input`, within the server's float32 parity
bound, for every shipped model and a freshly built softmax model, on drawings, real MNIST digits
and random pixels."""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from app.model_registry import PARITY_TOLERANCE, PARITY_ULPS, parity_allowance
from core.network import DenseLayer

keras = pytest.importorskip("keras")

MODEL_STORE = Path(__file__).resolve().parents[2] / "model_store"
SHIPPED_MODELS = sorted(path.stem for path in MODEL_STORE.glob("*.json"))
DEFAULT_MODEL = "digits-0-1"
OTHER_MODEL = "digits-2-5-7"  # the second model of `two_model_store` (see conftest.py)
SHARED_MNIST = Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist.npz"
# Answers carry a and z rounded to 6 decimals; z itself sums float32 products in a library-
# (and CPU-) chosen order, so both are held to the server's own parity bound (1e-5 plus a few
# float32 ulps of the magnitude summed, through the activation) plus that rounding.
ANSWER_ROUNDING = 5e-7


INK = (17, 24, 39)


def scribble_png(rng: np.random.Generator) -> str:
    """A random pen path on a 280×280 canvas: anything a person might draw, as a data URL."""
    image = Image.new("RGB", (280, 280), "white")
    draw = ImageDraw.Draw(image)
    points = [tuple(rng.uniform(40, 240, size=2)) for _ in range(rng.integers(2, 7))]
    draw.line(points, fill=INK, width=int(rng.integers(8, 30)), joint="curve")
    return png_data_url(image)


def clear_digit_pngs() -> list[str]:
    zero = Image.new("RGB", (280, 280), "white")
    ImageDraw.Draw(zero).ellipse((85, 45, 195, 235), outline=INK, width=21)
    one = Image.new("RGB", (280, 280), "white")
    ImageDraw.Draw(one).line([(145, 45), (135, 235)], fill=INK, width=21)
    return [png_data_url(zero), png_data_url(one)]


def png_data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def request_bodies() -> list[dict[str, Any]]:
    rng = np.random.default_rng(17)
    bodies: list[dict[str, Any]] = [{"image": url} for url in clear_digit_pngs()]
    bodies += [{"image": scribble_png(rng)} for _ in range(12)]
    bodies += [{"pixels": rng.random((28, 28)).tolist()} for _ in range(3)]
    bodies.append({"pixels": np.ones(784).tolist()})
    if SHARED_MNIST.is_file():
        with np.load(SHARED_MNIST) as archive:
            images = archive["x_test"][:20]
        bodies += [{"pixels": (image.astype(np.float32) / 255.0).tolist()} for image in images]
    return bodies


# Every shipped model, on the session's app, and a freshly built one on a second app.
MODELS = [*SHIPPED_MODELS, OTHER_MODEL]


@pytest.fixture(scope="module")
def answers(
    client: TestClient, two_model_client: TestClient
) -> dict[str, list[dict[str, Any]]]:
    """Each model's answers to the same request bodies."""
    bodies = request_bodies()
    by_model: dict[str, list[dict[str, Any]]] = {}
    for model in MODELS:
        app = two_model_client if model == OTHER_MODEL else client
        responses = [app.post("/predict", params={"model": model}, json=b) for b in bodies]
        assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
        by_model[model] = [response.json() for response in responses]
    return by_model


@pytest.mark.parametrize("model_name", MODELS)
def test_every_layer_of_the_answer_equals_keras_on_its_input(
    model_name: str, answers: dict[str, list[dict[str, Any]]], two_model_store: Path
) -> None:
    store = two_model_store if model_name == OTHER_MODEL else MODEL_STORE
    keras_model = keras.saving.load_model(store / f"{model_name}.keras", compile=False)
    over_layers = keras.Model(
        keras_model.inputs[0], [layer.output for layer in keras_model.layers]
    )
    model_answers = answers[model_name]
    x = np.array([a["input"] for a in model_answers], dtype=np.float32).reshape(-1, 784)
    keras_a = [np.asarray(a) for a in over_layers(x, training=False)]
    previous = [x, *keras_a[:-1]]
    for index, answer in enumerate(model_answers):
        assert answer["model"] == model_name
        assert len(answer["layers"]) == len(keras_model.layers)
        for layer, keras_layer, a, a_prev in zip(
            answer["layers"], keras_model.layers, keras_a, previous, strict=True
        ):
            where = f"answer {index}, layer {layer['name']}"
            assert layer["name"] == keras_layer.name
            kernel, bias = (np.asarray(w) for w in keras_layer.get_weights())
            dense = DenseLayer(keras_layer.name, keras_layer.activation.__name__, kernel, bias)
            a_allowed = parity_allowance(dense, a_prev[index]) + ANSWER_ROUNDING
            assert np.all(np.abs(np.array(layer["values"]) - a[index]) <= a_allowed), where
            z = np.asarray(keras.ops.add(keras.ops.matmul(a_prev[index], kernel), bias))
            summed = np.abs(a_prev[index]) @ np.abs(kernel) + np.abs(bias)
            allowed = PARITY_TOLERANCE + PARITY_ULPS * np.finfo(np.float32).eps * summed
            allowed += ANSWER_ROUNDING
            assert np.all(np.abs(np.array(layer["preactivations"]) - z) <= allowed), where
        output = keras_a[-1][index]
        probabilities = np.array(list(answer["probabilities"].values()))
        expected = np.array([1 - output[0], output[0]]) if output.size == 1 else output
        assert np.all(np.abs(probabilities - expected) <= np.max(a_allowed)), index


def test_the_answers_cover_both_classes_of_the_shipped_model(
    answers: dict[str, list[dict[str, Any]]],
) -> None:
    """The inputs are varied enough to drive the network to both of its answers."""
    assert {answer["label"] for answer in answers[DEFAULT_MODEL]} == {"0", "1"}
