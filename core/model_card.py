"""The model card: what a trained model is and how it was made, saved as NAME.json beside it.

One builder for both ways a model is trained: the command line (training/train.py) and the
page's live training (app/training_job.py) write the same keys from the same function. Read by
the app (app/model_registry.py checks the classes, the files'
sha256 and the detector section; `GET /models` shows the layers, metrics, training time and
date). Keep the keys stable: cards already in model_store/ were written with these.
"""

from __future__ import annotations

import platform
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

from core.augmentation import TRAINING
from core.mnist_data import Mnist
from core.recipe import Fitted, Splits, loss_name

if TYPE_CHECKING:
    import keras

    from core.recipe import RecipeSettings

INPUT_DESCRIPTION = "MNIST pixels, row by row, white ink on black, in [0,1]"


def build_model_card(
    name: str,
    description: str,
    settings: RecipeSettings,
    mnist: Mnist,
    splits: Splits,
    model: keras.Model,
    fitted: Fitted,
    metrics: dict[str, Any],
    command: str,
    training_extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The card, without its "files" (the model store's writer adds them) and "ood" (the
    detector adds it). ``training_extra`` adds what only one way of training has to its
    "training" section (live training: snapshot_every, pace, why it stopped)."""
    classes = settings.classes
    test = metrics["test"]
    summary = f"{test['accuracy']:.2%} on {test['count']} MNIST test digits"
    return {
        "name": name,
        "classes": classes,
        "description": description,
        "task": "binary" if settings.is_binary else "multiclass",
        "architecture": architecture(model, classes),
        "training": {
            "loss": loss_name(settings),
            "optimizer": settings.optimizer,
            "learning_rate": settings.learning_rate,
            "learning_rate_schedule": settings.learning_rate_schedule,
            "epochs": settings.epochs,
            "batch_size": settings.batch_size,
            "validation_fraction": settings.validation_fraction,
            "seed": settings.seed,
            "hidden": list(settings.hidden),
            **({"conv": list(settings.conv)} if settings.conv else {}),
            "activation": settings.activation,
            **({"dropout": settings.dropout} if settings.dropout else {}),
            "augmentation": TRAINING.as_card() if settings.augment else None,
            **(training_extra or {}),
        },
        "data": {
            "source": mnist.source,
            "format": mnist.format,
            "sha256": mnist.sha256(),
            "counts": {
                "train": class_counts(splits.y_train, classes),
                "validation": class_counts(splits.y_val, classes),
                "test": class_counts(splits.y_test, classes),
            },
        },
        "history": fitted.history,
        "metrics": {**metrics, "test": {**test, "summary": summary}},
        "training_time_s": round(fitted.training_time_s, 3),
        "versions": library_versions(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": command,
    }


def architecture(model: keras.Model, classes: list[str]) -> dict[str, Any]:
    """The layers as the page draws them: each one's name, kind, output shape (one example)
    and activation; a dense layer's units, a convolution's filters, kernel, strides and
    padding, a pooling's window. A leading reshape of the 784 pixels into the (28, 28, 1)
    image is the input's shape, not a layer of its own."""
    layers = list(model.layers)
    input_shape = [28, 28]
    if layers and type(layers[0]).__name__ == "Reshape":
        input_shape = list(layers.pop(0).target_shape)
    return {
        "input": {"units": 784, "shape": input_shape, "description": INPUT_DESCRIPTION},
        "layers": [layer_summary(layer) for layer in layers],
        "parameters": int(model.count_params()),
        "output": f"one sigmoid unit: p(class {classes[1]})"
        if len(classes) == 2
        else "softmax over the classes",
    }


def layer_summary(layer: keras.layers.Layer) -> dict[str, Any]:
    """A dense layer as cards have always given it (name, units, activation); any other with
    its kind and output shape (one example), a convolution's filters, kernel, strides, padding
    and activation, a pooling's window."""
    name = layer.name
    activation = getattr(getattr(layer, "activation", None), "__name__", None)
    kind = LAYER_KINDS.get(type(layer).__name__, type(layer).__name__)
    if kind == "dense":
        return {"name": name, "units": int(layer.units), "activation": activation}
    summary: dict[str, Any] = {"name": name, "kind": kind,
                               "shape": [int(size) for size in layer.output.shape[1:]]}
    if kind == "conv2d":
        summary.update(filters=int(layer.filters), kernel_size=list(layer.kernel_size),
                       strides=list(layer.strides), padding=layer.padding, activation=activation)
    if kind == "max_pool":
        summary.update(pool_size=list(layer.pool_size), strides=list(layer.strides),
                       padding=layer.padding)
    return summary


# Keras's class names → the kinds the app's API and NumPy network use (core/network.py).
LAYER_KINDS = {"Dense": "dense", "Conv2D": "conv2d", "MaxPooling2D": "max_pool",
               "Flatten": "flatten"}


def class_counts(y: np.ndarray, classes: list[str]) -> dict[str, int]:
    return {label: int(np.sum(y == i)) for i, label in enumerate(classes)}


def library_versions() -> dict[str, str]:
    import keras
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }
