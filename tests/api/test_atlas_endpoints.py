"""The digit atlas through the API, in-process (TestClient on the real app and the shipped
model store with its atlas): GET /models/{name}/atlas, its digits image,
GET /models/{name}/units/{layer}/{unit} and POST /explain.

What must hold: the atlas is real MNIST test digits at their indices; an atlas digit sent to
/explain finds itself at distance ~0 at its own point on every layer's map; the saliency is
tf.GradientTape's gradient × input of the answer's logit; a unit's top 9 are its 9 highest
activations over the atlas, computed by Keras; the ten-digit model's last hidden layer separates
the classes better than the pixels; hostile layer and unit names get a 4xx naming valid ones.

Over 300 lines: one small test per endpoint behaviour, sharing one app whose atlas maps are slow
to make.
"""

from __future__ import annotations

import io
from typing import Any

import keras
import numpy as np
import pytest
from fast_cases import fast_sample
from fastapi.testclient import TestClient
from gradient_tape import tape_gradients_of
from PIL import Image
from project_paths import MODEL_STORE, mnist_test_split

from app.model_atlases import load_atlases
from app.model_registry import ModelStoreError, load_registry
from core.atlas import ATLAS_FILE, load_atlas

SHIPPED_MODELS = sorted(path.stem for path in MODEL_STORE.glob("*.json"))
ATLAS = load_atlas(MODEL_STORE / ATLAS_FILE)


def atlas_of(client: TestClient, model: str, layer: str | None = None) -> dict[str, Any]:
    query = f"?layer={layer}" if layer else ""
    response = client.get(f"/models/{model}/atlas{query}")
    assert response.status_code == 200, response.text
    return response.json()


def explain(client: TestClient, pixels: np.ndarray, query: str) -> dict[str, Any]:
    response = client.post(f"/explain?{query}", json={"pixels": pixels.tolist()})
    assert response.status_code == 200, response.text
    return response.json()


def keras_model(name: str) -> Any:
    return keras.saving.load_model(MODEL_STORE / f"{name}.keras", compile=False)


# --- the atlas itself ---------------------------------------------------------------------------


def test_the_atlas_is_mnist_test_digits_at_their_indices() -> None:
    mnist = mnist_test_split()
    if mnist is None:
        pytest.skip("MNIST is not beside the project")
    images, labels = mnist
    np.testing.assert_array_equal(ATLAS.images, images[ATLAS.indices])
    np.testing.assert_array_equal(ATLAS.labels, labels[ATLAS.indices])
    assert len(set(ATLAS.indices.tolist())) == len(ATLAS) <= 5000
    assert np.all(np.bincount(ATLAS.labels, minlength=10) == len(ATLAS) // 10)


def test_the_file_is_small_and_credits_mnist() -> None:
    path = MODEL_STORE / ATLAS_FILE
    assert path.stat().st_size < 3_000_000
    with np.load(path, allow_pickle=False) as archive:
        assert "LeCun" in str(archive["credit"])


@pytest.mark.parametrize("model", SHIPPED_MODELS)
def test_the_map_holds_the_models_classes_in_atlas_order(client: TestClient, model: str) -> None:
    classes = client.get("/models").json()["models"]
    (described,) = [entry for entry in classes if entry["name"] == model]
    answer = atlas_of(client, model)
    names = [layer["name"] for layer in described["layers"]]
    assert answer["layers"] == ["input", *names]
    assert answer["layer"] == names[-2]  # the last hidden layer
    assert answer["method"] == "pca"
    wanted = np.isin(ATLAS.labels, [int(name) for name in described["classes"]])
    assert answer["indices"] == ATLAS.indices[wanted].tolist()
    assert answer["labels"] == ATLAS.labels[wanted].tolist()
    assert np.asarray(answer["points"]).shape == (int(wanted.sum()), 2)
    first, second = answer["explained_variance"]
    assert 1.0 >= first >= second >= 0.0
    assert 0.0 <= answer["separation"] <= 1.0


def test_the_points_are_the_activations_on_their_principal_axes(client: TestClient) -> None:
    """The map's x and y are the two directions of largest variance: their variances are the
    two largest eigenvalues of the activations' covariance (an exact SVD here, for the pixels)."""
    answer = atlas_of(client, "digits-0-9", "input")
    pixels = ATLAS.images.reshape(len(ATLAS), -1).astype(np.float64) / 255.0
    centred = pixels - pixels.mean(axis=0)
    spread = np.linalg.svd(centred, compute_uv=False)
    points = np.asarray(answer["points"])
    np.testing.assert_allclose(np.sum(points**2, axis=0), spread[:2] ** 2, rtol=1e-3)
    np.testing.assert_allclose(
        answer["explained_variance"], spread[:2] ** 2 / np.sum(spread**2), rtol=1e-3
    )
    assert abs(np.corrcoef(points.T)[0, 1]) < 1e-3  # orthogonal axes: uncorrelated


def test_ten_digit_classes_pull_apart_from_input_to_last_hidden_layer(
    client: TestClient,
) -> None:
    pixels = atlas_of(client, "digits-0-9", "input")["separation"]
    last_hidden = atlas_of(client, "digits-0-9")["separation"]
    assert last_hidden > pixels + 0.03, (pixels, last_hidden)


def test_the_digits_image_holds_every_atlas_digit_in_order(client: TestClient) -> None:
    response = client.get("/models/digits-0-1/atlas/digits.png")
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    sheet = np.asarray(Image.open(io.BytesIO(response.content)))
    zeros_and_ones = ATLAS.of_digits([0, 1])
    for position in (0, 51, len(zeros_and_ones) - 1):
        row, column = divmod(position, 50)
        np.testing.assert_array_equal(
            sheet[row * 28 : row * 28 + 28, column * 28 : column * 28 + 28],
            zeros_and_ones.images[position],
        )


# --- POST /explain ------------------------------------------------------------------------------


@pytest.mark.parametrize("model", SHIPPED_MODELS)
@pytest.mark.parametrize("layer", ["input", "hidden_1", "hidden_2", "output"])
def test_an_atlas_digit_finds_itself_at_its_own_point(
    client: TestClient, model: str, layer: str
) -> None:
    served = {served_layer.name for served_layer in client.app.state.registry.models[model].layers}
    if layer != "input" and layer not in served:
        pytest.skip(f"{model} has no layer {layer} (the CNN: one hidden layer after its maps)")
    answer_map = atlas_of(client, model, layer)
    for point in (0, 7, len(answer_map["indices"]) - 1):
        position = ATLAS.indices.tolist().index(answer_map["indices"][point])
        pixels = ATLAS.images[position].astype(np.float32) / 255.0
        answer = explain(client, pixels, f"model={model}&layer={layer}")
        # Itself at distance ~0; where others tie with it (a saturated one-unit output gives
        # many digits the same activation), the 8 nearest may all be such twins.
        at_zero = [n for n in answer["neighbours"] if n["distance"] < 1e-3]
        assert at_zero, answer["neighbours"]
        itself = [n for n in at_zero if n["point"] == point]
        assert itself or len(at_zero) == 8, answer["neighbours"]
        for neighbour in itself:
            assert neighbour["index"] == answer_map["indices"][point]
            assert neighbour["label"] == answer_map["labels"][point]
        np.testing.assert_allclose(answer["position"], answer_map["points"][point], atol=1e-3)
        distances = [neighbour["distance"] for neighbour in answer["neighbours"]]
        assert len(distances) == 8 and distances == sorted(distances)


def test_the_default_layer_is_the_last_hidden_one(client: TestClient) -> None:
    pixels = ATLAS.images[0].astype(np.float32) / 255.0
    assert explain(client, pixels, "model=digits-0-9")["layer"] == "hidden_2"


@pytest.mark.parametrize("model", fast_sample(SHIPPED_MODELS))
def test_saliency_is_gradient_times_input_of_the_answers_logit(
    client: TestClient, model: str
) -> None:
    reference = keras_model(model)
    classes = client.get(f"/models/{model}").json()["classes"]
    for position in np.flatnonzero(np.isin(ATLAS.labels, [int(c) for c in classes]))[:4]:
        pixels = ATLAS.images[position].astype(np.float32) / 255.0
        answer = explain(client, pixels, f"model={model}")
        answer_index = classes.index(answer["label"])

        def logit(zs: list[Any], _: list[Any], index: int = answer_index) -> Any:
            if len(classes) == 2 and zs[-1].shape[-1] == 1:  # one sigmoid unit: the logit of "1"
                return zs[-1][0, 0] if index == 1 else -zs[-1][0, 0]
            return zs[-1][0, index]

        _, gradient = tape_gradients_of(reference, pixels.reshape(-1), logit)
        expected = (gradient * pixels.reshape(-1)).reshape(28, 28)
        np.testing.assert_allclose(answer["saliency"], expected, atol=1e-4, rtol=0)
        assert np.abs(expected).max() > 1e-3  # a comparison of zeros would prove nothing


def test_explain_takes_a_canvas_drawing_and_a_file(client: TestClient) -> None:
    image = Image.new("L", (280, 280), 255)
    image.paste(0, (130, 40, 150, 240))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    answer = client.post("/explain", files={"file": ("one.png", buffer.getvalue())})
    assert answer.status_code == 200, answer.text
    assert answer.json()["label"] == "1"
    assert answer.json()["neighbours"][0]["label"] == 1


# --- GET /models/{name}/units/{layer}/{unit} ----------------------------------------------------


@pytest.mark.parametrize(("model", "layer"), [("digits-0-1", "hidden_1"),
                                              ("digits-0-9", "hidden_2"),
                                              ("digits-0-9", "output")])
def test_a_units_top_and_bottom_are_its_extremes_by_keras(
    client: TestClient, model: str, layer: str
) -> None:
    reference = keras_model(model)
    answer_map = atlas_of(client, model, layer)
    positions = [ATLAS.indices.tolist().index(index) for index in answer_map["indices"]]
    pixels = ATLAS.images[positions].reshape(len(positions), -1).astype(np.float32) / 255.0
    probe = keras.Model(reference.inputs[0], reference.get_layer(layer).output)
    activations = np.asarray(probe(pixels, training=False))
    unit = int(np.argmax(activations.std(axis=0)))  # a live unit: no ties at the top
    answer = client.get(f"/models/{model}/units/{layer}/{unit}").json()
    values = activations[:, unit]
    top = [digit["activation"] for digit in answer["top"]]
    bottom = [digit["activation"] for digit in answer["bottom"]]
    np.testing.assert_allclose(top, np.sort(values)[::-1][:9], atol=1e-5)
    np.testing.assert_allclose(bottom, np.sort(values)[:9], atol=1e-5)
    for digit in answer["top"] + answer["bottom"]:
        assert answer_map["indices"][digit["point"]] == digit["index"]
        np.testing.assert_allclose(values[digit["point"]], digit["activation"], atol=1e-5)
    labels = np.asarray(answer_map["labels"])
    for entry in answer["by_class"]:
        own = values[labels == entry["label"]]
        assert entry["count"] == len(own)
        np.testing.assert_allclose(entry["mean"], own.mean(), atol=1e-5)
        np.testing.assert_allclose(entry["spread"], own.std(), atol=1e-5)


# --- what a hostile or mistaken client gets -----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status", "named"),
    [
        ("/models/digits-0-1/atlas?layer=hidden_9", 404, "input, hidden_1, hidden_2, output"),
        ("/models/digits-0-1/atlas?layer=" + "x" * 201, 422, "layer"),
        ("/models/digits-0-1/atlas?layer=", 404, "hidden_1"),
        ("/models/nobody/atlas", 404, "digits-0-1"),
        ("/models/digits-0-1/units/hidden_1/25", 404, "0 to 24"),
        ("/models/digits-0-1/units/hidden_1/-1", 404, "0 to 24"),
        ("/models/digits-0-1/units/hidden_1/" + "9" * 30, 404, "0 to 24"),
        ("/models/digits-0-1/units/hidden_1/" + "9" * 5000, 422, "unit"),
        ("/models/digits-0-1/units/hidden_1/1.5", 422, "unit"),
        ("/models/digits-0-1/units/hidden_1/one", 422, "unit"),
        ("/models/digits-0-1/units/hidden_1/%00", 422, "unit"),
        ("/models/digits-0-1/units/%F0%9F%98%80/1", 404, "hidden_1"),
        ("/models/digits-0-1/units/..%2F..%2Fetc/1", 404, "/docs"),
        ("/models/digits-0-1/units/input/784", 404, "0 to 783"),
        ("/models/nobody/units/hidden_1/1", 404, "digits-0-1"),
    ],
)
def test_bad_layers_and_units_get_a_4xx_naming_valid_ones(
    client: TestClient, path: str, status: int, named: str
) -> None:
    response = client.get(path)
    assert response.status_code == status, response.text
    assert named in response.json()["detail"]


@pytest.mark.parametrize(
    ("query", "status", "named"),
    [
        ("layer=nope", 422, "input, hidden_1, hidden_2, output"),
        ("layer=" + "y" * 300, 422, "layer"),
        ("model=nobody", 404, "digits-0-1"),
    ],
)
def test_explain_with_a_bad_layer_or_model(
    client: TestClient, query: str, status: int, named: str
) -> None:
    pixels = ATLAS.images[0].astype(np.float32) / 255.0
    response = client.post(f"/explain?{query}", json={"pixels": pixels.tolist()})
    assert response.status_code == status, response.text
    assert named in response.json()["detail"]


def test_explain_of_an_empty_drawing_says_so(client: TestClient) -> None:
    response = client.post("/explain", json={"pixels": [[0.0] * 28] * 28})
    assert response.status_code in (200, 422)
    empty = client.post("/explain", json={"image": _blank_png()})
    assert empty.status_code == 422 and "empty" in empty.json()["detail"]


def _blank_png() -> str:
    import base64

    buffer = io.BytesIO()
    Image.new("L", (50, 50), 255).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


# --- models without a shipped atlas -------------------------------------------------------------


def test_a_store_without_an_atlas_serves_and_says_how_to_write_one(
    two_model_client: TestClient,
) -> None:
    response = two_model_client.get("/models/digits-0-1/atlas")
    assert response.status_code == 404
    assert "python -m training.atlas" in response.json()["detail"]
    assert two_model_client.post(
        "/predict", json={"pixels": [[0.0] * 28] * 28}
    ).status_code == 200


def test_a_model_trained_from_the_page_gets_its_atlas_on_first_use(client: TestClient) -> None:
    from dataclasses import replace

    registry = client.app.state.registry  # type: ignore[attr-defined]
    shipped = registry.get("digits-0-1")
    name = "yours-0-1-atlas-test"
    client.app.state.temporary_models.add(replace(shipped, name=name), b"")  # type: ignore
    own = atlas_of(client, name, "hidden_1")
    reference = atlas_of(client, "digits-0-1", "hidden_1")
    np.testing.assert_allclose(own["points"], reference["points"], atol=1e-5)
    zero = ATLAS.images[np.flatnonzero(ATLAS.labels == 0)[0]].astype(np.float32) / 255.0
    assert explain(client, zero, f"model={name}")["neighbours"][0]["distance"] < 1e-3
    assert client.get(f"/models/{name}/units/output/0").status_code == 200


def test_start_up_loads_the_atlas_and_maps_no_layer_until_asked() -> None:
    registry = load_registry(MODEL_STORE, "digits-0-1")
    atlases = load_atlases(MODEL_STORE, registry)
    assert atlases.atlas is not None and len(atlases.atlas) == len(ATLAS)
    mapped = [found for found in atlases.maps.values() if found is not None]
    assert len(mapped) == len(registry.models)  # every shipped model's classes are digits
    assert all(found.maps.computed() == [] for found in mapped)
    model_atlas = atlases.of(registry.get("digits-0-1"))
    assert model_atlas.maps[model_atlas.default_layer()].units == 15
    assert model_atlas.maps.computed() == ["hidden_2"]


def test_a_broken_atlas_file_stops_start_up(tmp_path: Any) -> None:
    (tmp_path / ATLAS_FILE).write_bytes(b"PK\x03\x04 not really a zip")
    registry = load_registry(MODEL_STORE, "digits-0-1")
    with pytest.raises(ModelStoreError, match="not a digit atlas"):
        load_atlases(tmp_path, registry)
