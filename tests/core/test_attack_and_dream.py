"""core/adversarial.py and core/dream.py on networks the app may serve, dense or convolutional,
built in NumPy (the maths of each backward pass is checked against tf.GradientTape in
test_backward_pass.py): the ε-box holds exactly, the target's loss falls, the same call gives the
same trace, and a dream raises its unit."""

from __future__ import annotations

import numpy as np
import pytest

from core.adversarial import epsilon_box, fool, projected_gradient_descent, step_size
from core.dream import class_objective, dream, dream_class, window_winners
from core.network import (
    Conv2DLayer,
    DenseLayer,
    FlattenLayer,
    Layer,
    MaxPoolLayer,
    backward,
    forward,
)


def conv_network(seed: int) -> tuple[Layer, ...]:
    """conv 4×3×3 relu → max pool 2×2 → flatten → dense 10 softmax, random weights."""
    rng = np.random.default_rng(seed)
    conv = Conv2DLayer(
        "conv", "relu", rng.normal(0, 0.5, (3, 3, 1, 4)).astype(np.float32),
        rng.normal(0, 0.1, 4).astype(np.float32), (1, 1), "same", (28, 28, 1),
    )
    pool = MaxPoolLayer("pool", (2, 2), (2, 2), "valid", (28, 28, 4))
    flatten = FlattenLayer("flatten", (14, 14, 4))
    dense = DenseLayer(
        "output", "softmax", rng.normal(0, 0.05, (784, 10)).astype(np.float32),
        np.zeros(10, np.float32),
    )
    return (conv, pool, flatten, dense)


def dense_network(seed: int) -> tuple[Layer, ...]:
    """784 → 16 sigmoid → 1 sigmoid, random weights: the 0/1 model's shape."""
    rng = np.random.default_rng(seed)
    return (
        DenseLayer("hidden", "sigmoid", rng.normal(0, 0.1, (784, 16)).astype(np.float32),
                   np.zeros(16, np.float32)),
        DenseLayer("output", "sigmoid", rng.normal(0, 0.5, (16, 1)).astype(np.float32),
                   np.zeros(1, np.float32)),
    )


def drawings(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((count, 784), dtype=np.float32)


def loss(layers: tuple[Layer, ...], x: np.ndarray, target: int) -> float:
    return backward(layers, x, forward(layers, x), target).loss  # type: ignore[return-value]


@pytest.mark.parametrize(("network", "classes"), [(conv_network, 10), (dense_network, 2)])
@pytest.mark.parametrize("epsilon", [0.01, 0.1, 0.25, 1.0])
def test_every_step_stays_within_epsilon_and_inside_0_1(
    network: object, classes: int, epsilon: float
) -> None:
    layers, x = network(1), drawings(4)  # type: ignore[operator]
    attack = projected_gradient_descent(layers, x, 1, classes, epsilon, 6)
    for image in attack.trace_images:
        assert np.abs(image.astype(np.float64) - x.astype(np.float64)).max() <= epsilon
        assert image.min() >= 0.0 and image.max() <= 1.0


@pytest.mark.parametrize(("network", "classes"), [(conv_network, 10), (dense_network, 2)])
def test_the_targets_loss_falls(network: object, classes: int) -> None:
    layers = network(2)  # type: ignore[operator]
    for x in drawings(3, seed=5):
        attack = projected_gradient_descent(layers, x, 1, classes, 0.1, 10)
        assert loss(layers, attack.image, 1) < loss(layers, x, 1)
        before = forward(layers, x)[-1].a.reshape(-1)
        assert attack.trace[-1][1] >= (before[0] if classes == 2 else before[1])


def test_a_batch_is_attacked_as_each_example_alone() -> None:
    layers, x = conv_network(3), drawings(3)
    batch = projected_gradient_descent(layers, x, 4, 10, 0.2, 5)
    for row, image in zip(x, batch.image, strict=True):
        alone = projected_gradient_descent(layers, row, 4, 10, 0.2, 5).image
        np.testing.assert_allclose(alone, image, atol=1e-6)


def test_the_same_call_gives_the_same_trace() -> None:
    layers, x = conv_network(4), drawings(1)[0]
    first = projected_gradient_descent(layers, x, 2, 10, 0.25, 8)
    again = projected_gradient_descent(layers, x, 2, 10, 0.25, 8)
    for one, other in zip(first.trace + first.trace_images, again.trace + again.trace_images,
                          strict=True):
        np.testing.assert_array_equal(one, other)


def test_one_step_is_the_fast_gradient_sign_method() -> None:
    assert step_size(0.25, 1) == 0.25
    assert step_size(0.25, 20) == pytest.approx(0.03125)


@pytest.mark.parametrize(("epsilon", "steps"), [(0.0, 5), (1.5, 5), (float("nan"), 5),
                                                 (0.1, 0), (0.1, 101)])
def test_settings_outside_the_bounds_are_refused(epsilon: float, steps: int) -> None:
    with pytest.raises(ValueError, match=r"epsilon|steps"):
        projected_gradient_descent(dense_network(0), drawings(1)[0], 1, 2, epsilon, steps)


def test_the_box_holds_exactly_where_float32_rounding_would_step_past_it() -> None:
    x = np.linspace(0, 1, 10001, dtype=np.float32)
    for epsilon in (0.25, 0.1, 1 / 3):
        low, high = epsilon_box(x, epsilon)
        exact = x.astype(np.float64)
        assert np.all(exact - low <= epsilon) and np.all(high - exact <= epsilon)
        assert np.all(low >= 0) and np.all(high <= 1) and np.all(low <= x) and np.all(x <= high)


def test_fool_keeps_the_drawings_attack_when_it_reaches_the_target() -> None:
    layers, x = conv_network(7), drawings(1, seed=3)[0]
    alone = projected_gradient_descent(layers, x, 5, 10, 1.0, 10)
    assert alone.probabilities.argmax() == 5
    fooled = fool(layers, x, 5, 10, 1.0, 10)
    assert fooled.start == "drawing"
    np.testing.assert_array_equal(fooled.image, alone.image)


def test_fool_keeps_the_drawings_attack_when_neither_start_reaches_and_is_deterministic() -> (
    None
):
    layers, x = dense_network(8), drawings(1, seed=4)[0]
    target = int(1 - forward(layers, x)[-1].a.reshape(-1)[0].round())  # the class it is not
    tiny = fool(layers, x, target, 2, 1e-4, 3)  # too small a box for either start
    assert tiny.start == "drawing"
    np.testing.assert_array_equal(
        tiny.image, projected_gradient_descent(layers, x, target, 2, 1e-4, 3).image
    )
    dreamt = dream_class(layers, target)
    again = projected_gradient_descent(layers, x, target, 2, 1e-4, 3, start=dreamt)
    assert again.probabilities.argmax() != target  # the second start fell short too
    for first, second in zip(fool(layers, x, target, 2, 0.3, 5).trace,
                             fool(layers, x, target, 2, 0.3, 5).trace, strict=True):
        np.testing.assert_array_equal(first, second)


def test_a_class_of_one_sigmoid_output_is_dreamt_by_its_sign() -> None:
    assert class_objective(dense_network(0), 1) == (1, 0, 1.0)
    assert class_objective(dense_network(0), 0) == (1, 0, -1.0)
    assert class_objective(conv_network(0), 7) == (3, 7, 1.0)
    one, zero = dream_class(dense_network(0), 1), dream_class(dense_network(0), 0)
    output = [forward(dense_network(0), image)[-1].z.item() for image in (one, zero)]
    assert output[0] > output[1]


# --- core/dream.py on the same networks -------------------------------------------------------


@pytest.mark.parametrize(("layer_index", "units"), [(0, [0, 5, 3000]), (1, [7]), (3, [2, 9])])
def test_a_dream_raises_each_units_z_above_the_grey_start(
    layer_index: int, units: list[int]
) -> None:
    layers = conv_network(6)
    images = dream(layers, layer_index, units, steps=20)
    grey = np.full((1, 784), 0.5, np.float32)
    before = forward(layers, grey)[layer_index].z.reshape(1, -1)[0, units]
    after = forward(layers, images)[layer_index].z.reshape(len(units), -1)
    assert np.all(after[np.arange(len(units)), units] > before)
    assert images.min() >= 0.0 and images.max() <= 1.0


def test_a_unit_outside_the_layer_is_refused() -> None:
    with pytest.raises(ValueError, match="units 0 to 3135"):
        dream(conv_network(0), 0, [3136])


def dead_at_grey_conv_network() -> tuple[Layer, ...]:
    """conv_network(9) with each filter's bias halfway between −(its positive weights) and
    −(half its weights): away from the edges its ReLU is 0 on the grey start, yet some input
    in [0, 1] makes it positive."""
    conv, pool, flatten, dense = conv_network(9)
    weights = conv.weights.reshape(-1, 4)
    bias = -(np.maximum(weights, 0).sum(axis=0) + 0.5 * weights.sum(axis=0)) / 2
    shifted = Conv2DLayer(conv.name, conv.activation, conv.weights, bias.astype(np.float32),
                          conv.strides, conv.padding, conv.input_shape)
    return (shifted, pool, flatten, dense)


def test_a_pooling_cell_dead_on_grey_is_raised_through_its_windows_highest_z() -> None:
    layers = dead_at_grey_conv_network()
    units = [(7 * 14 + 7) * 4 + 1, (2 * 14 + 11) * 4 + 3]
    grey = np.full((1, 784), 0.5, np.float32)
    assert np.all(forward(layers, grey)[1].a.reshape(-1)[units] == 0.0)
    images = dream(layers, 1, units, steps=30)
    pooled = forward(layers, images)[1].a.reshape(len(units), -1)
    assert np.all(pooled[np.arange(len(units)), units] > 0.0)


def test_window_winners_marks_the_highest_z_of_each_units_window() -> None:
    layers, x = conv_network(10), drawings(2, seed=6)
    below = forward(layers, x)[0]
    pool, units = layers[1], [(3 * 14 + 5) * 4 + 2, 13 * 14 * 4 + 13 * 4 + 0]
    delta = window_winners(pool, units, [1.0, -1.0], below)
    for k, (unit, sign) in enumerate(zip(units, [1.0, -1.0], strict=True)):
        row, column, channel = np.unravel_index(unit, pool.output_shape)
        window = below.z[k, 2 * row : 2 * row + 2, 2 * column : 2 * column + 2, channel]
        i, j = np.unravel_index(np.argmax(window), window.shape)
        expected = np.zeros_like(delta[k])
        expected[2 * row + i, 2 * column + j, channel] = sign
        np.testing.assert_array_equal(delta[k], expected)


def test_a_map_cell_is_dreamt_without_the_blur_and_a_dense_unit_with_it() -> None:
    layers = conv_network(11)
    cell = dream(layers, 0, [(14 * 28 + 14) * 4 + 1], steps=12)[0].reshape(28, 28)
    far = np.ones((28, 28), bool)
    far[12:17, 12:17] = False  # more than one pixel outside the cell's 3×3 window
    # Only the window's pixels had a gradient; with no blur the rest only decayed alike.
    assert np.ptp(cell[far]) == 0.0
    whole = dream(layers, 3, [4], steps=12)[0]
    assert np.ptp(whole) > 0.0
