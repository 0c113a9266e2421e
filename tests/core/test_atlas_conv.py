"""The atlas and the saliency for a convolutional network: every layer's output read flattened
(conv maps, pooled maps, flatten, dense), a digit finding itself on every map, and the saliency
held to tf.GradientTape (the shipped CNN's is checked through the API when it ships)."""

from __future__ import annotations

from typing import Any

import numpy as np
from gradient_tape import tape_gradients_of
from project_paths import MODEL_STORE
from random_models import random_conv_model

from core.atlas import ATLAS_FILE, build_model_atlas, load_atlas
from core.network import forward, layers_from_keras, saliency

ARCHITECTURE = (
    "conv4-3x3-same-s1-relu pool2x2-s2-valid conv6-3x3-valid-s1-relu flatten dense10-softmax"
)


def test_a_conv_networks_layers_each_get_a_map_and_a_digit_finds_itself() -> None:
    model = random_conv_model(ARCHITECTURE, seed=5)
    layers = layers_from_keras(model)
    atlas = load_atlas(MODEL_STORE / ATLAS_FILE)
    small = type(atlas)(atlas.images[::20], atlas.labels[::20], atlas.indices[::20])
    maps = build_model_atlas(small, layers, tuple(str(d) for d in range(10)))
    assert maps is not None
    assert maps.layer_names == ["input", *(layer.name for layer in layers)]
    assert maps.maps["l0"].units == 28 * 28 * 4
    assert maps.default_layer() == "l3"  # the flatten before the dense output
    x = small.pixels()[3]
    results = forward(layers, x)
    for index, layer in enumerate(layers):
        layer_map = maps.maps[layer.name]
        activation = results[index].a.reshape(-1)
        positions, distances = layer_map.nearest(activation, 8)
        assert distances[0] < 1e-3 and 3 in positions[distances < 1e-3]
        np.testing.assert_allclose(
            layer_map.projection.project(activation), layer_map.points[3], atol=1e-3
        )
        assert 0.0 <= layer_map.separation <= 1.0


def test_a_conv_networks_saliency_is_the_tapes() -> None:
    model = random_conv_model(ARCHITECTURE, seed=6)
    layers = layers_from_keras(model)
    atlas = load_atlas(MODEL_STORE / ATLAS_FILE)
    x = atlas.pixels()[11]
    results = forward(layers, x)
    answer = int(np.argmax(results[-1].a))

    def logit(zs: list[Any], _: list[Any]) -> Any:
        return zs[-1][0, answer]

    _, gradient = tape_gradients_of(model, x, logit)
    np.testing.assert_allclose(saliency(layers, x, results, answer), gradient * x, atol=1e-5)
