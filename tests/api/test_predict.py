"""POST /predict in every input form, the answer's contract, and the read-only endpoints, through
the app in-process on the shipped models (and on a store of two models). Which image formats
decode, and how, is tested with the preprocessing (tests/core); here, each way of sending one.
Over 300 lines: one small test per part of the contract, sharing the answers they check."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw
from project_paths import MODEL_STORE
from starlette.concurrency import run_in_threadpool

import app.dependencies
from app.schemas import DrawingJson, DrawingUpload

DEFAULT_MODEL = "digits-0-1"
SHIPPED_CARD = json.loads((MODEL_STORE / f"{DEFAULT_MODEL}.json").read_text(encoding="utf-8"))
SHIPPED_MODELS = sorted(path.stem for path in MODEL_STORE.glob("*.json"))
TEN_DIGITS = "digits-0-9"
SHIPPED_SHAPE = [(784, 25, "sigmoid"), (25, 15, "sigmoid"), (15, 1, "sigmoid")]

# A 280×280 canvas, dark ink (#111827) on white, strokes 7.5 % of the side (the page itself
# sends its strokes on a transparent canvas; both are tested below).
CANVAS_SIDE = 280
INK = (17, 24, 39)
STROKE_WIDTH = 21

RESPONSE_KEYS = {
    "model", "prediction", "label", "probabilities", "layers", "input",
    "in_distribution", "ood_score", "ood_threshold", "preprocessing",
}
LAYER_KEYS = {"name", "kind", "shape", "units", "activation", "values", "preactivations"}
# MNIST-form digits (n, 28, 28) float32 in [0, 1] and their labels (see conftest.py).
Digits = tuple[np.ndarray, np.ndarray]


# --- drawings and the encodings a client may send them in ------------------------------------


def draw_digit(digit: int, background: str = "white") -> Image.Image:
    """A clear 0 (an upright oval) or 1 (a slightly slanted bar) as a browser canvas draws it:
    round-capped strokes on white paper, or on a transparent canvas."""
    if background == "transparent":
        image = Image.new("RGBA", (CANVAS_SIDE, CANVAS_SIDE), (0, 0, 0, 0))
        ink: tuple[int, ...] = (*INK, 255)
    else:
        image = Image.new("RGB", (CANVAS_SIDE, CANVAS_SIDE), "white")
        ink = INK
    draw = ImageDraw.Draw(image)
    if digit == 0:
        draw.ellipse((85, 45, 195, 235), outline=ink, width=STROKE_WIDTH)
    elif digit == 1:
        ends = [(150, 45), (132, 235)]
        draw.line(ends, fill=ink, width=STROKE_WIDTH)
        radius = STROKE_WIDTH // 2
        for x, y in ends:
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=ink)
    else:
        raise ValueError(f"no drawing for {digit}")
    return image


def encoded(image: Image.Image, image_format: str) -> bytes:
    if image_format in ("JPEG", "BMP") and image.mode == "RGBA":
        image = image.convert("RGB")
    if image_format == "GIF":
        image = image.convert("RGB").convert("P", palette=Image.Palette.ADAPTIVE)
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


def data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def _json_image(image_format: str, mime: str, background: str = "white") -> RequestFor:
    def request(digit: int) -> dict[str, Any]:
        data = encoded(draw_digit(digit, background), image_format)
        return {"json": {"image": data_url(data, mime)}}

    return request


def _bare_base64(digit: int) -> dict[str, Any]:
    data = encoded(draw_digit(digit), "PNG")
    return {"json": {"image": base64.b64encode(data).decode()}}


def _multipart(image_format: str, mime: str, file_name: str) -> RequestFor:
    def request(digit: int) -> dict[str, Any]:
        data = encoded(draw_digit(digit), image_format)
        return {"files": {"file": (file_name, data, mime)}}

    return request


RequestFor = Callable[[int], dict[str, Any]]
INPUT_FORMS: dict[str, RequestFor] = {
    "png-data-url-transparent": _json_image("PNG", "image/png", "transparent"),  # the page's
    "png-data-url-white": _json_image("PNG", "image/png"),
    "png-bare-base64": _bare_base64,
    "multipart-png": _multipart("PNG", "image/png", "digit.png"),
}


def predict(client: TestClient, **request: Any) -> dict[str, Any]:
    response = client.post("/predict", **request)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


# --- input forms -----------------------------------------------------------------------------


@pytest.mark.parametrize("digit", [0, 1])
@pytest.mark.parametrize("form", INPUT_FORMS)
def test_each_input_form_reads_a_clear_drawing(
    client: TestClient, form: str, digit: int
) -> None:
    answer = predict(client, **INPUT_FORMS[form](digit))
    assert answer["prediction"] == digit
    assert answer["label"] == str(digit)
    assert answer["probabilities"][str(digit)] > 0.9


def test_the_same_drawing_gives_the_same_input_in_every_lossless_form(
    client: TestClient,
) -> None:
    inputs = [
        predict(client, **INPUT_FORMS[form](1))["input"]
        for form in ("png-data-url-white", "png-bare-base64", "multipart-png")
    ]
    assert all(other == inputs[0] for other in inputs[1:])


def test_a_large_image_is_decoded_on_a_thread_and_a_canvas_on_the_event_loop(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    handed_to_a_thread: list[object] = []

    async def recording(function: Callable[[], Any]) -> Any:
        handed_to_a_thread.append(function)
        return await run_in_threadpool(function)

    monkeypatch.setattr(app.dependencies, "run_in_threadpool", recording)
    canvas = draw_digit(1)
    large = canvas.resize((3 * CANVAS_SIDE, 3 * CANVAS_SIDE))
    assert large.width * large.height > app.dependencies.MAX_PIXELS_ON_THE_LOOP

    on_the_loop = predict(client, files={"file": ("1.png", encoded(canvas, "PNG"), "image/png")})
    assert handed_to_a_thread == []
    on_a_thread = predict(client, files={"file": ("1.png", encoded(large, "PNG"), "image/png")})
    assert len(handed_to_a_thread) == 1
    assert on_the_loop["prediction"] == on_a_thread["prediction"] == 1


@pytest.mark.parametrize("layout", ["rows", "flat"])
def test_mnist_pixels_are_classified_and_used_as_is(
    client: TestClient, digits_0_1: Digits, layout: str
) -> None:
    images, labels = digits_0_1
    for image, label in zip(images, labels, strict=True):
        pixels = image.tolist() if layout == "rows" else image.reshape(-1).tolist()
        answer = predict(client, json={"pixels": pixels})
        assert answer["prediction"] == int(label)
        np.testing.assert_array_equal(np.array(answer["input"], dtype=np.float32), image)


def test_rows_and_flat_pixels_give_the_same_answer(
    client: TestClient, digits_0_1: Digits
) -> None:
    image = digits_0_1[0][0]
    rows = predict(client, json={"pixels": image.tolist()})
    flat = predict(client, json={"pixels": image.reshape(-1).tolist()})
    assert rows == flat


# --- the answer's contract -------------------------------------------------------------------


@pytest.fixture(scope="module")
def answers(client: TestClient, digits_0_1: Digits) -> list[dict[str, Any]]:
    """Answers to drawings and pixels of both classes, for the contract checks."""
    drawn = [predict(client, **INPUT_FORMS["png-data-url-white"](digit)) for digit in (0, 1)]
    pixels = [predict(client, json={"pixels": image.tolist()}) for image in digits_0_1[0][:6]]
    return drawn + pixels


def test_answer_has_exactly_the_contract_keys(answers: list[dict[str, Any]]) -> None:
    for answer in answers:
        assert set(answer) == RESPONSE_KEYS
        assert answer["model"] == DEFAULT_MODEL
        assert type(answer["prediction"]) is int
        assert isinstance(answer["label"], str)
        # The default 0/1 model has a detector, so these are always set.
        assert isinstance(answer["in_distribution"], bool)
        for key in ("ood_score", "ood_threshold"):
            assert isinstance(answer[key], float)


def test_probabilities_have_one_key_per_class_and_sum_to_one(
    answers: list[dict[str, Any]],
) -> None:
    for answer in answers:
        probabilities = answer["probabilities"]
        assert list(probabilities) == SHIPPED_CARD["classes"]
        assert all(isinstance(p, float) and 0.0 <= p <= 1.0 for p in probabilities.values())
        assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-6)


def test_one_sigmoid_unit_is_p1_and_p0_is_its_complement(answers: list[dict[str, Any]]) -> None:
    for answer in answers:
        (output_unit,) = answer["layers"][-1]["values"]
        assert answer["probabilities"]["1"] == pytest.approx(output_unit, abs=1e-6)
        assert answer["probabilities"]["0"] == pytest.approx(1.0 - output_unit, abs=1e-6)


def test_prediction_and_label_name_the_most_probable_class(
    answers: list[dict[str, Any]],
) -> None:
    predictions = set()
    for answer in answers:
        probabilities = answer["probabilities"]
        assert answer["label"] == max(probabilities, key=probabilities.__getitem__)
        assert answer["prediction"] == int(answer["label"])
        predictions.add(answer["prediction"])
    assert predictions == {0, 1}


def test_one_layer_entry_per_dense_layer_output_last(answers: list[dict[str, Any]]) -> None:
    card_layers = SHIPPED_CARD["architecture"]["layers"]
    for answer in answers:
        layers = answer["layers"]
        assert [layer["name"] for layer in layers] == [layer["name"] for layer in card_layers]
        for layer, (_, units, activation) in zip(layers, SHIPPED_SHAPE, strict=True):
            assert set(layer) == LAYER_KEYS
            assert (layer["kind"], layer["shape"]) == ("dense", [units])
            assert layer["units"] == units == len(layer["values"]) == len(layer["preactivations"])
            assert layer["activation"] == activation


@pytest.mark.parametrize("model", SHIPPED_MODELS)
def test_the_answer_is_the_served_models_forward_pass_of_its_input(
    client: TestClient, digits_0_1: Digits, model: str
) -> None:
    """The forward pass itself is checked against Keras in tests/core/test_network_parity.py;
    here, that /predict answers with the served model's pass over the input it reports."""
    served = client.app.state.registry.models[model]
    for image in digits_0_1[0][:3]:
        answer = predict(client, params={"model": model}, json={"pixels": image.tolist()})
        expected = served.predict(np.asarray(answer["input"], dtype=np.float32).reshape(-1))
        # The numbers are the pass's float32s, each written in the fewest digits that read
        # back as the same float32: read as float32, they are equal.
        for layer, result in zip(answer["layers"], expected.layers, strict=True):
            # Feature maps (h, w, c) come flattened row by row (tests/api/test_conv_models.py).
            values, preactivations = (np.asarray(layer[key], np.float32)
                                      for key in ("values", "preactivations"))
            np.testing.assert_array_equal(values, result.a.reshape(-1))
            np.testing.assert_array_equal(preactivations, result.z.reshape(-1))
        probabilities = np.asarray(list(answer["probabilities"].values()), np.float32)
        np.testing.assert_array_equal(probabilities, expected.probabilities)


def test_input_is_28_by_28_in_unit_range(answers: list[dict[str, Any]]) -> None:
    for answer in answers:
        pixels = np.array(answer["input"], dtype=np.float64)
        assert pixels.shape == (28, 28)
        assert pixels.min() >= 0.0
        assert pixels.max() <= 1.0
        assert pixels.max() > 0.5  # the digit is there


# --- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("background", ["white", "transparent"])
def test_empty_drawing_is_422_the_drawing_is_empty(
    client: TestClient, background: str
) -> None:
    mode, paper = ("RGBA", (0, 0, 0, 0)) if background == "transparent" else ("RGB", "white")
    blank = encoded(Image.new(mode, (CANVAS_SIDE, CANVAS_SIDE), paper), "PNG")
    response = client.post("/predict", json={"image": data_url(blank, "image/png")})
    assert response.status_code == 422
    assert response.json() == {"detail": "the drawing is empty"}


# --- GET /models, /models/{name}, /healthz, / -----------------------------------------------


def test_models_lists_every_card_with_the_0_1_model_as_default(client: TestClient) -> None:
    response = client.get("/models")
    assert response.status_code == 200
    models = {model["name"]: model for model in response.json()["models"]}
    assert sorted(models) == SHIPPED_MODELS
    assert [name for name, model in models.items() if model["default"]] == [DEFAULT_MODEL]
    for name, model in models.items():
        card = json.loads((MODEL_STORE / f"{name}.json").read_text(encoding="utf-8"))
        assert model["classes"] == card["classes"]
        # The card gives a dense layer as name, units and activation, any other with its kind
        # and shape (core/model_card.py); the API gives every layer all of them.
        assert [
            (layer["name"], layer["kind"], layer["shape"], layer["activation"])
            for layer in model["layers"]
        ] == [
            (layer["name"], layer.get("kind", "dense"), layer.get("shape", [layer.get("units")]),
             layer.get("activation"))
            for layer in card["architecture"]["layers"]
        ]
        assert model["metrics"] == card["metrics"]
        assert model["batch_size"] == card["training"]["batch_size"]
    assert models[DEFAULT_MODEL]["classes"] == ["0", "1"]


@pytest.mark.skipif(TEN_DIGITS not in SHIPPED_MODELS, reason="the ten-digit model is not shipped")
def test_a_request_can_name_the_ten_digit_model(
    client: TestClient, mnist_all_digits: tuple[np.ndarray, np.ndarray]
) -> None:
    images, labels = mnist_all_digits
    right = 0
    for image, label in zip(images, labels, strict=True):
        answer = predict(client, params={"model": TEN_DIGITS}, json={"pixels": image.tolist()})
        assert answer["model"] == TEN_DIGITS
        assert list(answer["probabilities"]) == [str(digit) for digit in range(10)]
        assert sum(answer["probabilities"].values()) == pytest.approx(1.0, abs=1e-6)
        assert answer["label"] == max(answer["probabilities"], key=answer["probabilities"].get)
        assert answer["prediction"] == int(answer["label"])
        assert [layer["units"] for layer in answer["layers"]][-1] == 10
        right += answer["prediction"] == int(label)
    assert right / len(labels) >= 0.9, f"{right} of {len(labels)} digits read right"


@pytest.fixture(scope="module")
def shipped_keras_weights() -> list[tuple[np.ndarray, np.ndarray]]:
    import keras

    model = keras.saving.load_model(MODEL_STORE / f"{DEFAULT_MODEL}.keras", compile=False)
    return [tuple(layer.get_weights()) for layer in model.layers]


def test_model_detail_has_the_weights_as_inputs_by_units(
    client: TestClient,
    shipped_keras_weights: list[tuple[np.ndarray, np.ndarray]],
) -> None:
    response = client.get(f"/models/{DEFAULT_MODEL}")
    assert response.status_code == 200
    detail = response.json()
    assert detail["name"] == DEFAULT_MODEL
    assert detail["classes"] == ["0", "1"]
    assert detail["default"] is True
    assert detail["metrics"] == SHIPPED_CARD["metrics"]
    layers = detail["layers"]
    assert [(len(layer["weights"]), layer["units"], layer["activation"]) for layer in layers] == (
        SHIPPED_SHAPE
    )
    for layer, (kernel, bias) in zip(layers, shipped_keras_weights, strict=True):
        weights = np.array(layer["weights"])
        assert weights.shape == kernel.shape == (len(weights), layer["units"])
        np.testing.assert_allclose(weights, kernel, atol=1e-5, rtol=0)
        np.testing.assert_allclose(np.array(layer["biases"]), bias, atol=1e-5, rtol=0)


def test_healthz_is_ok(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_openapi_lists_every_endpoint(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    expected = {
        "/predict": "post",
        "/models": "get",
        "/models/{name}": "get",
        "/healthz": "get",
    }
    for path, method in expected.items():
        assert method in paths.get(path, {}), f"{method.upper()} {path} is not documented"


def test_openapi_documents_both_predict_bodies_from_the_request_models(
    client: TestClient,
) -> None:
    predict_doc = client.get("/openapi.json").json()["paths"]["/predict"]["post"]
    content = predict_doc["requestBody"]["content"]
    assert content["application/json"]["schema"] == DrawingJson.model_json_schema()
    assert content["multipart/form-data"]["schema"] == DrawingUpload.model_json_schema()
    assert {"200", "404", "413", "415", "422"} <= set(predict_doc["responses"])


@pytest.mark.parametrize("model", [DrawingJson, DrawingUpload], ids=["json", "multipart"])
def test_every_example_in_the_schema_is_answered_200(client: TestClient, model: Any) -> None:
    examples = model.model_json_schema()["examples"]
    assert examples
    for example in examples:
        if model is DrawingUpload:  # the example file is text whose bytes are the image
            answer = predict(client, files={"file": ("example", example["file"].encode())})
        else:
            answer = predict(client, json=example)
        assert answer["prediction"] == 1
        assert answer["in_distribution"] is True


# --- a store of several models ---------------------------------------------------------------

OTHER_MODEL = "digits-2-5-7"  # the second model of `two_model_client` (see conftest.py)
OTHER_CLASSES = ["2", "5", "7"]


def test_a_model_added_to_the_store_is_listed_and_not_default(
    two_model_client: TestClient,
) -> None:
    models = two_model_client.get("/models").json()["models"]
    assert {model["name"]: model["default"] for model in models} == {
        DEFAULT_MODEL: True,
        OTHER_MODEL: False,
    }
    other = next(model for model in models if model["name"] == OTHER_MODEL)
    assert other["classes"] == OTHER_CLASSES


def test_a_request_can_name_another_model(two_model_client: TestClient) -> None:
    request = INPUT_FORMS["png-data-url-white"](1)
    answer = predict(two_model_client, params={"model": OTHER_MODEL}, **request)
    default_answer = predict(two_model_client, **request)
    assert answer["model"] == OTHER_MODEL
    assert list(answer["probabilities"]) == OTHER_CLASSES
    assert sum(answer["probabilities"].values()) == pytest.approx(1.0, abs=1e-6)
    assert answer["prediction"] == int(answer["label"])  # the digit, not the class index
    assert answer["label"] in OTHER_CLASSES
    assert [layer["units"] for layer in answer["layers"]] == [12, 3]
    assert answer["layers"][-1]["values"] == pytest.approx(
        list(answer["probabilities"].values()), abs=1e-6
    )
    assert default_answer["model"] == DEFAULT_MODEL
    assert default_answer["input"] == answer["input"]


def test_other_model_detail_is_not_default(two_model_client: TestClient) -> None:
    detail = two_model_client.get(f"/models/{OTHER_MODEL}").json()
    assert detail["default"] is False
    assert [np.array(layer["weights"]).shape for layer in detail["layers"]] == [(784, 12), (12, 3)]
