"""A model's atlas maps are made on first use, a layer at a time (core/atlas.py's LayerMaps):
nothing is mapped until a layer is asked for, asking maps that layer only, the map is the one a
whole forward pass gives, listing or testing names maps nothing, and threads that ask for the
same layer at once get one map, made once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from project_paths import MODEL_STORE
from random_models import random_conv_model

from core.atlas import (
    ATLAS_FILE,
    INPUT_LAYER,
    LayerMap,
    LayerMaps,
    ModelAtlas,
    build_model_atlas,
    load_atlas,
)
from core.network import forward, layers_from_keras

ARCHITECTURE = "conv4-3x3-same-s1-relu pool2x2-s2-valid flatten dense10-softmax"
DIGITS = tuple(str(d) for d in range(10))


@pytest.fixture(scope="module")
def conv_network() -> tuple:
    return layers_from_keras(random_conv_model(ARCHITECTURE, seed=7))


@pytest.fixture
def model_atlas(conv_network: tuple) -> ModelAtlas:
    atlas = load_atlas(MODEL_STORE / ATLAS_FILE)
    small = type(atlas)(atlas.images[::10], atlas.labels[::10], atlas.indices[::10])
    built = build_model_atlas(small, conv_network, DIGITS)
    assert built is not None
    return built


def test_building_a_models_atlas_maps_no_layer(model_atlas: ModelAtlas) -> None:
    assert model_atlas.maps.computed() == []
    assert model_atlas.layer_names == ["input", "l0", "l1", "l2", "l3"]
    assert "l1" in model_atlas.maps and "nothing" not in model_atlas.maps
    assert len(model_atlas.maps) == 5
    assert model_atlas.default_layer() == "l2"
    assert model_atlas.maps.computed() == []


def test_asking_for_a_layer_maps_that_layer_only_and_keeps_it(model_atlas: ModelAtlas) -> None:
    first = model_atlas.maps["l1"]
    assert model_atlas.maps.computed() == ["l1"]
    assert model_atlas.maps.get("l1") is first
    assert model_atlas.maps.get("nothing") is None
    with pytest.raises(KeyError):
        model_atlas.maps["nothing"]
    assert model_atlas.maps.computed() == ["l1"]


@pytest.mark.parametrize("layer", ["input", "l0", "l1", "l2", "l3"])
def test_a_layers_map_is_the_one_a_whole_forward_pass_gives(
    model_atlas: ModelAtlas, conv_network: tuple, layer: str
) -> None:
    pixels = model_atlas.atlas.pixels()
    names = [INPUT_LAYER, *(each.name for each in conv_network)]
    activations = [pixels, *(result.a for result in forward(conv_network, pixels))]
    expected = LayerMap.of(layer, activations[names.index(layer)], model_atlas.class_indices)
    made = model_atlas.maps[layer]
    assert made.units == expected.units
    np.testing.assert_allclose(made.activations, expected.activations, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(made.points, expected.points, atol=1e-4)
    assert made.separation == pytest.approx(expected.separation)


def test_threads_asking_at_once_get_one_map_made_once(
    model_atlas: ModelAtlas, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[str] = []
    making = LayerMaps._map_of
    all_asked = threading.Barrier(4)

    def counted(self: LayerMaps, name: str) -> LayerMap:
        made.append(name)
        return making(self, name)

    def ask(_: int) -> LayerMap:
        all_asked.wait()
        return model_atlas.maps["l0"]

    monkeypatch.setattr(LayerMaps, "_map_of", counted)
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(ask, range(4)))
    assert made == ["l0"]
    assert all(answer is answers[0] for answer in answers)
