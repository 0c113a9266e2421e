"""core.network's hand-written backward pass against TensorFlow's automatic one.

For one example and a target class, ``tf.GradientTape`` differentiates the loaded Keras model's
own layers (its kernels, biases and activation functions) with Keras's cross-entropy from the
output's logits. Every δ = ∂L/∂z and ∂L/∂x must agree within 1e-5 plus eight float32 steps of
the value (tests/gradient_tape.py), the loss after one plain gradient-descent step within 1e-5,
and ∂L/∂W and ∂L/∂b within 1e-5 plus 8 float32 ulps of the magnitude of what they sum
(`parameter_gradient_allowance`): for the shipped models (the CNN too) and for
random dense and convolutional architectures, on real MNIST digits with right and wrong
targets. Also: extreme z gives a large finite loss and finite gradients, and the served model
is never changed by a step. `make test-fast` runs a sample of the repeated comparisons (one
example, one learning rate, the architectures unlike the shipped models; tests/fast_cases.py),
`make test` every one.

Over 300 lines because it builds the models and inputs it compares here, where their choice is
explained.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fast_cases import fast_sample
from gradient_tape import (
    GRADIENT_RELATIVE,
    LOSS_RELATIVE,
    keras_loss_after_step,
    parameter_gradient_allowance,
    tape_gradients,
    tape_gradients_of,
)
from project_paths import MODEL_STORE, mnist_test_split

from app.model_registry import LoadedModel, load_model
from core.network import (
    Conv2DLayer,
    DenseLayer,
    Layer,
    MaxPoolLayer,
    after_one_step,
    as_network_input,
    backward,
    backward_from_delta,
    backward_from_output,
    class_probabilities,
    cross_entropy,
    forward,
    gradient_step,
    layers_from_keras,
    target_vector,
)

keras = pytest.importorskip("keras")
from random_models import (  # noqa: E402 (after the skip)
    CONV_ARCHITECTURES,
    conv_architecture_id,
    image_model,
    random_conv_model,
    random_keras_model,
    unlike_the_shipped_cnn,
)

tf = pytest.importorskip("tensorflow")

SHIPPED_CARDS = sorted((MODEL_STORE).glob("*.json"))
TOLERANCE = 1e-5
LEARNING_RATES = (0.05, 0.5, 2.0)


def _examples() -> np.ndarray:
    """Real MNIST test digits when available (one of each kind), else stroke-like inputs."""
    if (mnist := mnist_test_split()) is not None:
        images, labels = mnist
        firsts = [int(np.flatnonzero(labels == digit)[0]) for digit in range(10)]
        return images[firsts].reshape(10, 784).astype(np.float32) / 255.0
    rng = np.random.default_rng(7)
    x = np.zeros((10, 784), dtype=np.float32)
    mask = rng.random((10, 784)) < 0.15
    x[mask] = rng.uniform(0.2, 1.0, size=int(mask.sum())).astype(np.float32)
    return x


EXAMPLES = _examples()


# --- models ----------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=SHIPPED_CARDS, ids=lambda card: card.stem)
def shipped(request: pytest.FixtureRequest) -> LoadedModel:
    """Each shipped model as the server loads and serves it."""
    return load_model(request.param)


@pytest.fixture(scope="module")
def shipped_keras(shipped: LoadedModel) -> Any:
    """The same model's .keras file, loaded by Keras itself."""
    path = MODEL_STORE / f"{shipped.name}.keras"
    return image_model(keras.saving.load_model(path, compile=False))


# (hidden units, hidden activation, output units, output activation)
ARCHITECTURES = [
    ((25, 15), "sigmoid", 1, "sigmoid"),
    ((32, 16), "relu", 10, "softmax"),
    ((24, 12), "tanh", 1, "sigmoid"),
    ((20,), "sigmoid", 4, "softmax"),
    ((40,), "relu", 1, "sigmoid"),
    ((16, 16, 8), "tanh", 3, "softmax"),
    ((), "", 10, "softmax"),
    ((16,), "softmax", 1, "sigmoid"),  # softmax mixes its units: δ is not δ_up ⊙ g′(z)
    ((12,), "linear", 3, "softmax"),
]


def _architecture_id(architecture: tuple[Any, ...]) -> str:
    hidden, hidden_activation, units, activation = architecture
    inner = "-".join(str(size) for size in (784, *hidden)) + hidden_activation
    return f"{inner}-{units}{activation}"


def _unlike_the_shipped_models(architecture: tuple[Any, ...]) -> bool:
    """Hidden units of an activation no shipped model has (or none): `make test-fast` checks
    these, since the shipped sigmoid and relu networks are checked there themselves."""
    return architecture[1] not in ("sigmoid", "relu")


@pytest.fixture(
    scope="module",
    params=fast_sample(ARCHITECTURES, _unlike_the_shipped_models),
    ids=_architecture_id,
)
def random_model(request: pytest.FixtureRequest) -> tuple[Any, tuple[DenseLayer, ...]]:
    model = random_keras_model(request.param, seed=ARCHITECTURES.index(request.param))
    return model, layers_from_keras(model)


def _targets(layers: tuple[Layer, ...]) -> range:
    units = layers[-1].output_shape[0]
    return range(2 if units == 1 else units)


# --- the comparisons -------------------------------------------------------------------------


def assert_within(ours: np.ndarray, theirs: np.ndarray, allowed: np.ndarray, what: str) -> None:
    error = np.abs(np.asarray(ours, dtype=np.float64) - theirs)
    worst = np.unravel_index(np.argmax(error - allowed), error.shape)
    assert np.all(error <= allowed), (
        f"{what}: differs by {error[worst]:.3g} at {worst}, allowed {allowed[worst]:.3g}"
    )


def assert_backward_matches_tape(
    keras_model: Any, layers: tuple[Layer, ...], x: np.ndarray, target: int
) -> None:
    results = forward(layers, x)
    ours = backward(layers, x, results, target)
    theirs = tape_gradients(keras_model, x, target_vector(layers[-1], target))
    where = f"target {target}"
    assert ours.loss == pytest.approx(theirs.loss, abs=TOLERANCE, rel=LOSS_RELATIVE), where
    assert len(ours.deltas) == len(theirs.deltas) == len(layers)
    for index, (delta, expected) in enumerate(zip(ours.deltas, theirs.deltas, strict=True)):
        assert delta.shape == layers[index].output_shape
        np.testing.assert_allclose(
            delta, expected, atol=TOLERANCE, rtol=GRADIENT_RELATIVE,
            err_msg=f"{where}, δ of layer {index}",
        )
        if theirs.weight_gradients[index] is None:  # pooling, flatten: nothing to learn
            continue
        weight_gradient, bias_gradient = ours.parameter_gradients(index)
        weight_allowed, bias_allowed = parameter_gradient_allowance(
            layers[index], ours.layer_inputs[index], delta  # type: ignore[arg-type]
        )
        assert_within(
            weight_gradient, theirs.weight_gradients[index], weight_allowed,
            f"{where}, ∂L/∂W of layer {index}",
        )
        assert_within(
            bias_gradient, theirs.bias_gradients[index], bias_allowed,
            f"{where}, ∂L/∂b of layer {index}",
        )
    assert ours.input_gradient.shape == (784,)
    np.testing.assert_allclose(
        ours.input_gradient, theirs.input_gradient, atol=TOLERANCE, rtol=GRADIENT_RELATIVE,
        err_msg=where,
    )


@pytest.mark.parametrize("example", fast_sample(range(len(EXAMPLES))))
def test_shipped_model_backward_matches_gradient_tape(
    shipped: LoadedModel, shipped_keras: Any, example: int
) -> None:
    for target in range(len(shipped.classes)):
        assert_backward_matches_tape(shipped_keras, shipped.layers, EXAMPLES[example], target)


@pytest.mark.parametrize("learning_rate", fast_sample(LEARNING_RATES))
def test_shipped_model_loss_after_one_step_matches_keras(
    shipped: LoadedModel, shipped_keras: Any, learning_rate: float
) -> None:
    for example in (0, 1, 7):
        x = EXAMPLES[example]
        for target in (0, len(shipped.classes) - 1):
            gradients = backward(shipped.layers, x, forward(shipped.layers, x), target)
            ours = after_one_step(shipped.layers, x, gradients, target, learning_rate)
            y = target_vector(shipped.layers[-1], target)
            expected = keras_loss_after_step(shipped_keras, x, y, learning_rate)
            assert ours.loss == pytest.approx(expected, abs=TOLERANCE, rel=LOSS_RELATIVE)


@pytest.mark.parametrize("example", fast_sample([0, 1, 4, 9]))
def test_random_model_backward_matches_gradient_tape(
    random_model: tuple[Any, tuple[DenseLayer, ...]], example: int
) -> None:
    keras_model, layers = random_model
    for target in _targets(layers):
        assert_backward_matches_tape(keras_model, layers, EXAMPLES[example], target)


@pytest.mark.parametrize("learning_rate", fast_sample([0.5, 0.01]))
def test_random_model_loss_after_one_step_matches_keras(
    random_model: tuple[Any, tuple[DenseLayer, ...]], learning_rate: float
) -> None:
    keras_model, layers = random_model
    x = EXAMPLES[3]
    for target in _targets(layers):
        gradients = backward(layers, x, forward(layers, x), target)
        ours = after_one_step(layers, x, gradients, target, learning_rate)
        y = target_vector(layers[-1], target)
        expected = keras_loss_after_step(keras_model, x, y, learning_rate)
        assert ours.loss == pytest.approx(expected, abs=TOLERANCE, rel=LOSS_RELATIVE), (
            f"target {target}"
        )


def test_relu_units_at_exactly_zero_pass_no_gradient_like_tensorflow() -> None:
    """z = 0 exactly (an all-zero input and zero biases): relu's slope is taken as 0 there."""
    model = random_keras_model(((8,), "relu", 3, "softmax"), seed=5)
    kernel, _ = model.layers[0].get_weights()
    model.layers[0].set_weights([kernel, np.zeros(8, dtype=np.float32)])
    layers = layers_from_keras(model)
    blank = np.zeros(784, dtype=np.float32)
    assert_backward_matches_tape(model, layers, blank, 1)
    assert not np.any(backward(layers, blank, forward(layers, blank), 1).deltas[0])


# --- convolutional models --------------------------------------------------------------------


# Where two inputs of a pooling window tie for the largest, either is a right answer, and which
# one a library picks is a matter of its float sums' last bits: a blank stretch of a drawing gives
# equal feature-map values that TensorFlow's convolution, summing in another order, makes differ
# by a float32 step. The number-for-number comparisons use digits with seeded noise whose every
# window has a clear winner (WINNER_MARGIN, ten float32 steps at 1, over what two correct passes
# differ by); test_pooling_ties_... checks exact ties on their own.
WINNER_MARGIN = 2e-6
NOISE = np.random.default_rng(23).uniform(0.0, 0.3, EXAMPLES.shape).astype(np.float32)
NOISY_DIGITS = EXAMPLES * 0.7 + NOISE


def pool_winners_are_clear(layers: tuple[Layer, ...], x: np.ndarray) -> bool:
    """Whether every pooling window of ``x``'s forward pass has one input larger than the rest
    by WINNER_MARGIN (or is all zeros: dead relu units, through which no δ flows)."""
    a_prev = as_network_input(layers, x)
    for layer, result in zip(layers, forward(layers, x), strict=True):
        if isinstance(layer, MaxPoolLayer):
            windows = layer.windows
            padded = windows.pad(a_prev, -np.inf)
            inputs = np.stack([windows.at_offset(padded, *offset) for offset in windows.offsets()])
            largest, runner_up = np.sort(inputs, axis=0)[-1:-3:-1]
            if np.any((largest - runner_up < WINNER_MARGIN) & (largest != 0)):
                return False
        a_prev = result.a
    return True


@pytest.fixture(
    scope="module",
    params=fast_sample(CONV_ARCHITECTURES, unlike_the_shipped_cnn),
    ids=conv_architecture_id,
)
def conv_model(request: pytest.FixtureRequest) -> tuple[Any, tuple[Layer, ...], np.ndarray]:
    """A random conv model, and the noisy digits whose pooling has clear winners in it."""
    model = random_conv_model(request.param, seed=CONV_ARCHITECTURES.index(request.param) + 20)
    layers = layers_from_keras(model)
    clear = np.array([x for x in NOISY_DIGITS if pool_winners_are_clear(layers, x)])
    assert len(clear) >= 4, f"only {len(clear)} of the noisy digits have clear pooling winners"
    return image_model(model), layers, clear[:4]


def test_random_conv_model_backward_matches_gradient_tape(
    conv_model: tuple[Any, tuple[Layer, ...], np.ndarray],
) -> None:
    """Every δ (per map, per pooled cell), kernel and bias gradient and ∂L/∂x."""
    keras_model, layers, examples = conv_model
    for x in examples[:2]:
        for target in _targets(layers):
            assert_backward_matches_tape(keras_model, layers, x, target)


@pytest.mark.parametrize("learning_rate", fast_sample([0.5, 0.01]))
def test_random_conv_model_loss_after_one_step_matches_keras(
    conv_model: tuple[Any, tuple[Layer, ...], np.ndarray], learning_rate: float
) -> None:
    keras_model, layers, examples = conv_model
    x = examples[0]
    for target in (0, _targets(layers)[-1]):
        gradients = backward(layers, x, forward(layers, x), target)
        ours = after_one_step(layers, x, gradients, target, learning_rate)
        expected = keras_loss_after_step(keras_model, x, target_vector(layers[-1], target),
                                         learning_rate)
        assert ours.loss == pytest.approx(expected, abs=TOLERANCE, rel=LOSS_RELATIVE)


POOL_FIRST = next(arch for arch in CONV_ARCHITECTURES if arch.startswith("pool2x2-s2"))


@pytest.mark.parametrize("fill", [0.0, 1.0])
def test_pooling_ties_send_delta_to_the_first_input_of_the_window_like_tensorflow(
    fill: float,
) -> None:
    """A blank image: all four inputs of every 2×2 window tie; TensorFlow gives the window's δ
    to its first (top-left) input, and so do we."""
    model = random_conv_model(POOL_FIRST, seed=3)
    layers = layers_from_keras(model)
    x = np.full(784, fill, dtype=np.float32)
    assert_backward_matches_tape(model, layers, x, 1)
    input_gradient = backward(layers, x, forward(layers, x), 1).input_gradient.reshape(28, 28)
    assert np.any(input_gradient[::2, ::2])
    input_gradient[::2, ::2] = 0.0
    assert not np.any(input_gradient)


def _unit_of_every_layer(layers: tuple[Layer, ...]) -> list[tuple[int, tuple[int, ...]]]:
    """(layer, unit) picks: the middle unit of each layer's output, last channel."""
    return [
        (index, (*(size // 2 for size in layer.output_shape[:-1]), layer.output_shape[-1] - 1))
        for index, layer in enumerate(layers)
    ]


def test_backward_from_any_units_activation_matches_gradient_tape(
    conv_model: tuple[Any, tuple[Layer, ...], np.ndarray],
) -> None:
    """f = one unit's activation (of a feature map, a pooled map, a dense layer): ∂f/∂z of
    every layer below it and ∂f/∂x, as the tape gives them."""
    keras_model, layers, examples = conv_model
    x = examples[1]
    results = forward(layers, x)
    for index, unit in _unit_of_every_layer(layers):
        d_output = np.zeros(layers[index].output_shape, dtype=np.float32)
        d_output[unit] = 1.0
        ours = backward_from_output(layers, x, results, index, d_output)
        deltas, input_gradient = tape_gradients_of(
            keras_model, x, lambda zs, activations, i=index, u=unit: activations[i][(0, *u)]
        )
        where = f"a{list(unit)} of layer {index}"
        assert len(ours.deltas) == index + 1
        for below, delta in enumerate(ours.deltas):
            expected = deltas[below] if deltas[below] is not None else np.zeros_like(delta)
            np.testing.assert_allclose(delta, expected, atol=TOLERANCE, rtol=0,
                                       err_msg=f"{where}: δ of layer {below}")
        np.testing.assert_allclose(ours.input_gradient, input_gradient, atol=TOLERANCE, rtol=0,
                                   err_msg=f"{where}: ∂f/∂x")
        assert ours.loss is None


def test_backward_from_a_class_logit_matches_gradient_tape(
    conv_model: tuple[Any, tuple[Layer, ...], np.ndarray],
) -> None:
    keras_model, layers, examples = conv_model
    x = examples[2]
    results = forward(layers, x)
    output = len(layers) - 1
    for k in range(layers[-1].output_shape[0]):
        one_hot = np.zeros(layers[-1].output_shape, dtype=np.float32)
        one_hot[k] = 1.0
        ours = backward_from_delta(layers, x, results, output, one_hot)
        deltas, input_gradient = tape_gradients_of(
            keras_model, x, lambda zs, activations, k=k: zs[-1][0, k]
        )
        for below, delta in enumerate(ours.deltas):
            np.testing.assert_allclose(delta, deltas[below], atol=TOLERANCE, rtol=0,
                                       err_msg=f"logit {k}: δ of layer {below}")
        np.testing.assert_allclose(ours.input_gradient, input_gradient, atol=TOLERANCE, rtol=0)


def test_backward_over_a_batch_is_every_example_backward_and_sums_the_weight_gradients(
    conv_model: tuple[Any, tuple[Layer, ...], np.ndarray],
) -> None:
    """Gradient × input for many digits at once: a batch of logit gradients, row by row the
    same as one at a time; ∂f/∂W sums over the batch."""
    _, layers, examples = conv_model
    x = examples
    results = forward(layers, x)
    output = len(layers) - 1
    units = layers[-1].output_shape[0]
    one_hots = np.eye(units, dtype=np.float32)[np.arange(4) % units]
    batch = backward_from_delta(layers, x, results, output, one_hots)
    assert batch.input_gradient.shape == x.shape
    singles = [
        backward_from_delta(layers, x[row], forward(layers, x[row]), output, one_hots[row])
        for row in range(4)
    ]
    for row, single in enumerate(singles):
        np.testing.assert_allclose(batch.input_gradient[row], single.input_gradient, atol=1e-6)
        for below, delta in enumerate(single.deltas):
            np.testing.assert_allclose(batch.deltas[below][row], delta, atol=1e-6)
    for index, layer in enumerate(layers):
        if isinstance(layer, DenseLayer | Conv2DLayer):
            summed = sum(single.weight_gradient(index) for single in singles)
            np.testing.assert_allclose(batch.weight_gradient(index), summed, atol=1e-5)


# --- a step's effect -------------------------------------------------------------------------


def test_one_small_step_lowers_the_loss_of_a_wrong_target(shipped: LoadedModel) -> None:
    x = EXAMPLES[0]  # a 0: the wrong answer is the last class
    target = len(shipped.classes) - 1
    results = forward(shipped.layers, x)
    gradients = backward(shipped.layers, x, results, target)
    # Small for this model: the step's first-order drop, η·‖∂L/∂θ‖², a tenth of the loss (a
    # confidently wrong CNN has gradients so large that η = 0.05 overshoots), at most 0.05.
    squared = sum(
        float(np.sum(np.square(part, dtype=np.float64)))
        for index, layer in enumerate(shipped.layers)
        if isinstance(layer, DenseLayer | Conv2DLayer)
        for part in gradients.parameter_gradients(index)
    )
    after = after_one_step(shipped.layers, x, gradients, target,
                           min(0.05, 0.1 * gradients.loss / squared))
    assert after.loss < gradients.loss
    before_p = class_probabilities(results[-1].a, len(shipped.classes))[target]
    after_p = class_probabilities(after.output, len(shipped.classes))[target]
    assert after_p > before_p


def test_a_step_leaves_the_served_model_unchanged(shipped: LoadedModel) -> None:
    learning = [layer for layer in shipped.layers if isinstance(layer, DenseLayer | Conv2DLayer)]
    weights_before = [(layer.weights.copy(), layer.biases.copy()) for layer in learning]
    x = EXAMPLES[2]
    before = shipped.predict(x)
    gradients = backward(shipped.layers, x, before.layers, 1)
    stepped = gradient_step(shipped.layers, gradients, 10.0)
    after_one_step(shipped.layers, x, gradients, 1, 10.0)
    assert not np.array_equal(stepped[0].weights, shipped.layers[0].weights)  # type: ignore[union-attr]
    for layer, (weights, biases) in zip(learning, weights_before, strict=True):
        np.testing.assert_array_equal(layer.weights, weights)
        np.testing.assert_array_equal(layer.biases, biases)
    np.testing.assert_array_equal(shipped.predict(x).probabilities, before.probabilities)


# --- confident mistakes ----------------------------------------------------------------------


def _output_layer(units: int, activation: str) -> DenseLayer:
    return DenseLayer(
        "output", activation, np.zeros((1, units), np.float32), np.zeros(units, np.float32)
    )


@pytest.mark.parametrize("z", [-1e4, -200.0, -89.0, 89.0, 200.0, 1e4, 3e38])
def test_binary_loss_of_a_confident_mistake_is_large_and_finite(z: float) -> None:
    output = _output_layer(1, "sigmoid")
    wrong = 0 if z > 0 else 1  # the target the output is confidently against
    loss = cross_entropy(output, np.array([z], np.float32), target_vector(output, wrong))
    assert np.isfinite(loss)
    assert loss == pytest.approx(abs(z), rel=1e-6)


@pytest.mark.parametrize("spread", [100.0, 1e4, 1e30])
def test_categorical_loss_of_a_confident_mistake_is_large_and_finite(spread: float) -> None:
    output = _output_layer(3, "softmax")
    z = np.array([spread, -spread, 0.0], np.float32)
    loss = cross_entropy(output, z, target_vector(output, 1))
    assert np.isfinite(loss)
    assert loss == pytest.approx(2 * spread, rel=1e-6)


@pytest.mark.parametrize(
    "architecture",
    [((25, 15), "sigmoid", 1, "sigmoid"), ((20,), "tanh", 10, "softmax")],
    ids=_architecture_id,
)
def test_saturated_network_gives_finite_gradients(architecture: tuple[Any, ...]) -> None:
    """Weights so large that every unit saturates and the output is sure of the wrong class."""
    model = random_keras_model(architecture, seed=9)
    layers = tuple(
        DenseLayer(layer.name, layer.activation, layer.weights * 1e4, layer.biases * 1e4)
        for layer in layers_from_keras(model)
    )
    x = EXAMPLES[5]
    results = forward(layers, x)
    wrong = (
        1 - int(results[-1].a[0] > 0.5) if layers[-1].units == 1 else int(np.argmin(results[-1].z))
    )
    gradients = backward(layers, x, results, wrong)
    assert gradients.loss > 100 and np.isfinite(gradients.loss)
    assert all(np.all(np.isfinite(delta)) for delta in gradients.deltas)
    assert np.all(np.isfinite(gradients.input_gradient))
    after = after_one_step(layers, x, gradients, wrong, 0.5)
    assert np.isfinite(after.loss) and np.all(np.isfinite(after.output))


def test_confident_mistake_matches_keras_where_the_naive_formula_overflows() -> None:
    """z = −120: log(sigmoid(z)) is log(0) = −inf in float32; from the logits it is 120."""
    output = _output_layer(1, "sigmoid")
    z = np.array([[-120.0]], np.float32)
    expected = float(keras.losses.binary_crossentropy(np.array([[1.0]]), z, from_logits=True)[0])
    assert cross_entropy(output, z[0], target_vector(output, 1)) == pytest.approx(
        expected, abs=TOLERANCE
    )


# --- bad targets -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("units", "activation", "target"), [(1, "sigmoid", 2), (1, "sigmoid", -1), (10, "softmax", 10)]
)
def test_target_outside_the_classes_is_refused(units: int, activation: str, target: int) -> None:
    with pytest.raises(ValueError, match="not"):
        target_vector(_output_layer(units, activation), target)


def test_output_without_a_cross_entropy_is_refused() -> None:
    with pytest.raises(ValueError, match="one sigmoid unit or a softmax"):
        target_vector(_output_layer(3, "relu"), 0)
