"""POST /adversarial: fooling the served network, in-process (TestClient on the real app and the
shipped models).

The issue's measure, on real MNIST test digits (skipped without MNIST): the attack reaches the
target for most digits, never changes a pixel by more than ε nor leaves [0, 1], and /predict of
the image it returns says what it said. Every one of the 100 digits per model goes through the
endpoint (about 10 to 40 ms each). Then: the trace is deterministic, every input form /predict
takes works, and bad targets, ε and steps get a 422 naming the valid values.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw
from project_paths import mnist_test_split_or_skip

from core.adversarial import projected_gradient_descent

EPSILON = 0.25


def attack(client: TestClient, pixels: np.ndarray, target: str, model: str = "digits-0-1",
           **options: Any) -> dict[str, Any]:
    body = {"pixels": pixels.tolist(), "target": target, **options}
    response = client.post(f"/adversarial?model={model}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def first_test_digits(digit: int, count: int) -> np.ndarray:
    images, labels = mnist_test_split_or_skip()
    return images[np.flatnonzero(labels == digit)[:count]].astype(np.float32) / 255.0


def check_the_answers(client: TestClient, answers: list[dict[str, Any]], model: str) -> None:
    """Within ε, inside [0, 1], and /predict of each changed image says what the answer says."""
    for answer in answers:
        image, drawing = np.asarray(answer["image"]), np.asarray(answer["input"])
        assert image.shape == (28, 28)
        assert image.min() >= 0.0 and image.max() <= 1.0
        assert answer["linf"] <= EPSILON
        assert np.abs(image - drawing).max() == answer["linf"]
        assert answer["reached"] == (answer["label"] == answer["target"])
        predicted = client.post(f"/predict?model={model}", json={"pixels": answer["image"]})
        assert predicted.json()["label"] == answer["label"]
        # The same float32 numbers: /predict writes each in the fewest digits that read back as
        # that float32 (app/answers.py), /adversarial in float64's 17 digits.
        assert as_float32(predicted.json()["probabilities"]) == as_float32(answer["probabilities"])


def as_float32(probabilities: dict[str, float]) -> dict[str, np.float32]:
    return {name: np.float32(p) for name, p in probabilities.items()}


# --- the measure: 100 MNIST test digits per model ---------------------------------------
# Slow (pyproject.toml's rule): 100 attacks per model through the endpoint take seconds of CPU.
# test_the_answer_is_cores_attack_on_the_served_model below keeps the endpoint in test-fast.


@pytest.fixture(scope="module")
def zeros_fooled_into_ones(client: TestClient) -> list[dict[str, Any]]:
    return [attack(client, zero, "1", epsilon=EPSILON) for zero in first_test_digits(0, 100)]


@pytest.mark.slow
def test_zeros_made_ones_stay_within_epsilon_and_predict_agrees(
    client: TestClient, zeros_fooled_into_ones: list[dict[str, Any]]
) -> None:
    check_the_answers(client, zeros_fooled_into_ones, "digits-0-1")


@pytest.mark.slow
def test_the_0_1_model_says_1_for_at_least_90_of_100_zeros(
    zeros_fooled_into_ones: list[dict[str, Any]],
) -> None:
    """Measured: 98 (docs/models.md: how robust a 0/1 model is depends on its seed)."""
    assert sum(answer["reached"] for answer in zeros_fooled_into_ones) >= 90


def missed_zeros(zeros_fooled_into_ones: list[dict[str, Any]]) -> np.ndarray:
    return np.asarray(
        [answer["input"] for answer in zeros_fooled_into_ones if not answer["reached"]],
        dtype=np.float64,
    ).reshape(-1, 784)


@pytest.mark.slow
def test_zeros_the_attack_misses_resist_a_stronger_attack_too(
    client: TestClient, zeros_fooled_into_ones: list[dict[str, Any]]
) -> None:
    """The endpoint is not the weak link: 100 steps from eight random starts in the ε-box (a
    stronger attack, Madry et al.) reach none of the 0s its two starts of 20 steps leave a 0."""
    served = client.app.state.registry.models["digits-0-1"]
    missed = missed_zeros(zeros_fooled_into_ones).astype(np.float32)
    assert len(missed) <= 10
    rng = np.random.default_rng(0)
    for _ in range(8):
        start = missed + rng.uniform(-EPSILON, EPSILON, missed.shape)
        stronger = projected_gradient_descent(served.layers, missed, 1, 2, EPSILON, 100, start)
        assert np.abs(stronger.image - missed).max() <= EPSILON
        assert not any(served.predict(changed).index == 1 for changed in stronger.image)


@pytest.fixture(scope="module")
def digits_fooled_into_the_next(client: TestClient) -> list[dict[str, Any]]:
    """Ten of each kind, each asked to become the next digit (9 becomes 0)."""
    return [
        attack(client, image, str((digit + 1) % 10), "digits-0-9", epsilon=EPSILON)
        for digit in range(10)
        for image in first_test_digits(digit, 10)
    ]


@pytest.mark.slow
def test_digits_made_the_next_stay_within_epsilon_and_predict_agrees(
    client: TestClient, digits_fooled_into_the_next: list[dict[str, Any]]
) -> None:
    check_the_answers(client, digits_fooled_into_the_next, "digits-0-9")


@pytest.mark.slow
def test_the_ten_digit_model_says_the_next_digit_for_at_least_90_of_100(
    digits_fooled_into_the_next: list[dict[str, Any]],
) -> None:
    assert sum(answer["reached"] for answer in digits_fooled_into_the_next) >= 90


@pytest.mark.slow
def test_digits_the_steps_from_the_drawing_miss_are_reached_from_the_targets_dream(
    client: TestClient, digits_fooled_into_the_next: list[dict[str, Any]]
) -> None:
    served = client.app.state.registry.models["digits-0-9"]
    second = [answer for answer in digits_fooled_into_the_next
              if answer["start"] == "target_dream"]
    assert second and all(answer["reached"] for answer in second)
    for answer in second:
        drawing = np.asarray(answer["input"], dtype=np.float32).reshape(-1)
        target = served.classes.index(answer["target"])
        alone = projected_gradient_descent(served.layers, drawing, target, 10, EPSILON, 20)
        assert alone.probabilities.argmax() != target  # the drawing's start alone misses
    first = [answer for answer in digits_fooled_into_the_next if answer["start"] == "drawing"]
    assert len(first) + len(second) == 100


# --- the answer -------------------------------------------------------------------------------


def a_bar() -> np.ndarray:
    """A thick vertical bar: a 1 beyond doubt, for the shipped 0/1 and ten-digit models."""
    bar = np.zeros((28, 28), np.float32)
    bar[4:24, 12:16] = 1.0
    return bar


def test_the_trace_is_the_same_for_the_same_drawing_and_settings(client: TestClient) -> None:
    first = attack(client, a_bar(), "0", epsilon=0.2, steps=12)
    again = attack(client, a_bar(), "0", epsilon=0.2, steps=12)
    assert first == again
    assert [step["step"] for step in first["trace"]] == list(range(1, 13))
    assert first["trace"][-1]["probabilities"] == first["probabilities"]


def test_the_answer_is_cores_attack_on_the_served_model(client: TestClient) -> None:
    served = client.app.state.registry.models["digits-0-9"]
    answer = attack(client, a_bar(), "7", "digits-0-9", epsilon=0.1, steps=5)
    expected = projected_gradient_descent(served.layers, a_bar().reshape(-1), 7, 10, 0.1, 5)
    np.testing.assert_array_equal(np.asarray(answer["image"]).reshape(-1), expected.image)
    assert answer["step_size"] == pytest.approx(min(0.1, 2.5 * 0.1 / 5))
    assert answer["original"]["label"] == "1"
    assert answer["in_distribution"] is None  # the ten-digit model has no detector


def test_steps_replay_with_trace_images_and_linf_grows_by_the_step_size(
    client: TestClient,
) -> None:
    answer = attack(client, a_bar(), "0", steps=4, trace_images=True)
    assert all(np.asarray(step["image"]).shape == (28, 28) for step in answer["trace"])
    assert answer["trace"][-1]["image"] == answer["image"]
    linfs = [step["linf"] for step in answer["trace"]]
    assert linfs == sorted(linfs) and linfs[0] == pytest.approx(answer["step_size"], abs=1e-6)
    without = attack(client, a_bar(), "0", steps=4)
    assert all("image" not in step for step in without["trace"])


def test_the_detector_says_whether_it_notices_the_change(client: TestClient) -> None:
    answer = attack(client, a_bar(), "0", epsilon=0.5, steps=40)
    assert answer["reached"]
    assert answer["original"]["in_distribution"] is True
    assert isinstance(answer["in_distribution"], bool)
    assert answer["in_distribution"] == (answer["ood_score"] <= answer["ood_threshold"])


def canvas_png() -> bytes:
    image = Image.new("RGB", (280, 280), "white")
    ImageDraw.Draw(image).line([(150, 45), (132, 235)], fill=(17, 24, 39), width=21)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_canvas_data_url_and_a_multipart_file_are_attacked_alike(client: TestClient) -> None:
    png = canvas_png()
    url = "data:image/png;base64," + base64.b64encode(png).decode()
    as_json = client.post("/adversarial", json={"image": url, "target": "0", "steps": 5})
    as_form = client.post(
        "/adversarial",
        files={"file": ("digit.png", png, "image/png")},
        data={"target": "0", "steps": "5", "epsilon": "0.25"},
    )
    assert as_json.status_code == as_form.status_code == 200, as_form.text
    assert as_json.json() == as_form.json()
    assert as_json.json()["preprocessing"]["ran"][0] == "canvas"


def test_a_model_of_other_classes_is_attacked_by_its_own_names(
    two_model_client: TestClient,
) -> None:
    answer = two_model_client.post(
        "/adversarial?model=digits-2-5-7", json={"pixels": a_bar().tolist(), "target": "5"}
    )
    assert answer.status_code == 200, answer.text
    assert set(answer.json()["probabilities"]) == {"2", "5", "7"}
    assert answer.json()["target"] == "5"


# --- bad requests -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"target": "7"}, '"0", "1"'),
        ({"target": 1}, "as a string"),
        ({"epsilon": 0}, "> 0 and ≤ 1"),
        ({"epsilon": -0.1}, "> 0 and ≤ 1"),
        ({"epsilon": 1.5}, "> 0 and ≤ 1"),
        ({"epsilon": "NaN"}, "> 0 and ≤ 1"),
        ({"epsilon": True}, "> 0 and ≤ 1"),
        ({"steps": 0}, "1 to 100"),
        ({"steps": 101}, "1 to 100"),
        ({"steps": 10**12}, "1 to 100"),
        ({"steps": 2.5}, "1 to 100"),
        ({"steps": "many"}, "1 to 100"),
        ({"trace_images": "maybe"}, "true or false"),
    ],
)
def test_bad_settings_get_422_naming_the_valid_values(
    client: TestClient, options: dict[str, Any], named: str
) -> None:
    body = {"pixels": a_bar().tolist(), "target": "0", **options}
    response = client.post("/adversarial", json=body)
    assert response.status_code == 422
    assert named in response.json()["detail"]


def test_nan_and_infinity_as_json_literals_are_refused(client: TestClient) -> None:
    pixels = str(a_bar().tolist())
    for literal in ("NaN", "Infinity", "-Infinity", "1e999"):
        body = f'{{"pixels": {pixels}, "target": "0", "epsilon": {literal}}}'
        response = client.post(
            "/adversarial", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code == 422, literal
        assert "> 0 and ≤ 1" in response.json()["detail"]


def test_a_missing_target_and_an_unknown_model_say_what_to_send(client: TestClient) -> None:
    missing = client.post("/adversarial", json={"pixels": a_bar().tolist()})
    assert missing.status_code == 422 and "'target' is missing" in missing.json()["detail"]
    unknown = client.post(
        "/adversarial?model=nope", json={"pixels": a_bar().tolist(), "target": "0"}
    )
    assert unknown.status_code == 404 and "digits-0-1" in unknown.json()["detail"]


def test_the_docs_examples_succeed(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/adversarial"]["post"]
    content = operation["requestBody"]["content"]
    for example in content["application/json"]["schema"]["examples"]:
        assert client.post("/adversarial", json=example).status_code == 200
    [upload] = content["multipart/form-data"]["schema"]["examples"]
    response = client.post(
        "/adversarial",
        files={"file": ("digit.bmp", upload["file"].encode("ascii"), "image/bmp")},
        data={"target": upload["target"]},
    )
    assert response.status_code == 200, response.text
