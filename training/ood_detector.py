"""Train the out-of-distribution detector that sits beside a classifier (see core/ood.py).

Outlier exposure (Hendrycks, Mazeika & Dietterich, ICLR 2019): besides the training images of
the classes, with their labels, the detector sees training images that are none of the classes,
labelled as one more class, "none of these" (a background class, Dhamija, Günther & Boult,
NeurIPS 2018; core/ood.py says why not the uniform target). So the detector is a classifier of
its own, built and fitted by the classifier's recipe (core/recipe.py, called in
training/train.py) with that one class more (`DetectorSettings`), on the classes' epochs and
outliers (training/detector_data.py). Its score is the probability of "none of these"; the
threshold is the quantile of the classes' *validation* scores that flags a chosen share of them
(`thresholded`). The test split is used only to report the rates (`detector_report`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from core.augmentation import TRAINING, augment
from core.epochs import as_inputs
from core.mnist_data import Mnist
from core.network import layers_from_keras
from core.ood import OodDetector
from core.recipe import RecipeSettings, Splits
from training.detector_data import Outliers, other_digit_splits, other_digits_per_epoch
from training.non_digit_shapes import KINDS

if TYPE_CHECKING:
    import keras

NONE_OF_THESE = "none of these"
THRESHOLD_QUANTILE = 0.997  # flag 0.3% of validation images of the classes (docs/models.md)

REFERENCES = [
    "Hendrycks, Mazeika & Dietterich, Deep Anomaly Detection with Outlier Exposure, ICLR 2019",
    "Dhamija, Günther & Boult, Reducing Network Agnostophobia, NeurIPS 2018",
]


@dataclass
class DetectorSettings(RecipeSettings):
    """The detector's recipe: the classifier's digits, split, seed and augmentation, a wider
    ReLU network, and one class more, "none of these"."""

    hidden: tuple[int, ...] = (256, 128)  # 64/32 flagged only 81% of 2–9 once the 0s, 1s vary
    activation: str = "relu"
    epochs: int = 8
    batch_size: int = 128
    learning_rate: float = 0.003
    learning_rate_schedule: str = "cosine"  # big steps first, as the shipped classifiers learn

    @property
    def classes(self) -> list[str]:
        return [*super().classes, NONE_OF_THESE]


def detector_settings(classifier: RecipeSettings) -> DetectorSettings:
    return DetectorSettings(digits=classifier.digits, seed=classifier.seed,
                            validation_fraction=classifier.validation_fraction,
                            augment=classifier.augment)


def thresholded(model: keras.Model, settings: DetectorSettings, splits: Splits) -> OodDetector:
    """The fitted detector as the app runs it (core/ood.py), with its threshold: the
    THRESHOLD_QUANTILE of its scores on `threshold_images`."""
    layers = layers_from_keras(model)
    scores = OodDetector(layers, threshold=np.inf).scores(as_inputs(threshold_images(settings,
                                                                                     splits)))
    return OodDetector(layers, threshold=float(np.quantile(scores, THRESHOLD_QUANTILE)))


def threshold_images(settings: DetectorSettings, splits: Splits) -> np.ndarray:
    """The classes' validation digits, which set the threshold: as they are and, when the
    detector trains on augmented digits, once more, augmented as in training."""
    if not settings.augment:
        return splits.x_val
    digits = np.asarray(settings.digits)[splits.y_val]
    augmented = augment(splits.x_val, digits, np.random.default_rng(settings.seed + 4))
    return np.concatenate([splits.x_val, augmented])


def flagged_share(detector: OodDetector, images: np.ndarray) -> float:
    """The share of digits (n, 28, 28) uint8 that `detector` flags."""
    if not len(images):
        return 0.0
    return float(np.mean(detector.scores(as_inputs(images)) > detector.threshold))


def detector_report(detector: OodDetector, settings: DetectorSettings, outliers: Outliers,
                    mnist: Mnist, splits: Splits, shifted_test: np.ndarray) -> dict[str, Any]:
    """The card's "ood" section: the method, the settings and the rates that tell how well it
    works, on validation, test and shifted test (10000, 28, 28) images."""
    _, held_out = other_digit_splits(mnist.y_train, settings.digits, settings.seed,
                                     settings.validation_fraction)
    in_classes = np.isin(mnist.y_test, settings.digits)
    other_test, other_test_labels = mnist.x_test[~in_classes], mnist.y_test[~in_classes]
    per_digit = {
        str(d): flagged_share(detector, other_test[other_test_labels == d])
        for d in sorted(set(range(10)) - set(settings.digits))
    }
    return {
        "method": "outlier exposure (Hendrycks et al. 2019) with a background class "
        "(Dhamija et al. 2018): a separate network "
        f"784→{'→'.join(map(str, settings.hidden))} relu→{len(settings.classes)} softmax (the "
        "classes and 'none of these'), trained on the classes' training images and on "
        "outliers labelled 'none of these'; score = the probability of 'none of these'; "
        "flagged when the score is above the threshold",
        "references": REFERENCES,
        "threshold": detector.threshold,
        "threshold_rule": f"the {THRESHOLD_QUANTILE:.1%} quantile of the detector's scores on "
        "the validation images of the classes"
        + (", plain and once augmented" if settings.augment else ""),
        "augmentation": TRAINING.as_card() if settings.augment else None,
        "outlier_exposure": {
            "other_digits": len(outliers.other_digits),
            "other_digits_per_epoch": other_digits_per_epoch(outliers),
            "derived_non_digits": len(outliers.non_digits),
            "derived_kinds": KINDS,
            "source": "MNIST training split only",
        },
        "hidden": list(settings.hidden),
        "epochs": settings.epochs,
        "learning_rate": settings.learning_rate,
        "learning_rate_schedule": settings.learning_rate_schedule,
        "rates": {
            "validation": {
                "classes_flagged": flagged_share(detector, splits.x_val),
                "other_digits_flagged": flagged_share(detector, mnist.x_train[held_out]),
            },
            "test": {
                "classes_flagged": flagged_share(detector, splits.x_test),
                "other_digits_flagged": flagged_share(detector, other_test),
                "other_digits_flagged_per_digit": per_digit,
                "classes_count": len(splits.x_test),
                "other_digits_count": len(other_test),
            },
            "shifted_test": {
                "classes_flagged": flagged_share(detector, shifted_test[in_classes]),
                "other_digits_flagged": flagged_share(detector, shifted_test[~in_classes]),
                "classes_count": int(in_classes.sum()),
                "other_digits_count": int((~in_classes).sum()),
            },
        },
    }
