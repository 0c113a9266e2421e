"""POST /gradients: the backward pass through the API, in-process (TestClient on the real app and
the shipped models).

What the answer must be: /predict's answer plus the loss, each layer's δ, ∂L/∂x and the step,
as core's backward pass gives them for the served model (whose maths tests/core checks against
tf.GradientTape), and ∂L/∂W = a_prevᵀ·δ only when asked. Every input form /predict takes works;
bad targets, learning rates and inputs get a 4xx whose detail says what to fix; /docs's examples
succeed.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw
from project_paths import MODEL_STORE, mnist_test_split

from core.network import after_one_step, backward, forward

SHIPPED_MODELS = sorted(path.stem for path in MODEL_STORE.glob("*.json"))
PREDICT_KEYS = {
    "model",
    "prediction",
    "label",
    "probabilities",
    "layers",
    "input",
    "in_distribution",
    "ood_score",
    "ood_threshold",
    "preprocessing",
}
BACKWARD_KEYS = {"target", "loss", "input_gradient", "after_step"}


def _mnist_digits() -> dict[int, np.ndarray]:
    """One MNIST test digit of each kind (28×28 in [0, 1]), or drawn 0 and 1 without MNIST."""
    if (mnist := mnist_test_split()) is not None:
        images, labels = mnist
        return {
            digit: images[np.flatnonzero(labels == digit)[0]].astype(np.float32) / 255.0
            for digit in range(10)
        }
    zero, one = np.zeros((28, 28), np.float32), np.zeros((28, 28), np.float32)
    zero[6:22, 8:20] = 1.0
    zero[9:19, 11:17] = 0.0
    one[5:23, 13:16] = 1.0
    return {0: zero, 1: one}


DIGITS = _mnist_digits()


def canvas_png(digit: int) -> bytes:
    """A 280×280 canvas with a 0 or a 1 drawn in dark ink on white, as a PNG file."""
    image = Image.new("RGB", (280, 280), "white")
    draw = ImageDraw.Draw(image)
    if digit == 0:
        draw.ellipse((85, 45, 195, 235), outline=(17, 24, 39), width=21)
    else:
        draw.line([(150, 45), (132, 235)], fill=(17, 24, 39), width=21)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def post(client: TestClient, body: dict[str, Any], query: str = "") -> Any:
    return client.post(f"/gradients{query}", json=body)


def gradients_of(
    client: TestClient, digit: int, target: str, model: str = "digits-0-1", **extra: Any
) -> dict[str, Any]:
    body = {"pixels": DIGITS[digit].tolist(), "target": target, **extra}
    response = post(client, body, f"?model={model}")
    assert response.status_code == 200, response.text
    return response.json()


# --- the answer ------------------------------------------------------------------------------


def test_answer_holds_what_predict_answers_plus_the_backward_pass(client: TestClient) -> None:
    answer = gradients_of(client, 1, "0")
    assert set(answer) == PREDICT_KEYS | BACKWARD_KEYS
    predicted = client.post("/predict", json={"pixels": DIGITS[1].tolist()}).json()
    for key in PREDICT_KEYS - {"layers"}:
        assert answer[key] == predicted[key], key
    for ours, theirs in zip(answer["layers"], predicted["layers"], strict=True):
        assert {key: ours[key] for key in theirs} == theirs
        assert len(ours["delta"]) == ours["units"]
        assert "weight_gradient" not in ours
    assert answer["target"] == "0"
    assert np.asarray(answer["input_gradient"]).shape == (28, 28)
    assert answer["after_step"]["learning_rate"] == 0.5
    assert set(answer["after_step"]) == {
        "learning_rate",
        "loss",
        "probabilities",
        "prediction",
        "label",
    }


@pytest.mark.parametrize("model", SHIPPED_MODELS)
def test_the_answer_is_the_served_models_backward_pass_of_its_input(
    client: TestClient, model: str
) -> None:
    """The maths (against tf.GradientTape, a step leaving the model as it was, confident
    mistakes) is tested in tests/core/test_backward_pass.py; here, that /gradients answers
    with core's backward pass of the served model for the input it reports."""
    served = client.app.state.registry.models[model]
    target = len(served.classes) - 1
    answer = gradients_of(client, 0, served.classes[target], model, learning_rate=1.5)
    x = np.asarray(answer["input"], dtype=np.float32).reshape(-1)
    expected = backward(served.layers, x, forward(served.layers, x), target)
    after = after_one_step(served.layers, x, expected, target, 1.5)
    assert answer["loss"] == expected.loss
    # The float32s of the pass, each in the fewest digits that read back as the same float32.
    for layer, delta in zip(answer["layers"], expected.deltas, strict=True):
        np.testing.assert_array_equal(  # maps row by row
            np.asarray(layer["delta"], np.float32), delta.reshape(-1)
        )
    np.testing.assert_array_equal(
        np.asarray(answer["input_gradient"], np.float32).reshape(-1), expected.input_gradient
    )
    assert answer["after_step"]["loss"] == after.loss


def test_weight_gradients_are_sent_only_when_asked(client: TestClient) -> None:
    answer = gradients_of(client, 0, "1")
    assert all("weight_gradient" not in layer for layer in answer["layers"])
    body = {"pixels": DIGITS[0].tolist(), "target": "1"}
    asked = post(client, body, "?weights=true").json()
    previous = [np.asarray(asked["input"]).reshape(-1)] + [
        np.asarray(layer["values"]) for layer in asked["layers"][:-1]
    ]
    for layer, a_prev in zip(asked["layers"], previous, strict=True):
        gradient = np.asarray(layer["weight_gradient"])
        assert gradient.shape == (a_prev.size, layer["units"])
        np.testing.assert_allclose(gradient, np.outer(a_prev, layer["delta"]), atol=1e-7)


# --- one step --------------------------------------------------------------------------------


def test_a_large_step_can_change_the_prediction(client: TestClient) -> None:
    after = gradients_of(client, 1, "0", learning_rate=10)["after_step"]
    assert after["learning_rate"] == 10
    assert (after["prediction"], after["label"]) == (0, "0")


# --- input forms -----------------------------------------------------------------------------


def test_canvas_data_url(client: TestClient) -> None:
    image = "data:image/png;base64," + base64.b64encode(canvas_png(1)).decode()
    answer = post(client, {"image": image, "target": "0"}).json()
    assert answer["label"] == "1" and answer["target"] == "0"
    assert answer["loss"] > 1


def test_multipart_file_with_target_and_learning_rate_as_form_fields(client: TestClient) -> None:
    response = client.post(
        "/gradients",
        files={"file": ("one.png", canvas_png(1), "image/png")},
        data={"target": "0", "learning_rate": "0.25"},
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["target"] == "0"
    assert answer["after_step"]["learning_rate"] == 0.25


def test_ten_digit_model_takes_any_digit_as_target(client: TestClient) -> None:
    answer = gradients_of(client, 0, "9", "digits-0-9")
    assert answer["model"] == "digits-0-9" and answer["target"] == "9"
    units = [layer["units"] for layer in client.get("/models/digits-0-9").json()["layers"]]
    assert units[-1] == 10
    assert [len(layer["delta"]) for layer in answer["layers"]] == units
    assert answer["in_distribution"] is None


# --- what is refused -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        ({}, "'target' is missing"),
        ({"target": "7"}, 'choose one of "0", "1"'),
        ({"target": ""}, "must name one of the model's classes"),
        ({"target": None}, "must name one of the model's classes"),
        ({"target": True}, "must name one of the model's classes"),
        ({"target": 0}, 'as a string, e.g. "0", not 0'),
        ({"target": "1", "learning_rate": 0}, "learning_rate: must be a number > 0 and ≤ 10"),
        ({"target": "1", "learning_rate": -0.5}, "learning_rate: must be a number > 0"),
        ({"target": "1", "learning_rate": 10.5}, "≤ 10"),
        ({"target": "1", "learning_rate": "fast"}, "not 'fast'"),
        ({"target": "1", "learning_rate": None}, "learning_rate: must be a number"),
        ({"target": "1", "pixels": [[0.5] * 28] * 27}, "pixels"),
        ({"target": "1", "image": "not base64!"}, "base64"),
        ({"target": "1", "colour": "red"}, "colour"),
    ],
)
def test_bad_request_gets_422_saying_what_to_fix(
    client: TestClient, extra: dict[str, Any], says: str
) -> None:
    body = {"pixels": DIGITS[1].tolist(), **extra}
    if "image" in extra:
        del body["pixels"]
    response = post(client, body)
    assert response.status_code == 422
    assert says in response.json()["detail"]


def test_bad_learning_rate_in_a_form_field_gets_422(client: TestClient) -> None:
    response = client.post(
        "/gradients",
        files={"file": ("one.png", canvas_png(1), "image/png")},
        data={"target": "0", "learning_rate": "inf"},
    )
    assert response.status_code == 422
    assert "learning_rate: must be a number > 0 and ≤ 10" in response.json()["detail"]


def test_target_of_another_model_names_this_models_classes(client: TestClient) -> None:
    response = post(client, {"pixels": DIGITS[1].tolist(), "target": "one"}, "?model=digits-0-9")
    assert response.status_code == 422
    assert "digits-0-9" in response.json()["detail"] and '"9"' in response.json()["detail"]


def test_unknown_model_gets_404(client: TestClient) -> None:
    response = post(client, {"pixels": DIGITS[1].tolist(), "target": "1"}, "?model=nope")
    assert response.status_code == 404
    assert "digits-0-1" in response.json()["detail"]


def test_file_that_is_not_an_image_gets_415(client: TestClient) -> None:
    response = client.post(
        "/gradients", files={"file": ("notes.txt", b"hello", "text/plain")}, data={"target": "1"}
    )
    assert response.status_code == 415


def test_plain_text_body_gets_415_naming_what_to_send(client: TestClient) -> None:
    response = client.post("/gradients", content=b"1", headers={"content-type": "text/plain"})
    assert response.status_code == 415
    assert "target" in response.json()["detail"]


def test_empty_canvas_gets_422(client: TestClient) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (280, 280), "white").save(buffer, format="PNG")
    image = base64.b64encode(buffer.getvalue()).decode()
    response = post(client, {"image": image, "target": "1"})
    assert response.status_code == 422
    assert "empty" in response.json()["detail"]


# --- /docs -----------------------------------------------------------------------------------


def _documented_examples(client: TestClient) -> dict[str, list[dict[str, Any]]]:
    body = client.get("/openapi.json").json()["paths"]["/gradients"]["post"]["requestBody"]
    return {kind: content["schema"]["examples"] for kind, content in body["content"].items()}


def test_docs_describe_target_and_learning_rate(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/gradients"]["post"]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    assert "target" in schema["required"]
    assert schema["properties"]["learning_rate"]["maximum"] == 10
    (weights,) = [param for param in operation["parameters"] if param["name"] == "weights"]
    assert weights["in"] == "query" and weights["schema"]["type"] == "boolean"


def test_every_json_example_in_the_docs_succeeds(client: TestClient) -> None:
    examples = _documented_examples(client)["application/json"]
    assert len(examples) >= 3
    for example in examples:
        response = post(client, example)
        assert response.status_code == 200, (example, response.text)


def test_the_multipart_example_in_the_docs_succeeds(client: TestClient) -> None:
    (example,) = _documented_examples(client)["multipart/form-data"]
    fields = {name: str(value) for name, value in example.items() if name != "file"}
    response = client.post(
        "/gradients", files={"file": ("example", example["file"].encode("ascii"))}, data=fields
    )
    assert response.status_code == 200, response.text
