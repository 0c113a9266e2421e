"""Convolutional models through the API: POST /predict's layers (kind, shape, values flattened
as NumPy's reshape(-1) of Keras's (h, w, c) output) equal Keras's within 1e-4, POST /gradients
answers with core's backward pass (δ per layer flattened the same way, kernel gradients in
Keras's layout), GET /models/{name} gives kernels in Keras's layout with strides and padding,
and the MLPs only gain kind and shape.

The conv models: a random one of the training recipe's shape (784 pixels reshaped into the
image first, tests/random_models.py) and, when it is in the model store, the shipped CNN.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fast_cases import fast_sample
from fastapi.testclient import TestClient
from project_paths import MODEL_STORE
from random_models import image_model, random_conv_model

from app.main import create_app
from app.settings import Settings
from core.network import after_one_step, backward, forward

keras = pytest.importorskip("keras")

RANDOM_CNN = "random-cnn"
SHIPPED_CNN = "digits-0-9-cnn"
RECIPE_SHAPE = (
    "reshape conv3-3x3-same-s1-relu pool2x2-s2-valid conv4-3x3-same-s1-relu pool2x2-s2-valid "
    "flatten dense8-relu dense10-softmax"
)
FORWARD_TOLERANCE = 1e-4  # the floor for every value of every layer
CNN_MODELS = [RANDOM_CNN] + ([SHIPPED_CNN] if (MODEL_STORE / f"{SHIPPED_CNN}.json").is_file()
                             else [])


@pytest.fixture(scope="module")
def conv_store(store_with_model: Callable[..., Path]) -> Path:
    """The shipped models (the CNN too, once shipped) and a random CNN of the recipe's shape."""
    model = random_conv_model(RECIPE_SHAPE, seed=4)
    card = {"name": RANDOM_CNN, "classes": [str(d) for d in range(10)], "metrics": {}}
    return store_with_model("digits-*", model, card)


@pytest.fixture(scope="module")
def conv_client(conv_store: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(model_dir=conv_store))) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def keras_models(conv_store: Path) -> dict[str, Any]:
    """Each CNN's .keras file as Keras loads it, one Keras layer per served layer."""
    return {
        name: image_model(keras.saving.load_model(conv_store / f"{name}.keras", compile=False))
        for name in CNN_MODELS
    }


def pixels(digits_0_1: tuple[np.ndarray, np.ndarray], index: int) -> list[list[float]]:
    return digits_0_1[0][index].tolist()


def keras_layer_outputs(keras_model: Any, x: np.ndarray) -> list[np.ndarray]:
    """Every layer's output for one image (784,), as Keras computes it, batch axis dropped."""
    over_layers = keras.Model(keras_model.inputs[0], [layer.output for layer in keras_model.layers])
    outputs = over_layers(x.reshape(1, 28, 28, 1), training=False)
    return [np.asarray(a)[0] for a in outputs]


# --- POST /predict -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", CNN_MODELS)
@pytest.mark.parametrize("index", fast_sample([0, 1, 7]))
def test_predict_layers_are_keras_outputs_flattened_row_major(
    conv_client: TestClient,
    keras_models: dict[str, Any],
    digits_0_1: tuple[np.ndarray, np.ndarray],
    name: str,
    index: int,
) -> None:
    body = {"pixels": pixels(digits_0_1, index)}
    response = conv_client.post(f"/predict?model={name}", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    keras_model = keras_models[name]
    x = np.asarray(answer["input"], dtype=np.float32).reshape(-1)
    expected = keras_layer_outputs(keras_model, x)
    assert [layer["name"] for layer in answer["layers"]] == [
        layer.name for layer in keras_model.layers
    ]
    for layer, keras_layer, theirs in zip(
        answer["layers"], keras_model.layers, expected, strict=True
    ):
        assert layer["shape"] == list(theirs.shape)
        assert layer["units"] == theirs.size == len(layer["values"]) == len(layer["preactivations"])
        np.testing.assert_allclose(
            layer["values"], theirs.reshape(-1), atol=FORWARD_TOLERANCE, rtol=0,
            err_msg=layer["name"],
        )
        kind = {"Conv2D": "conv2d", "MaxPooling2D": "max_pool", "Flatten": "flatten",
                "Dense": "dense"}[type(keras_layer).__name__]
        assert layer["kind"] == kind
        if kind in ("max_pool", "flatten"):
            assert layer["activation"] is None
            assert layer["preactivations"] == layer["values"]
        else:
            assert layer["activation"] == keras_layer.activation.__name__
    assert answer["probabilities"] == pytest.approx(
        dict(zip(map(str, range(10)), expected[-1].tolist(), strict=True)), abs=FORWARD_TOLERANCE
    )


def test_a_feature_map_value_sits_where_row_major_order_puts_it(
    conv_client: TestClient, keras_models: dict[str, Any], digits_0_1: tuple[np.ndarray, np.ndarray]
) -> None:
    """values[(i·w + j)·channels + c] is the map's (i, j) cell of filter c."""
    answer = conv_client.post(
        f"/predict?model={RANDOM_CNN}", json={"pixels": pixels(digits_0_1, 2)}
    ).json()
    conv = answer["layers"][0]
    h, w, channels = conv["shape"]
    maps = keras_layer_outputs(keras_models[RANDOM_CNN], np.asarray(answer["input"]).reshape(-1))[0]
    for i, j, c in [(0, 0, 0), (3, 17, 1), (h - 1, w - 1, channels - 1), (14, 9, 2)]:
        assert conv["values"][(i * w + j) * channels + c] == pytest.approx(
            float(maps[i, j, c]), abs=FORWARD_TOLERANCE
        )


def test_mlp_layers_only_gain_kind_and_shape(
    conv_client: TestClient, digits_0_1: tuple[np.ndarray, np.ndarray]
) -> None:
    answer = conv_client.post("/predict?model=digits-0-1", json={"pixels": pixels(digits_0_1, 0)})
    layers = answer.json()["layers"]
    assert [set(layer) for layer in layers] == [
        {"name", "kind", "shape", "units", "activation", "values", "preactivations"}
    ] * 3
    assert [(layer["kind"], layer["shape"], layer["units"]) for layer in layers] == [
        ("dense", [25], 25), ("dense", [15], 15), ("dense", [1], 1)
    ]


# --- GET /models -------------------------------------------------------------------------------


def test_model_detail_gives_kernels_in_keras_layout_with_strides_and_padding(
    conv_client: TestClient, keras_models: dict[str, Any]
) -> None:
    detail = conv_client.get(f"/models/{RANDOM_CNN}").json()
    assert detail["input_shape"] == [28, 28, 1]
    keras_model = keras_models[RANDOM_CNN]
    assert len(detail["layers"]) == len(keras_model.layers)
    for layer, keras_layer in zip(detail["layers"], keras_model.layers, strict=True):
        assert layer["input_shape"] == list(keras_layer.input.shape[1:])
        assert layer["shape"] == list(keras_layer.output.shape[1:])
        if layer["kind"] in ("conv2d", "dense"):
            kernel, bias = keras_layer.get_weights()
            assert np.asarray(layer["weights"]).shape == kernel.shape
            np.testing.assert_allclose(layer["weights"], kernel, atol=5e-6, rtol=0)
            np.testing.assert_allclose(layer["biases"], bias, atol=5e-6, rtol=0)
        else:
            assert "weights" not in layer and "biases" not in layer
        if layer["kind"] == "conv2d":
            assert (layer["kernel_size"], layer["strides"], layer["padding"]) == (
                [3, 3], [1, 1], "same"
            )
        if layer["kind"] == "max_pool":
            assert (layer["pool_size"], layer["strides"], layer["padding"]) == (
                [2, 2], [2, 2], "valid"
            )
    conv = detail["layers"][0]
    assert np.asarray(conv["weights"]).shape == (3, 3, 1, 3)  # [k_h, k_w, c_in, filters]


def test_model_list_gives_each_layers_kind_and_shape(conv_client: TestClient) -> None:
    models = {model["name"]: model for model in conv_client.get("/models").json()["models"]}
    cnn = models[RANDOM_CNN]
    assert cnn["input_shape"] == [28, 28, 1]
    assert [(layer["kind"], layer["shape"]) for layer in cnn["layers"]] == [
        ("conv2d", [28, 28, 3]), ("max_pool", [14, 14, 3]), ("conv2d", [14, 14, 4]),
        ("max_pool", [7, 7, 4]), ("flatten", [196]), ("dense", [8]), ("dense", [10]),
    ]
    assert cnn["parameters"] == (9 * 3 + 3) + (9 * 3 * 4 + 4) + (196 * 8 + 8) + (8 * 10 + 10)
    assert models["digits-0-1"]["input_shape"] == [784]


# --- POST /gradients ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", CNN_MODELS)
def test_gradients_are_the_served_cnns_backward_pass_in_keras_layout(
    conv_client: TestClient,
    keras_models: dict[str, Any],
    digits_0_1: tuple[np.ndarray, np.ndarray],
    name: str,
) -> None:
    """The wiring: δ per layer flattened row-major, ∂L/∂x as 28×28, the kernel and bias
    gradients in Keras's layout, and the step's loss are core's backward pass of the served CNN
    for the input it reports (whose maths tests/core/test_backward_pass.py checks against
    tf.GradientTape)."""
    target = 3
    body = {"pixels": pixels(digits_0_1, 1), "target": str(target), "learning_rate": 0.1}
    response = conv_client.post(f"/gradients?model={name}&weights=true", json=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    layers = conv_client.app.state.registry.models[name].layers
    x = np.asarray(answer["input"], dtype=np.float32).reshape(-1)
    expected = backward(layers, x, forward(layers, x), target)
    assert answer["loss"] == expected.loss
    for index, (layer, keras_layer) in enumerate(
        zip(answer["layers"], keras_models[name].layers, strict=True)
    ):
        # The float32s of the pass, each in the fewest digits that read back the same.
        np.testing.assert_array_equal(
            np.asarray(layer["delta"], np.float32), expected.deltas[index].reshape(-1)
        )
        if not keras_layer.get_weights():  # pooling, flatten: nothing to learn
            assert "weight_gradient" not in layer and "bias_gradient" not in layer
            continue
        kernel, bias = keras_layer.get_weights()
        weight_gradient, bias_gradient = expected.parameter_gradients(index)
        assert np.asarray(layer["weight_gradient"]).shape == kernel.shape
        assert np.asarray(layer["bias_gradient"]).shape == bias.shape
        np.testing.assert_array_equal(
            np.asarray(layer["weight_gradient"], np.float32), weight_gradient
        )
        np.testing.assert_array_equal(np.asarray(layer["bias_gradient"], np.float32), bias_gradient)
    np.testing.assert_array_equal(
        np.asarray(answer["input_gradient"], np.float32), expected.input_gradient.reshape(28, 28)
    )
    after = after_one_step(layers, x, expected, target, 0.1)
    assert answer["after_step"]["loss"] == after.loss


def test_gradients_send_deltas_flattened_like_values(
    conv_client: TestClient, digits_0_1: tuple[np.ndarray, np.ndarray]
) -> None:
    body = {"pixels": pixels(digits_0_1, 3), "target": "5"}
    answer = conv_client.post(f"/gradients?model={RANDOM_CNN}", json=body).json()
    for layer in answer["layers"]:
        assert len(layer["delta"]) == len(layer["values"]) == layer["units"]
        assert "weight_gradient" not in layer


# --- what cannot be made for a CNN -------------------------------------------------------------


def test_the_notebook_refuses_a_cnn_naming_its_layers(conv_client: TestClient) -> None:
    response = conv_client.get(f"/models/{RANDOM_CNN}/notebook")
    assert response.status_code == 404
    assert "dense networks (MLPs) only" in response.json()["detail"]
    assert "conv2d" in response.json()["detail"]
