"""core.network.forward against Keras's own forward pass, layer by layer, number for number.

The server never calls Keras to answer: it runs the loaded model's weights through NumPy. These
tests hold that pass to Keras's (``model(x, training=False)``, and every intermediate layer via
a ``keras.Model`` over the layer outputs) for every z and activation of every layer, within what
float32 sums in another order can change (1e-5 plus 8 ulps of the summed magnitude, through the
activation: app.model_registry.parity_allowance, the server's own load-time bound), on
the shipped model and its detector, and on freshly built models of several shapes and
activations, for random inputs, all-zeros, all-ones, stroke-like sparse inputs and real MNIST.
`make test-fast` runs a sample of the repeated comparisons (tests/fast_cases.py), `make test`
every one.
Over 300 lines because it builds those inputs and models here, where their choice is explained.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fast_cases import fast_sample
from project_paths import MODEL_STORE, SHARED_MNIST_NPZ, mnist_test_split

from app.model_registry import (
    LoadedModel,
    ModelStoreError,
    _check_parity,
    load_model,
    parity_allowance,
    z_allowance,
)
from core.network import (
    Conv2DLayer,
    DenseLayer,
    FlattenLayer,
    Layer,
    MaxPoolLayer,
    UnservableModelError,
    as_network_input,
    class_probabilities,
    forward,
)
from core.network import layers_from_keras as core_layers_from_keras

keras = pytest.importorskip("keras")
from gradient_tape import keras_preactivation  # noqa: E402 (after the skip)
from random_models import (  # noqa: E402
    CONV_ARCHITECTURES,
    conv_architecture_id,
    image_model,
    random_conv_model,
    random_keras_model,
    unlike_the_shipped_cnn,
)

SHIPPED_CARDS = sorted(MODEL_STORE.glob("*.json"))
DEFAULT_CARD = MODEL_STORE / "digits-0-1.json"


# --- inputs ----------------------------------------------------------------------------------


def _mnist_test_images(count: int) -> np.ndarray | None:
    if (mnist := mnist_test_split()) is None:
        return None
    images = mnist[0][:count]
    return images.reshape(len(images), -1).astype(np.float32) / 255.0


def _sparse_strokes(rng: np.random.Generator, count: int) -> np.ndarray:
    """Mostly zeros with a few bright pixels, like a drawn digit."""
    x = np.zeros((count, 784), dtype=np.float32)
    mask = rng.random((count, 784)) < 0.15
    x[mask] = rng.uniform(0.2, 1.0, size=int(mask.sum())).astype(np.float32)
    return x


def _input_sets() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2024)
    sets = {
        "random-uniform": rng.random((256, 784), dtype=np.float32),
        "all-zeros": np.zeros((1, 784), dtype=np.float32),
        "all-ones": np.ones((1, 784), dtype=np.float32),
        "sparse-strokes": _sparse_strokes(rng, 128),
        "binary": (rng.random((64, 784)) < 0.5).astype(np.float32),
    }
    mnist = _mnist_test_images(1000)
    if mnist is not None:
        sets["mnist-test"] = mnist
    return sets


INPUT_SETS = _input_sets()
ALL_INPUTS = np.concatenate(list(INPUT_SETS.values()))


def test_real_mnist_is_among_the_inputs_when_available() -> None:
    if not SHARED_MNIST_NPZ.is_file():
        pytest.skip(f"MNIST is not at {SHARED_MNIST_NPZ}")
    assert len(INPUT_SETS["mnist-test"]) == 1000


# --- Keras's side ----------------------------------------------------------------------------


def keras_layer_outputs(keras_model: Any, x: np.ndarray) -> list[np.ndarray]:
    """Every layer's activations as Keras computes them (one functional model over them)."""
    inputs = keras_model.inputs[0]
    over_layers = keras.Model(inputs, [layer.output for layer in keras_model.layers])
    outputs = over_layers(keras_input(keras_model, x), training=False)
    if not isinstance(outputs, list | tuple):  # a model of one layer gives its one output
        outputs = [outputs]
    return [np.asarray(a) for a in outputs]


def keras_input(keras_model: Any, x: np.ndarray) -> np.ndarray:
    """Rows of 784 pixels in the shape the model takes: (n, 28, 28, 1) for a convolution."""
    return x.reshape(len(x), *keras_model.inputs[0].shape[1:])


def keras_preactivations(keras_model: Any, x: np.ndarray) -> list[np.ndarray]:
    """Per layer, z (z = a_prev · W + b for a dense layer) computed by Keras's ops from Keras's
    weights and a_prev."""
    previous = [keras_input(keras_model, x), *keras_layer_outputs(keras_model, x)[:-1]]
    return [
        np.asarray(keras_preactivation(layer, a))
        for a, layer in zip(previous, keras_model.layers, strict=True)
    ]


def layers_from_keras(keras_model: Any) -> tuple[DenseLayer, ...]:
    def activation_name(layer: Any) -> str:
        return layer.activation.__name__

    return tuple(
        DenseLayer(layer.name, activation_name(layer), *map(np.asarray, layer.get_weights()))
        for layer in keras_model.layers
    )


def assert_within(ours: np.ndarray, theirs: np.ndarray, allowed: np.ndarray, what: str) -> None:
    error = np.abs(np.asarray(ours, dtype=np.float64) - theirs)
    allowed = np.broadcast_to(allowed, error.shape)
    worst = np.unravel_index(np.argmax(error - allowed), error.shape)
    assert np.all(error <= allowed), (
        f"{what}: differs by {error[worst]:.3g} at {worst}, allowed {allowed[worst]:.3g}"
    )


def assert_layers_match(
    layers: tuple[Layer, ...],
    keras_model: Any,
    x: np.ndarray,
    what: str,
    at_most: float = np.inf,
) -> None:
    """Every layer's z and a within what float32 sums in another order can change, and within
    ``at_most`` everywhere."""
    ours = forward(layers, x)
    expected_a = keras_layer_outputs(keras_model, x)
    expected_z = keras_preactivations(keras_model, x)
    final = np.asarray(keras_model(keras_input(keras_model, x), training=False))
    assert len(ours) == len(expected_a) == len(keras_model.layers)
    previous = [as_network_input(layers, x), *(result.a for result in ours[:-1])]
    assert_within(ours[-1].a, final, parity_allowance(layers[-1], previous[-1]), what)
    a_allowed_below = np.zeros(())
    for index, (layer, result, a, z, a_prev) in enumerate(
        zip(layers, ours, expected_a, expected_z, previous, strict=True)
    ):
        where = f"{what}, layer {index} ({keras_model.layers[index].name})"
        assert result.a.shape == a.shape, where
        if isinstance(layer, MaxPoolLayer | FlattenLayer):
            # No arithmetic: what the layer below may be off by, pooled or flattened with it.
            full = np.broadcast_to(a_allowed_below, a_prev.shape)
            z_allowed = a_allowed = layer.forward(full).a
        else:
            # z sums up to 784 float32 products in an order of each library's (and CPU's)
            # choosing; both are ~1e-5 off the float64 value when the terms sum to ~50. Allow
            # that accumulation error (a few float32 ulps of the summed magnitude), no more, and
            # for a the same allowance through the activation (relu passes a large z's error
            # on whole).
            z_allowed = z_allowance(layer, a_prev)
            a_allowed = parity_allowance(layer, a_prev)
        assert_within(result.z, z, np.minimum(z_allowed, at_most), f"{where}, z")
        assert_within(result.a, a, np.minimum(a_allowed, at_most), f"{where}, a")
        a_allowed_below = a_allowed


# --- the shipped model and its detector ------------------------------------------------------


@pytest.fixture(scope="module", params=SHIPPED_CARDS, ids=lambda card: card.stem)
def shipped(request: pytest.FixtureRequest) -> LoadedModel:
    """Each shipped model as the server loads it (card checks, sha256, parity probe)."""
    return load_model(request.param)


def keras_model_of(model: LoadedModel) -> Any:
    """The Keras model the server loaded `model` from (the server does not keep it), one Keras
    layer per served layer (`image_model`)."""
    return image_model(
        keras.saving.load_model(MODEL_STORE / f"{model.name}.keras", compile=False)
    )


@pytest.mark.parametrize("input_set", fast_sample(INPUT_SETS))
def test_shipped_model_every_layer_matches_keras(shipped: LoadedModel, input_set: str) -> None:
    x = INPUT_SETS[input_set]
    assert_layers_match(shipped.layers, keras_model_of(shipped), x, input_set)


def test_shipped_model_one_input_at_a_time_matches_keras(shipped: LoadedModel) -> None:
    """The server passes one (784,) vector, not a batch."""
    rng = np.random.default_rng(5)
    picks = rng.choice(len(ALL_INPUTS), size=40, replace=False)
    expected = keras_layer_outputs(keras_model_of(shipped), ALL_INPUTS[picks])
    for row, pick in enumerate(picks):
        prediction = shipped.predict(ALL_INPUTS[pick])
        a_prev = as_network_input(shipped.layers, ALL_INPUTS[pick])
        allowed = np.zeros(())
        for layer, result, keras_a in zip(shipped.layers, prediction.layers, expected, strict=True):
            assert result.a.shape == keras_a[row].shape
            if isinstance(layer, MaxPoolLayer | FlattenLayer):  # no arithmetic: as the layer below
                allowed = layer.forward(np.broadcast_to(allowed, a_prev.shape)).a
            else:
                allowed = parity_allowance(layer, a_prev)
            assert_within(result.a, keras_a[row], allowed, f"input {pick}, {layer.name}")
            a_prev = result.a
        output = expected[-1][row]
        expected_probabilities = [1 - output[0], output[0]] if output.size == 1 else output
        assert_within(
            prediction.probabilities, expected_probabilities, np.max(allowed), "probabilities"
        )


def test_default_model_is_the_learners_25_15_network() -> None:
    default = load_model(DEFAULT_CARD)
    shapes = [(layer.weights.shape, layer.activation) for layer in default.layers]
    assert shapes == [((784, 25), "sigmoid"), ((25, 15), "sigmoid"), ((15, 1), "sigmoid")]


DETECTOR_CARDS = [card for card in SHIPPED_CARDS if "ood" in json.loads(card.read_text())]


@pytest.mark.parametrize("card_path", DETECTOR_CARDS, ids=lambda card: card.stem)
def test_shipped_detector_matches_keras(card_path: Path) -> None:
    shipped = load_model(card_path)
    assert shipped.ood is not None
    card = shipped.card
    detector = keras.saving.load_model(MODEL_STORE / card["ood"]["file"], compile=False)
    assert_layers_match(shipped.ood.layers, detector, ALL_INPUTS, "ood")


# --- freshly built models --------------------------------------------------------------------

# (hidden units, hidden activation, output units, output activation)
ARCHITECTURES = [
    ((25, 15), "sigmoid", 1, "sigmoid"),
    ((64,), "relu", 10, "softmax"),
    ((32, 16, 8), "tanh", 3, "softmax"),
    ((12,), "linear", 1, "sigmoid"),
    ((), "", 10, "softmax"),
    ((100, 50), "relu", 5, "relu"),
    ((20,), "sigmoid", 4, "tanh"),
    ((8, 8), "tanh", 2, "linear"),
    ((300,), "relu", 2, "softmax"),
]


def _architecture_id(architecture: tuple[Any, ...]) -> str:
    hidden, hidden_activation, units, activation = architecture
    shape = "-".join(str(size) for size in (784, *hidden))
    inner = f"{shape}{hidden_activation}" if hidden else shape
    return f"{inner}-{units}{activation}"


@pytest.mark.parametrize("architecture", ARCHITECTURES, ids=_architecture_id)
def test_random_model_every_layer_matches_keras(architecture: tuple[Any, ...]) -> None:
    model = random_keras_model(architecture, seed=ARCHITECTURES.index(architecture))
    layers = layers_from_keras(model)
    what = _architecture_id(architecture)
    assert_layers_match(layers, model, ALL_INPUTS, what)


# --- convolutional models --------------------------------------------------------------------

CONV_TOLERANCE = 1e-4  # the floor for every z and a of a convolutional network


@pytest.mark.parametrize(
    "architecture",
    fast_sample(CONV_ARCHITECTURES, unlike_the_shipped_cnn),
    ids=conv_architecture_id,
)
def test_random_conv_model_every_layer_matches_keras(architecture: str) -> None:
    model = random_conv_model(architecture, seed=CONV_ARCHITECTURES.index(architecture))
    layers = core_layers_from_keras(model)
    model = image_model(model)  # a leading reshape of the pixels is the input's, not a layer
    assert [layer.output_shape for layer in layers] == [
        tuple(layer.output.shape[1:]) for layer in model.layers
    ]
    assert_layers_match(layers, model, ALL_INPUTS, architecture, at_most=CONV_TOLERANCE)


def test_conv_model_one_example_matches_its_row_of_a_batch() -> None:
    """One flat (784,) example gives (h, w, channels) maps, the same as its row of a batch."""
    model = random_conv_model(CONV_ARCHITECTURES[0], seed=0)
    layers = core_layers_from_keras(model)
    batch = forward(layers, ALL_INPUTS[:5])
    for row in range(5):
        for layer, one, many in zip(layers, forward(layers, ALL_INPUTS[row]), batch, strict=True):
            assert one.a.shape == layer.output_shape
            np.testing.assert_allclose(one.a, many.a[row], atol=1e-6, rtol=0)


def test_conv_parity_check_is_not_vacuous() -> None:
    """One kernel number off by 0.01 is caught."""
    model = random_conv_model(CONV_ARCHITECTURES[0], seed=0)
    layers = list(core_layers_from_keras(model))
    conv = layers[2]
    assert isinstance(conv, Conv2DLayer)
    wrong = conv.weights.copy()
    wrong[1, 1, 0, 0] += 0.01
    layers[2] = replace(conv, weights=wrong)
    with pytest.raises(AssertionError, match=r"layer 2 \(l2\), z"):
        assert_layers_match(tuple(layers), model, INPUT_SETS["random-uniform"], "perturbed")


@pytest.mark.parametrize(
    ("layers", "refusal"),
    [
        (lambda: [keras.layers.Conv2D(2, 3, dilation_rate=2)], "dilated"),
        (lambda: [keras.layers.Conv2D(2, 3, use_bias=False)], "no biases"),
        (lambda: [keras.layers.AveragePooling2D(2)], "AveragePooling2D; only Dense, Conv2D"),
        (lambda: [keras.layers.Conv2D(2, 3, activation="elu")], "activation 'elu'"),
        (lambda: [keras.layers.Conv2D(2, 3), keras.layers.Dense(3)], "flatten first"),
    ],
    ids=["dilated", "no-bias", "average-pooling", "elu", "dense-on-maps"],
)
def test_conv_layers_the_numpy_network_cannot_reproduce_are_refused_by_name(
    layers: Callable[[], list[Any]], refusal: str
) -> None:
    model = keras.Sequential([keras.Input((28, 28, 1)), *layers()])
    with pytest.raises(UnservableModelError, match=re.escape(refusal)):
        core_layers_from_keras(model)


SERVABLE = [arch for arch in ARCHITECTURES if arch[3] == "softmax" or arch[2:] == (1, "sigmoid")]


@pytest.mark.parametrize("architecture", fast_sample(SERVABLE), ids=_architecture_id)
def test_random_model_loaded_like_the_server_matches_keras(
    architecture: tuple[Any, ...], tmp_path: Path, save_with_card: Callable[..., Path]
) -> None:
    """Saved to a model store and loaded by the registry, as the server does at start-up."""
    model = random_keras_model(architecture, seed=11)
    units = architecture[2]
    classes = ["0", "1"] if units == 1 else [str(digit) for digit in range(units)]
    card_path = save_with_card(model, classes, tmp_path)
    served = load_model(card_path)
    reloaded = keras.saving.load_model(card_path.with_suffix(".keras"), compile=False)
    assert_layers_match(served.layers, reloaded, ALL_INPUTS, "served")
    probabilities = class_probabilities(forward(served.layers, ALL_INPUTS)[-1].a, len(classes))
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, atol=1e-6)


@pytest.fixture
def save_with_card() -> Callable[..., Path]:
    from training.model_store_writer import save_model_with_card

    def save(model: Any, classes: list[str], folder: Path, name: str = "random") -> Path:
        card = {"name": name, "classes": classes, "metrics": {}}
        save_model_with_card(model, card, folder, name)
        return folder / f"{name}.json"

    return save


def test_parity_check_is_not_vacuous() -> None:
    """A one-ulp-sized error passes, a wrong weight does not: the tolerance can catch bugs."""
    model = random_keras_model(((16,), "sigmoid", 1, "sigmoid"), seed=3)
    layers = list(layers_from_keras(model))
    first = layers[0]
    wrong = first.weights.copy()
    wrong[300, 0] += 0.01
    layers[0] = DenseLayer(first.name, first.activation, wrong, first.biases)
    x = INPUT_SETS["random-uniform"]
    with pytest.raises(AssertionError):
        assert_layers_match(tuple(layers), model, x, "perturbed")


def test_the_servers_load_time_check_takes_a_right_pass_and_refuses_a_wrong_one() -> None:
    """The start-up check (app.model_registry) on a relu network with large sums, on its own
    probe inputs: the right weights pass; one weight off by 0.01 is refused by name."""
    model = random_keras_model(((256, 128), "relu", 10, "softmax"), seed=4)
    layers = list(layers_from_keras(model))
    probe = np.random.default_rng(0).random((8, 784), dtype=np.float32)
    _check_parity(model, tuple(layers), probe, Path("right.keras"))
    last = layers[-1]
    wrong = last.weights.copy()
    wrong[0, 0] += 0.01
    layers[-1] = DenseLayer(last.name, last.activation, wrong, last.biases)
    with pytest.raises(ModelStoreError, match=r"wrong\.keras: the NumPy forward pass differs"):
        _check_parity(model, tuple(layers), probe, Path("wrong.keras"))
