"""The shifted test set: MNIST's test digits changed beyond the ranges used in training.

Made by core/augmentation.py (`shifted_test_set`, its own fixed seed and the SHIFTED
strengths) from the whole MNIST test set, so every model sees the same shifted image of each
test digit; a model is measured on the shifted images of its own digits and the result goes
into its card beside the plain test accuracy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from core.augmentation import SHIFTED, SHIFTED_TEST_SEED, shifted_test_set
from core.mnist_data import Mnist
from core.recipe import class_probabilities, evaluate

if TYPE_CHECKING:
    import keras

DESCRIPTION = (
    "MNIST's test digits, each changed once by core/augmentation.py's shifted_test_set: "
    "rotation, slant, stretch, thicker or thinner strokes, elastic distortion, blur, shifts "
    "and writing-style variants, drawn from ranges beyond training's"
)


def shifted_test_images(mnist: Mnist) -> np.ndarray:
    """(10000, 28, 28) uint8: the shifted image of each MNIST test digit, in its order."""
    return shifted_test_set(mnist.x_test, mnist.y_test)


def shifted_test_metrics(model: keras.Model, images: np.ndarray, y: np.ndarray,
                         classes: list[str]) -> dict[str, Any]:
    """Loss, accuracy and per-class accuracy on shifted images (n, 28, 28) of classes `y`."""
    binary = len(classes) == 2
    metrics = evaluate(model, images, y, binary)
    predicted = class_probabilities(model, images, binary).argmax(axis=1)
    metrics["per_class_accuracy"] = {
        label: float(np.mean(predicted[y == i] == i)) for i, label in enumerate(classes)
    }
    metrics["summary"] = f"{metrics['accuracy']:.2%} on {len(y)} shifted MNIST test digits"
    metrics["made_by"] = {
        "description": DESCRIPTION,
        "seed": SHIFTED_TEST_SEED,
        "strengths": SHIFTED.as_card(),
    }
    return metrics
