"""POST /gradients: the backward pass through the API, in-process (TestClient on the real app and
the shipped models).

What the answer must be: /predict's answer plus the loss, each layer's δ, ∂L/∂x and the step,
agreeing with tf.GradientTape on the loaded Keras model within 1e-5, and consistent with the
numbers it carries (δ_out = a − y, ∂L/∂x = δ₁·W₁ᵀ with GET /models/{name}'s weights, ∂L/∂W =
a_prevᵀ·δ). The served model never changes. Every input form /predict takes works; bad targets,
learning rates and inputs get a 4xx whose detail says what to fix; /docs's examples succeed.
"""

from __future__ import annotations

import base64
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw

from app.main import create_app
from app.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL_STORE = REPO_ROOT / "model_store"
SHIPPED_MODELS = sorted(path.stem for path in MODEL_STORE.glob("*.json"))
SHARED_MNIST = REPO_ROOT.parent / "shared" / "data" / "mnist.npz"
TOLERANCE = 1e-5
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
}
BACKWARD_KEYS = {"target", "loss", "input_gradient", "after_step"}


def _mnist_digits() -> dict[int, np.ndarray]:
    """One MNIST test digit of each kind (28×28 in [0, 1]), or drawn 0 and 1 without MNIST."""
    if SHARED_MNIST.is_file():
        with np.load(SHARED_MNIST) as archive:
            images, labels = archive["x_test"], archive["y_test"]
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


def assert_agrees_with_gradient_tape(
    answer: dict[str, Any], keras_model: Any, classes: list[str], target: str, learning_rate: float
) -> None:
    """The answer's loss, every δ, ∂L/∂x and the after-step loss against tf.GradientTape."""
    from gradient_tape import LOSS_RELATIVE, keras_loss_after_step, tape_gradients

    index = classes.index(target)
    y = np.array([float(index)]) if len(classes) == 2 else np.eye(len(classes))[index]
    y = y.astype(np.float32)
    x = np.asarray(answer["input"], dtype=np.float32).reshape(-1)
    expected = tape_gradients(keras_model, x, y)
    assert answer["loss"] == pytest.approx(expected.loss, abs=TOLERANCE, rel=LOSS_RELATIVE)
    for layer, delta in zip(answer["layers"], expected.deltas, strict=True):
        np.testing.assert_allclose(layer["delta"], delta, atol=TOLERANCE, rtol=0)
    np.testing.assert_allclose(
        np.asarray(answer["input_gradient"]).reshape(-1),
        expected.input_gradient,
        atol=TOLERANCE,
        rtol=0,
    )
    after = keras_loss_after_step(keras_model, x, y, learning_rate)
    assert answer["after_step"]["loss"] == pytest.approx(after, abs=TOLERANCE, rel=LOSS_RELATIVE)


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
def test_answer_agrees_with_gradient_tape(client: TestClient, model: str) -> None:

    keras = pytest.importorskip("keras")
    keras_model = keras.saving.load_model(MODEL_STORE / f"{model}.keras", compile=False)
    classes = json.loads((MODEL_STORE / f"{model}.json").read_text())["classes"]
    for digit, target in [(0, classes[-1]), (1, classes[0]), (1, classes[1])]:
        answer = gradients_of(client, digit, target, model, learning_rate=1.5)
        assert_agrees_with_gradient_tape(answer, keras_model, classes, target, 1.5)


# (hidden units, hidden activation, classes): a softmax output for three or more classes, one
# sigmoid unit for two, as training makes them.
RANDOM_ARCHITECTURES = [((32, 16), "relu", 3), ((20,), "tanh", 2), ((12, 8), "sigmoid", 10)]


@pytest.mark.parametrize(
    "architecture", RANDOM_ARCHITECTURES, ids=lambda arch: f"{arch[1]}-{arch[2]}-classes"
)
def test_random_model_served_from_a_store_agrees_with_gradient_tape(
    architecture: tuple[tuple[int, ...], str, int], tmp_path: Path
) -> None:
    keras = pytest.importorskip("keras")
    from training.model_store_writer import save_model_with_card

    hidden, activation, count = architecture
    keras.utils.set_random_seed(count)
    layers = [keras.Input(shape=(784,))]
    layers += [keras.layers.Dense(size, activation=activation) for size in hidden]
    layers.append(
        keras.layers.Dense(
            1 if count == 2 else count, activation="sigmoid" if count == 2 else "softmax"
        )
    )
    model = keras.Sequential(layers)
    classes = [str(digit) for digit in range(count)]
    save_model_with_card(
        model, {"name": "random", "classes": classes, "metrics": {}}, tmp_path, "random"
    )
    settings = Settings(model_dir=tmp_path, default_model="random")
    with TestClient(create_app(settings)) as random_client:
        for target in (classes[0], classes[-1]):
            body = {"pixels": DIGITS[0].tolist(), "target": target, "learning_rate": 0.3}
            answer = post(random_client, body).json()
            assert_agrees_with_gradient_tape(answer, model, classes, target, 0.3)


def test_output_delta_is_the_output_minus_the_target(client: TestClient) -> None:
    for target, y in (("0", 0.0), ("1", 1.0)):
        output = gradients_of(client, 1, target)["layers"][-1]
        assert output["delta"][0] == pytest.approx(output["values"][0] - y, abs=1e-7)
    ten = gradients_of(client, 7, "3", "digits-0-9")["layers"][-1] if 7 in DIGITS else None
    if ten is not None:
        expected = np.asarray(ten["values"]) - np.eye(10)[3]
        np.testing.assert_allclose(ten["delta"], expected, atol=1e-7)


def test_loss_is_the_cross_entropy_of_the_target_probability(client: TestClient) -> None:
    answer = gradients_of(client, 0, "0")
    probability = answer["probabilities"]["0"]
    # The loss is computed stably from z; the probability sent is a float32 rounded near 1
    # (≈0.9998 here), where one ulp is 2⁻²³, so −log p recomputed from it is off by up to
    # (a couple of ulps)/p: far more than 1e-4 of a loss of ~1.6e-4.
    float32_rounding = 2 * float(np.finfo(np.float32).eps) / probability
    assert answer["loss"] == pytest.approx(-math.log(probability), rel=1e-4, abs=float32_rounding)


def test_input_gradient_is_the_first_delta_through_the_first_weights(client: TestClient) -> None:
    answer = gradients_of(client, 0, "1")
    weights = np.asarray(client.get("/models/digits-0-1").json()["layers"][0]["weights"])
    expected = np.asarray(answer["layers"][0]["delta"]) @ weights.T
    np.testing.assert_allclose(
        np.asarray(answer["input_gradient"]).reshape(-1), expected, atol=1e-6, rtol=0
    )


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


def test_a_step_towards_the_wrong_class_lowers_its_loss(client: TestClient) -> None:
    answer = gradients_of(client, 1, "0", learning_rate=0.1)
    after = answer["after_step"]
    assert after["loss"] < answer["loss"]
    assert after["probabilities"]["0"] > answer["probabilities"]["0"]
    assert sum(after["probabilities"].values()) == pytest.approx(1.0, abs=1e-6)


def test_a_large_step_can_change_the_prediction(client: TestClient) -> None:
    after = gradients_of(client, 1, "0", learning_rate=10)["after_step"]
    assert after["learning_rate"] == 10
    assert (after["prediction"], after["label"]) == (0, "0")


def test_the_served_model_is_unchanged_by_steps(client: TestClient) -> None:
    body = {"pixels": DIGITS[0].tolist()}
    before = client.post("/predict", json=body).json()
    weights_before = client.get("/models/digits-0-1").json()
    for target in ("1", "0", "1"):
        gradients_of(client, 0, target, learning_rate=10)
    assert client.post("/predict", json=body).json() == before
    assert client.get("/models/digits-0-1").json() == weights_before


def test_each_step_starts_from_the_trained_model(client: TestClient) -> None:
    first = gradients_of(client, 1, "0", learning_rate=3)
    second = gradients_of(client, 1, "0", learning_rate=3)
    assert second == first


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


def test_confidently_wrong_answer_gives_a_large_finite_loss(client: TestClient) -> None:
    """A thick bar is a 1 beyond doubt (the output's z is near its ceiling of about 7.9, set by
    the saturated hidden units): asked for a 0, the loss is large but finite (extreme z are
    tested in tests/core/test_backward_pass.py)."""
    bar = np.zeros((28, 28))
    bar[:, 11:17] = 1.0
    answer = post(client, {"pixels": bar.tolist(), "target": "0"}).json()
    assert answer["label"] == "1"
    assert math.isfinite(answer["loss"]) and answer["loss"] > 7
    assert all(math.isfinite(value) for row in answer["input_gradient"] for value in row)


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
