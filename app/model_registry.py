"""Load every model in the model store once, check it against its card, and keep it ready.

A model NAME is ``NAME.keras`` beside its card ``NAME.json`` (written by training). Models are
found by their cards. Anything missing, unreadable or inconsistent raises ``ModelStoreError``
with one line naming the file and what is wrong, so the server refuses to start rather than
answer with a half-loaded app.

Over 300 lines because every check a model passes before it is served (its files, its card, its
shapes, its parity with Keras) sits beside the loading it guards.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from core.network import (
    DenseLayer,
    Layer,
    LayerResult,
    UnservableModelError,
    WeightedLayer,
    class_probabilities,
    forward,
    layers_from_keras,
)
from core.ood import OodDetector
from core.quiet_tensorflow import import_tensorflow_quietly

INPUT_UNITS = 784
# The hand-written forward pass must match Keras's own this closely, or the model is refused.
# Each z sums up to 784 float32 products in an order of each library's (and CPU's: vector width,
# oneDNN) choosing, so two correct passes differ by a few float32 ulps of the magnitude of what
# was summed, Σ|a_prev·W| + |b|, not by a fixed amount: 1e-5 plus PARITY_ULPS ulps of that.
PARITY_TOLERANCE = 1e-5
PARITY_ULPS = 8
# How much an activation can stretch an error in z: |g(z + e) − g(z)| ≤ this · |e|. For softmax,
# |Δp_i| ≤ 2·p_i(1 − p_i)·max|Δz| ≤ max|Δz| / 2.
_LIPSCHITZ = {"sigmoid": 0.25, "relu": 1.0, "linear": 1.0, "tanh": 1.0, "softmax": 0.5}

logger = logging.getLogger(__name__)


class ModelStoreError(Exception):
    """A model in the store cannot be served; the message names the file and the problem."""


class UnknownModelError(KeyError):
    pass


@dataclass(frozen=True)
class Prediction:
    probabilities: np.ndarray  # (classes,)
    layers: list[LayerResult]  # one per layer, output last
    ood_score: float | None = None  # None when the model has no detector

    @property
    def index(self) -> int:
        return int(np.argmax(self.probabilities))


@dataclass(frozen=True)
class LoadedModel:
    name: str
    classes: tuple[str, ...]
    layers: tuple[Layer, ...]  # dense, or convolution, pooling and flatten before dense
    card: dict[str, Any] = field(repr=False)
    ood: OodDetector | None = None  # says when an input is none of the classes

    def predict(self, x: np.ndarray) -> Prediction:
        """Classify one input (784,) in [0,1]: probabilities and every layer's z and a."""
        x = x.astype(np.float32, copy=False)
        results = forward(self.layers, x)
        probabilities = class_probabilities(results[-1].a, len(self.classes))
        ood_score = self.ood.score(x) if self.ood is not None else None
        return Prediction(probabilities=probabilities, layers=results, ood_score=ood_score)

    def describe(self) -> dict[str, Any]:
        """What a client needs to know about the model, without its weights."""
        return {
            "name": self.name,
            "classes": list(self.classes),
            "input_shape": list(self.layers[0].input_shape),
            "layers": [layer_summary(layer) for layer in self.layers],
            "parameters": sum(
                layer.weights.size + layer.biases.size
                for layer in self.layers
                if isinstance(layer, WeightedLayer)
            ),
            "metrics": self.card.get("metrics", {}),
            "training_time_s": self.card.get("training_time_s"),
            "batch_size": self.card.get("training", {}).get("batch_size"),
            "created": self.card.get("created"),
        }


@dataclass(frozen=True)
class ModelRegistry:
    models: dict[str, LoadedModel]
    default_name: str

    def get(self, name: str | None = None) -> LoadedModel:
        try:
            return self.models[name or self.default_name]
        except KeyError:
            raise UnknownModelError(name) from None


def load_registry(model_dir: Path, default_name: str) -> ModelRegistry:
    """Load and check every model in ``model_dir``; the default one must be among them."""
    if not model_dir.is_dir():
        raise ModelStoreError(f"{model_dir}: the model folder does not exist")
    card_paths = sorted(model_dir.glob("*.json"))
    if not card_paths:
        raise ModelStoreError(
            f"{model_dir}: no model cards (NAME.json beside NAME.keras); "
            f"train one into it with `python -m training.train --data DIR --out {model_dir}`"
        )
    models = {}
    for card_path in card_paths:
        model = load_model(card_path)
        models[model.name] = model
    if default_name not in models:
        raise ModelStoreError(
            f"{model_dir / (default_name + '.keras')}: the default model is missing "
            f"(found: {', '.join(models)}); set DIGITS_DEFAULT_MODEL to one of them"
        )
    return ModelRegistry(models=models, default_name=default_name)


def load_model(card_path: Path) -> LoadedModel:
    name = card_path.stem
    card = _read_card(card_path)
    model_path = card_path.with_suffix(".keras")
    if not model_path.is_file():
        raise ModelStoreError(f"{model_path}: missing (its card {card_path.name} exists)")
    files = card.get("files", {})
    keras_model, layers = _load_network(model_path, files.get("model_sha256"), card_path)
    classes = tuple(card["classes"])
    _check_shapes(layers, classes, model_path)
    probe = np.random.default_rng(0).random((8, INPUT_UNITS), dtype=np.float32)
    # Checked once here; the Keras model is not kept: answers come from the NumPy weights.
    _check_parity(keras_model, layers, probe, model_path)
    model = LoadedModel(
        name=name,
        classes=classes,
        layers=layers,
        card=card,
        ood=_load_ood_detector(card, card_path, len(classes)),
    )
    model.predict(probe[0])  # the first call of each forward pass, before any request
    logger.info("loaded %s: %s, classes %s", name, _shape_text(layers), ",".join(classes))
    return model


def _load_ood_detector(
    card: dict[str, Any], card_path: Path, n_classes: int
) -> OodDetector | None:
    """The out-of-distribution detector the card names, if any (see core/ood.py)."""
    section = card.get("ood")
    if section is None:
        return None
    file_name, threshold = section.get("file"), section.get("threshold")
    if not isinstance(file_name, str) or not isinstance(threshold, int | float):
        raise ModelStoreError(f"{card_path}: its 'ood' section needs a 'file' and a 'threshold'")
    expected_name = f"{card_path.stem}.ood.keras"
    if file_name != expected_name:  # no other file of the machine, whatever the card says
        raise ModelStoreError(
            f"{card_path}: its detector must be {expected_name} beside it, not {file_name!r}"
        )
    path = card_path.parent / file_name
    if not path.is_file():
        raise ModelStoreError(f"{path}: missing (the card {card_path.name} names it)")
    keras_model, layers = _load_network(path, card.get("files", {}).get(file_name), card_path)
    if (
        not all(isinstance(layer, DenseLayer) for layer in layers)
        or layers[0].input_shape != (INPUT_UNITS,)
        or layers[-1].output_shape != (n_classes + 1,)
    ):
        raise ModelStoreError(
            f"{path}: the detector must be dense layers mapping 784 inputs to one softmax unit "
            f"per class and one for 'none of these'"
        )
    probe = np.random.default_rng(1).random((4, INPUT_UNITS), dtype=np.float32)
    _check_parity(keras_model, layers, probe, path)
    return OodDetector(layers=layers, threshold=float(threshold))  # type: ignore[arg-type]


def _load_network(
    path: Path, expected_sha256: str | None, card_path: Path
) -> tuple[Any, tuple[Layer, ...]]:
    """Load a .keras file of layers the NumPy network serves, checking it is the file its card
    describes: a .keras file is read by Keras's own code, so only one whose sha256 its card
    records."""
    if not isinstance(expected_sha256, str) or not expected_sha256:
        raise ModelStoreError(
            f"{path}: its card {card_path.name} records no sha256 for it (files: model_sha256, "
            f"or the detector's file name); a model is loaded only with its card's checksum"
        )
    if hashlib.sha256(path.read_bytes()).hexdigest() != expected_sha256:
        raise ModelStoreError(
            f"{path}: does not match its card {card_path.name} (sha256 differs); "
            f"retrain or restore the pair"
        )
    if not zipfile.is_zipfile(path):
        # Keras would call this "File not found", which sends people looking for the wrong thing.
        raise ModelStoreError(
            f"{path}: not a .keras model (a .keras file is a zip archive; this one is corrupt "
            f"or something else); retrain or restore it"
        )
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep start-up output readable
    # Here, not at import: loading TensorFlow belongs to start-up; without the native notices
    # TensorFlow prints past sys.stderr while it loads (core/quiet_tensorflow.py).
    import_tensorflow_quietly()
    import keras

    try:
        keras_model = keras.saving.load_model(path, compile=False)
    except Exception as error:  # Keras raises many kinds for a bad file; all mean "unreadable"
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise ModelStoreError(
            f"{path}: cannot be loaded by Keras ({type(error).__name__}: {first_line})"
        ) from None
    return keras_model, served_layers(keras_model, path)


def _read_card(card_path: Path) -> dict[str, Any]:
    try:
        card = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelStoreError(f"{card_path}: not a readable JSON model card ({error})") from None
    if not isinstance(card, dict):
        raise ModelStoreError(f"{card_path}: a model card must be a JSON object")
    classes = card.get("classes")
    if (
        not isinstance(classes, list)
        or len(classes) < 2
        or not all(isinstance(c, str) and c for c in classes)
        or len(set(classes)) != len(classes)
    ):
        raise ModelStoreError(
            f"{card_path}: 'classes' must list at least two distinct class names as strings"
        )
    if card.get("name", card_path.stem) != card_path.stem:
        raise ModelStoreError(
            f"{card_path}: the card is for model {card.get('name')!r}, not {card_path.stem!r}"
        )
    return card


def served_layers(keras_model: Any, model_path: Path | str) -> tuple[Layer, ...]:
    """The Keras model's layers as NumPy ones (core/network.py), or ModelStoreError naming
    the file."""
    try:
        return layers_from_keras(keras_model)
    except UnservableModelError as error:
        raise ModelStoreError(f"{model_path}: {error}") from None


def _check_shapes(layers: tuple[Layer, ...], classes: tuple[str, ...], path: Path) -> None:
    inputs = math.prod(layers[0].input_shape)
    if inputs != INPUT_UNITS:
        raise ModelStoreError(f"{path}: takes {inputs} inputs, expected 784 (28×28 pixels)")
    output = layers[-1]
    if not isinstance(output, DenseLayer):
        raise ModelStoreError(f"{path}: its last layer is a {output.kind}; it must be dense")
    binary_sigmoid = len(classes) == 2 and output.units == 1 and output.activation == "sigmoid"
    softmax = output.units == len(classes) and output.activation == "softmax"
    if not (binary_sigmoid or softmax):
        raise ModelStoreError(
            f"{path}: its output ({output.units} {output.activation} units) does not match "
            f"the card's {len(classes)} classes; expected 1 sigmoid unit for two classes "
            f"or one softmax unit per class"
        )


def _check_parity(
    keras_model: Any, layers: tuple[Layer, ...], probe: np.ndarray, path: Path
) -> None:
    expected = np.asarray(keras_model(probe, training=False))
    results = forward(layers, probe)
    a_prev = results[-2].a if len(results) > 1 else probe
    error = np.abs(expected - results[-1].a)
    allowed = parity_allowance(layers[-1], a_prev)  # type: ignore[arg-type]  # dense: checked
    if not np.all(error <= allowed):
        worst = np.unravel_index(np.argmax(error - allowed), error.shape)
        raise ModelStoreError(
            f"{path}: the NumPy forward pass differs from Keras's by {error[worst]:.2g} "
            f"(allowed {allowed[worst]:.2g})"
        )


def z_allowance(layer: WeightedLayer, a_prev: np.ndarray) -> np.ndarray:
    """How far a correct float32 pass may be from Keras's in this layer's z, given a_prev:
    PARITY_TOLERANCE + PARITY_ULPS ulps of Σ|a_prev·W| + |b| (for a convolution the same sum
    over each window: the layer run with absolute weights on the absolute input)."""
    absolute = replace(
        layer, weights=np.abs(layer.weights), biases=np.abs(layer.biases), activation="linear"
    )
    summed = absolute.forward(np.abs(a_prev)).z
    return PARITY_TOLERANCE + PARITY_ULPS * float(np.finfo(np.float32).eps) * summed


def parity_allowance(layer: WeightedLayer, a_prev: np.ndarray) -> np.ndarray:
    """How far a correct float32 pass may be from Keras's in this layer's a, given a_prev:
    the z allowance (``z_allowance``) through g."""
    z_allowed = z_allowance(layer, a_prev)
    if layer.activation == "softmax":
        z_allowed = np.max(z_allowed, axis=-1, keepdims=True)
    return _LIPSCHITZ[layer.activation] * z_allowed


def layer_summary(layer: Layer) -> dict[str, Any]:
    """What a client needs to know of one layer, without its weights: its kind, the shape of
    its output for one example ([units] for dense, [height, width, channels] for maps),
    `units` = how many values that is, and its activation (None for pooling and flatten)."""
    return {
        "name": layer.name,
        "kind": layer.kind,
        "shape": list(layer.output_shape),
        "units": math.prod(layer.output_shape),
        "activation": layer.activation,
    }


def _shape_text(layers: tuple[Layer, ...]) -> str:
    return " → ".join(
        ["×".join(map(str, layers[0].input_shape))]
        + [f"{'×'.join(map(str, layer.output_shape))} {layer.activation or layer.kind}"
           for layer in layers]
    )
