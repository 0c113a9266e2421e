"""`python -m training.train --conv 8,16`: a convolutional network, trained on the tiny set,
whose card records its convolutions and which the app serves layer by layer. (A dense network's
card, with no convolution in it, is tests/training/test_model_card.py's.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.model_registry import load_model
from training.settings import TrainSettings, parse_args
from training.train import run


@pytest.fixture(scope="module")
def cnn(tmp_path_factory: pytest.TempPathFactory, tiny_idx_folder: Path) -> TrainSettings:
    """Two convolution layers (2 and 3 filters) before a dense layer of 6 with dropout, one
    epoch."""
    settings = parse_args([
        "--data", str(tiny_idx_folder), "--out", str(tmp_path_factory.mktemp("cnn")),
        "--digits", "0-2", "--conv", "2,3", "--hidden", "6", "--activation", "relu",
        "--dropout", "0.5", "--epochs", "1", "--batch-size", "16", "--no-ood",
    ])
    run(settings)
    return settings


def card_of(settings: TrainSettings) -> dict[str, Any]:
    return json.loads((settings.out / f"{settings.model_name}.json").read_text(encoding="utf-8"))


def test_the_card_records_the_convolutions_and_the_image_input(cnn: TrainSettings) -> None:
    card = card_of(cnn)
    assert card["training"]["conv"] == [2, 3]
    assert card["training"]["dropout"] == 0.5
    assert card["architecture"]["input"]["shape"] == [28, 28, 1]
    assert card["architecture"]["layers"] == [
        {"name": "conv_1", "kind": "conv2d", "shape": [28, 28, 2], "filters": 2,
         "kernel_size": [3, 3], "strides": [1, 1], "padding": "same", "activation": "relu"},
        {"name": "pool_1", "kind": "max_pool", "shape": [14, 14, 2], "pool_size": [2, 2],
         "strides": [2, 2], "padding": "valid"},
        {"name": "conv_2", "kind": "conv2d", "shape": [14, 14, 3], "filters": 3,
         "kernel_size": [3, 3], "strides": [1, 1], "padding": "same", "activation": "relu"},
        {"name": "pool_2", "kind": "max_pool", "shape": [7, 7, 3], "pool_size": [2, 2],
         "strides": [2, 2], "padding": "valid"},
        {"name": "flatten", "kind": "flatten", "shape": [147]},
        {"name": "hidden_1", "units": 6, "activation": "relu"},
        {"name": "output", "units": 3, "activation": "softmax"},
    ]
    assert card["architecture"]["parameters"] == (
        (9 * 2 + 2) + (9 * 2 * 3 + 3) + (147 * 6 + 6) + (6 * 3 + 3)
    )


def test_the_app_serves_the_trained_cnn_layer_by_layer(cnn: TrainSettings) -> None:
    """The registry loads it (its parity probe against Keras included) into the NumPy network;
    the dropout, which acts only while fitting, is not in what was saved."""
    model = load_model(cnn.out / f"{cnn.model_name}.json")
    assert [(layer.kind, layer.output_shape) for layer in model.layers] == [
        ("conv2d", (28, 28, 2)), ("max_pool", (14, 14, 2)), ("conv2d", (14, 14, 3)),
        ("max_pool", (7, 7, 3)), ("flatten", (147,)), ("dense", (6,)), ("dense", (3,)),
    ]
    assert model.layers[0].input_shape == (28, 28, 1)

