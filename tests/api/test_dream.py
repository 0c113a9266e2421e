"""POST /dream: what a unit or a class wants to see, in-process (TestClient on the real app and
the shipped models).

The issue's measure, on MNIST's 10,000 test digits (skipped without MNIST): a dreamt image drives
its unit higher than at least 99% of them do. Measured on z, what the dream raises (a = g(z) with
g increasing, so a is at least as high; a saturated sigmoid's a ties at 1.0 in float32, where z
still orders). Every class of the shipped models goes through the endpoint; every hidden unit
of the 0/1 model and every 8th of the ten-digit model's, and of the CNN every 8th dense unit and
two cells of every 4th map of each convolution and pooling (a pooling cell has no z: its value),
are dreamt by core/dream.py in batches, the computation the endpoint runs (checked equal on a
sample).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fast_cases import fast_sample
from fastapi.testclient import TestClient
from project_paths import MODEL_STORE, mnist_test_split_or_skip

from core.dream import dream
from core.network import DenseLayer, MaxPoolLayer, forward

SHIPPED_MODELS = sorted(path.stem for path in MODEL_STORE.glob("*.json"))
SHARE = 0.99


def dreamt(client: TestClient, body: dict[str, Any], model: str = "digits-0-1") -> dict[str, Any]:
    response = client.post(f"/dream?model={model}", json=body)
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def test_digits() -> np.ndarray:
    images, _ = mnist_test_split_or_skip()
    return images.reshape(-1, 784).astype(np.float32) / 255.0


def share_below(values: np.ndarray, value: float) -> float:
    return float(np.mean(values < value))


@pytest.mark.parametrize("model", fast_sample(SHIPPED_MODELS))  # the CNN alone takes seconds
def test_each_class_dream_beats_99_percent_of_test_digits(
    client: TestClient, test_digits: np.ndarray, model: str
) -> None:
    served = client.app.state.registry.models[model]
    output = forward(served.layers, test_digits)[-1]
    for index, name in enumerate(served.classes):
        answer = dreamt(client, {"class": name}, model)
        if output.z.shape[-1] == 1:  # one sigmoid unit: class 0 is its z falling
            sign, z, unit = (1.0 if index == 1 else -1.0), output.z[:, 0], 0
        else:
            sign, z, unit = 1.0, output.z[:, index], index
        assert answer["unit"] == unit
        assert share_below(sign * z, sign * answer["preactivation"]) >= SHARE, name
        assert max(answer["probabilities"], key=answer["probabilities"].get) == name


@pytest.mark.parametrize(("model", "every"), [("digits-0-1", 1), ("digits-0-9", 8)])
def test_hidden_unit_dreams_beat_99_percent_of_test_digits(
    client: TestClient, test_digits: np.ndarray, model: str, every: int
) -> None:
    served = client.app.state.registry.models[model]
    on_digits = forward(served.layers, test_digits)
    for index, layer in enumerate(served.layers[:-1]):
        units = list(range(0, layer.units, every))
        images = dream(served.layers, index, units)
        z = forward(served.layers, images)[index].z[np.arange(len(units)), units]
        for unit, value in zip(units, z, strict=True):
            assert share_below(on_digits[index].z[:, unit], value) >= SHARE, (layer.name, unit)
            assert np.mean(on_digits[index].a[:, unit] <= served.predict(
                images[units.index(unit)]).layers[index].a[unit]) >= SHARE


CNN = "digits-0-9-cnn"


def cnn_units(layer: Any) -> list[int] | None:
    """Which units of a CNN layer to dream: two cells (the centre, and one off it) of every 4th
    map; every 8th dense unit; none of the flatten (the last pooling's cells again)."""
    if isinstance(layer, DenseLayer):
        return list(range(0, layer.units, 8))
    if len(layer.output_shape) != 3:
        return None
    height, width, channels = layer.output_shape
    cells = [(height // 2, width // 2), (max(height // 2 - 3, 0), min(width // 2 + 2, width - 1))]
    return [(row * width + column) * channels + channel
            for row, column in cells for channel in range(0, channels, 4)]


def raised(layers: tuple[Any, ...], results: list[Any], index: int) -> np.ndarray:
    """What the dream raises (core/dream.py): a unit's z; for a pooling cell, the highest z of
    its window in the layer below. (Its pooled a can stay 0: the shipped CNN has filters that no
    test digit turns on, and a pooling cell of one is 0 for them all and for its dream.)"""
    if isinstance(layers[index], MaxPoolLayer):
        return layers[index].forward(results[index - 1].z).a
    return results[index].z


@pytest.mark.slow  # seconds of CPU: dreams of many cells, each scored over 10,000 digits
def test_cnn_map_cell_and_unit_dreams_beat_99_percent_of_test_digits(
    client: TestClient, test_digits: np.ndarray
) -> None:
    served = client.app.state.registry.models.get(CNN)
    if served is None:
        pytest.skip(f"{CNN} is not in the model store")
    layers = served.layers[:-1]  # the classes are tested above
    chosen = {index: units for index, layer in enumerate(layers)
              if (units := cnn_units(layer)) is not None}
    dreamt_values = {}
    for index, units in chosen.items():
        results = forward(layers, dream(served.layers, index, units))
        z = raised(layers, results, index).reshape(len(units), -1)
        dreamt_values[index] = z[np.arange(len(units)), units]
    on_digits: dict[int, list[np.ndarray]] = {index: [] for index in chosen}
    for start in range(0, len(test_digits), 1000):  # a first conv's maps of 10,000 is 250 MB
        results = forward(layers, test_digits[start : start + 1000])
        for index, units in chosen.items():
            z = raised(layers, results, index)
            on_digits[index].append(z.reshape(len(z), -1)[:, units])
    for index, units in chosen.items():
        values = np.concatenate(on_digits[index])
        for column, unit in enumerate(units):
            share = share_below(values[:, column], dreamt_values[index][column])
            assert share >= SHARE, (layers[index].name, unit, share)


@pytest.mark.parametrize(
    ("model", "body", "index", "unit"),
    [
        ("digits-0-9", {"layer": "hidden_2", "unit": 17, "steps": 30}, 1, 17),
        (CNN, {"layer": "pool_2", "unit": 389, "steps": 30}, 3, 389),
    ],
)
def test_the_endpoint_dreams_what_core_dreams(
    client: TestClient, model: str, body: dict[str, Any], index: int, unit: int
) -> None:
    served = client.app.state.registry.models.get(model)
    if served is None:
        pytest.skip(f"{model} is not in the model store")
    assert served.layers[index].name == body["layer"]
    answer = dreamt(client, body, model)
    expected = dream(served.layers, index, [unit], 30)[0]
    np.testing.assert_array_equal(np.asarray(answer["image"], np.float32).reshape(-1), expected)
    assert answer["preactivation"] == pytest.approx(
        float(forward(served.layers, expected)[index].z.reshape(-1)[unit]), abs=1e-5
    )


def test_the_same_request_dreams_the_same_image_inside_0_1(client: TestClient) -> None:
    first = dreamt(client, {"layer": "hidden_1", "unit": 4})
    assert first == dreamt(client, {"layer": "hidden_1", "unit": 4})
    image = np.asarray(first["image"])
    assert image.shape == (28, 28) and image.min() >= 0.0 and image.max() <= 1.0
    assert first["preactivation"] > 0 and first["class"] is None
    # The digit atlas's test digits (model_store/mnist-test-atlas.npz) drive it less.
    assert first["activation"] >= first["highest_on_test_digits"] > 0


def test_a_dream_raises_its_unit_above_the_grey_start(client: TestClient) -> None:
    for unit in (0, 100, 255):
        answer = dreamt(client, {"layer": "hidden_2", "unit": unit}, "digits-0-9")
        assert answer["activation"] > answer["grey_activation"]


def test_a_model_of_other_classes_dreams_by_its_own_names(
    two_model_client: TestClient,
) -> None:
    answer = two_model_client.post("/dream?model=digits-2-5-7", json={"class": "5"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["unit"] == 1 and answer.json()["layer"] == "output"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"layer": "nope", "unit": 1}, "'hidden_1' (25 units), 'hidden_2' (15 units)"),
        ({"layer": "hidden_1", "unit": 25}, "0 to 24"),
        ({"layer": "hidden_1", "unit": 10**40}, "0 to 24"),
        ({"layer": "hidden_1", "unit": -1}, "greater than or equal to 0"),
        ({"layer": "hidden_1", "unit": True}, "integer"),
        ({"layer": "hidden_1", "unit": 1.5}, "integer"),
        ({"class": "7"}, '"0", "1"'),
        ({"class": 1}, "string"),
        ({"class": "1", "layer": "hidden_1", "unit": 0}, "not both"),
        ({"layer": "hidden_1"}, "'layer' and 'unit'"),
        ({}, "'layer' and 'unit'"),
        ({"class": "1", "steps": 0}, "greater than or equal to 1"),
        ({"class": "1", "steps": 101}, "less than or equal to 100"),
        ({"class": "1", "steps": 10**12}, "less than or equal to 100"),
        ({"class": "1", "colour": "blue"}, "unknown field"),
    ],
)
def test_bad_requests_get_422_naming_what_is_valid(
    client: TestClient, body: dict[str, Any], named: str
) -> None:
    response = client.post("/dream", json=body)
    assert response.status_code == 422
    assert named in response.json()["detail"]


def test_an_unknown_model_is_refused(client: TestClient) -> None:
    assert client.post("/dream?model=nope", json={"class": "1"}).status_code == 404


def test_the_docs_examples_succeed(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/dream"]["post"]
    content = operation["requestBody"]["content"]
    for example in content["application/json"]["schema"]["examples"]:
        assert client.post("/dream", json=example).status_code == 200, example
    for example in content["multipart/form-data"]["schema"]["examples"]:
        response = client.post("/dream", files={"class": (None, example["class"])})
        assert response.status_code == 200, response.text


def test_form_fields_dream_as_json_does(client: TestClient) -> None:
    as_form = client.post("/dream", files={"layer": (None, "hidden_1"), "unit": (None, "3")})
    assert as_form.status_code == 200, as_form.text
    assert as_form.json() == dreamt(client, {"layer": "hidden_1", "unit": 3})


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"\xff\xfe", "application/json", 422),
        (b"[1, 2", "application/json", 422),
        (b"", "application/json", 422),
        (b"class=1", "application/x-www-form-urlencoded", 415),
        (b"," * 5000, "application/json", 422),
    ],
)
def test_a_body_that_is_not_a_request_gets_a_4xx_saying_what_to_send(
    client: TestClient, content: bytes, content_type: str, status: int
) -> None:
    response = client.post("/dream", content=content, headers={"content-type": content_type})
    assert response.status_code == status
    assert "'layer'" in response.json()["detail"] or "JSON" in response.json()["detail"]


def test_a_model_trained_from_the_page_is_fooled_and_dreamt_until_it_expires(
    client: TestClient,
) -> None:
    """Both endpoints take a temporary model (WebSocket /train's) by its name, and say when one
    is gone."""
    from dataclasses import replace

    from app.temporary_models import TEMPORARY_PREFIX

    kept = client.app.state.temporary_models
    served = client.app.state.registry.models["digits-0-9"]
    name = f"{TEMPORARY_PREFIX}fool-and-dream-test"
    kept.add(replace(served, name=name), b"")
    bar = [[1.0 if 12 <= c <= 15 and 4 <= r <= 23 else 0.0 for c in range(28)] for r in range(28)]
    fooled = client.post(f"/adversarial?model={name}", json={"pixels": bar, "target": "7"})
    assert fooled.status_code == 200 and fooled.json()["model"] == name
    assert dreamt(client, {"class": "3"}, name)["model"] == name
    gone = f"{TEMPORARY_PREFIX}long-gone"
    for response in (
        client.post(f"/adversarial?model={gone}", json={"pixels": bar, "target": "7"}),
        client.post(f"/dream?model={gone}", json={"class": "3"}),
    ):
        assert response.status_code == 404 and "expired" in response.json()["detail"]
