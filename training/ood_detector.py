"""Train the "neither of these" detector that sits beside a classifier (see core/ood.py).

Outlier exposure (Hendrycks, Mazeika & Dietterich, ICLR 2019): besides the training images of
the classes, with their labels, the detector sees training images that are none of the classes,
labelled as one more class, "none of these" (a background class, Dhamija, Günther & Boult,
NeurIPS 2018; core/ood.py says why not the uniform target). Its score is the probability of
that class; the threshold is the quantile of the classes' *validation* scores that flags a
chosen share of them (THRESHOLD_QUANTILE).

The outliers come only from the training split:
- the training images of the other MNIST digits;
- shapes derived from training images that are no digit at all, so that the detector also
  refuses scribbles, letters, blobs and dashes (training/non_digit_shapes.py): digits dilated
  into filled blobs, two digits overlaid, 1s turned on their side, other digits joined with
  their mirror image or transpose, halves of two digits; each is normalised as the app
  normalises a drawing.
The test split is used only to report the rates. With augmentation the classes' digits are
those the classifier was trained on, epoch by epoch (training/detector_epochs.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from core import augmentation
from core.mnist_data import Mnist
from core.network import layers_from_keras
from core.ood import OodDetector
from core.recipe import as_images, as_inputs
from training.non_digit_shapes import KINDS, derive_non_digits

if TYPE_CHECKING:
    from core.recipe import Splits

DETECTOR_HIDDEN = (256, 128)  # 64/32 flagged only 81% of 2–9 once the 0s and 1s vary
DETECTOR_EPOCHS = 8
DETECTOR_BATCH_SIZE = 128
DETECTOR_LEARNING_RATE = 0.003
# Other digits per epoch: without augmentation one fixed sample of the training images; with
# it, a fresh sample every epoch from all of them.
OTHER_DIGITS_USED = 12_000
DERIVED_SHAPES = 3_000
THRESHOLD_QUANTILE = 0.997  # flag 0.3% of validation images of the classes (docs/models.md)

REFERENCES = [
    "Hendrycks, Mazeika & Dietterich, Deep Anomaly Detection with Outlier Exposure, ICLR 2019",
    "Dhamija, Günther & Boult, Reducing Network Agnostophobia, NeurIPS 2018",
]


@dataclass
class DetectorData:
    """Network inputs (n, 784) in [0,1], and which digit each training image shows; the
    other digits' training images stay uint8 (n, 28, 28), as the epochs augment them."""

    class_images: np.ndarray
    class_labels: np.ndarray
    class_validation: np.ndarray
    other_digit_images: np.ndarray
    other_digits_validation: np.ndarray
    derived_shapes: np.ndarray
    other_digits_test: np.ndarray
    other_digits_test_labels: np.ndarray
    class_digits: np.ndarray | None = None  # the digit of each class image
    other_digit_labels: np.ndarray | None = None  # the digit of each other-digit image
    # Augmented: the validation 0s and 1s changed as in training (their scores set the
    # threshold beside the plain ones); None when the detector trains without augmentation.
    class_validation_augmented: np.ndarray | None = None
    # The shifted test set (training/shifted_test_set.py), if given: reported beside the test.
    shifted_classes_test: np.ndarray | None = None
    shifted_other_digits_test: np.ndarray | None = None
    # The classifier's augmented epochs (core/recipe.py's Fitted.augmented_epochs): reused as
    # the detector's class images, epoch by epoch.
    class_epochs: dict[int, tuple[np.ndarray, np.ndarray]] | None = None


def build_detector_data(mnist: Mnist, splits: Splits, digits: tuple[int, ...], seed: int,
                        validation_fraction: float, augment: bool = False,
                        shifted_test: np.ndarray | None = None) -> DetectorData:
    """Everything the detector is fitted, thresholded and measured on. With `augment`, it
    trains on freshly augmented images every epoch and its threshold also covers augmented
    validation images of the classes; `shifted_test` (10000, 28, 28) is MNIST's shifted test
    set, measured for the card."""
    rng = np.random.default_rng(seed + 2)
    fit, validation = other_digit_splits(mnist.y_train, digits, seed, validation_fraction)
    sample = fit if augment else rng.choice(fit, size=min(OTHER_DIGITS_USED, len(fit)),
                                            replace=False)

    # Non-digits are derived from the fitting part of the training split only.
    class_images = as_images(splits.x_train)
    pool = np.concatenate([class_images, mnist.x_train[fit]])
    pool_labels = np.concatenate([np.asarray(digits)[splits.y_train], mnist.y_train[fit]])
    derived = derive_non_digits(pool, pool_labels, digits, DERIVED_SHAPES, rng)

    test_others = ~np.isin(mnist.y_test, digits)
    class_digits = np.asarray(digits)[splits.y_train]
    validation_augmented = None
    if augment:
        validation_augmented = as_inputs(augmentation.augment(
            as_images(splits.x_val), np.asarray(digits)[splits.y_val],
            np.random.default_rng(seed + 4),
        ))
    shifted = {}
    if shifted_test is not None:
        shifted = {
            "shifted_classes_test": as_inputs(shifted_test[~test_others]),
            "shifted_other_digits_test": as_inputs(shifted_test[test_others]),
        }
    return DetectorData(
        class_images=splits.x_train,
        class_labels=splits.y_train,
        class_validation=splits.x_val,
        other_digit_images=mnist.x_train[sample],
        other_digits_validation=as_inputs(mnist.x_train[validation]),
        derived_shapes=derived,
        other_digits_test=as_inputs(mnist.x_test[test_others]),
        other_digits_test_labels=mnist.y_test[test_others],
        class_digits=class_digits,
        other_digit_labels=mnist.y_train[sample],
        class_validation_augmented=validation_augmented,
        **shifted,
    )


def other_digit_splits(
    labels: np.ndarray, digits: tuple[int, ...], seed: int, validation_fraction: float
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the other digits' training images, split into fitting and validation."""
    others = np.flatnonzero(~np.isin(labels, digits))
    order = np.random.default_rng(seed + 1).permutation(others)
    n_val = round(len(order) * validation_fraction)
    return order[n_val:], order[:n_val]


def train_detector(data: DetectorData, n_classes: int, seed: int, verbose: int = 2):
    """Fit the detector with outlier exposure; returns (keras model, OodDetector).
    ``verbose`` is Keras's, as for the classifier: 1 a progress bar, 2 one line per epoch.

    With augmentation (data.class_validation_augmented is set), the class images and the
    other digits are changed afresh every epoch as the classifier's are
    (core/augmented_epochs.py), so that a thick, thin, slanted or blurry 0 is still a 0 and a
    thick 7 still none; the derived shapes are changed too (with no writing-style variant)."""
    import keras

    from core.recipe import cosine_schedule

    keras.utils.set_random_seed(seed)
    layers = [keras.Input(shape=(784,), name="pixels")]
    for i, units in enumerate(DETECTOR_HIDDEN, start=1):
        layers.append(keras.layers.Dense(units, activation="relu", name=f"ood_hidden_{i}"))
    # One unit per class and the last for "none of these".
    layers.append(keras.layers.Dense(n_classes + 1, activation="softmax", name="ood_output"))
    model = keras.Sequential(layers, name="ood_detector")
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=DETECTOR_LEARNING_RATE),
        loss="sparse_categorical_crossentropy",
    )
    augmented = data.class_validation_augmented is not None
    others = min(OTHER_DIGITS_USED, len(data.other_digit_images))
    print(f"out-of-distribution detector: {len(data.class_images)} class images, "
          f"{others} other digits{f' of {len(data.other_digit_images)}' if augmented else ''} and "
          f"{len(data.derived_shapes)} derived shapes per epoch", flush=True)
    # Big steps first, fine ones at the end, as the shipped classifiers learn.
    schedule = cosine_schedule(DETECTOR_LEARNING_RATE, DETECTOR_EPOCHS)
    if augmented:
        from core.augmented_epochs import epoch_dataset, steps_per_epoch
        from training.detector_epochs import DetectorEpochs

        epochs = DetectorEpochs(
            data.class_epochs or {}, as_images(data.class_images), data.class_labels,
            data.class_digits, data.other_digit_images, data.other_digit_labels,
            as_images(data.derived_shapes), OTHER_DIGITS_USED, n_classes, seed + 3,
        )
        model.fit(
            epoch_dataset(epochs, DETECTOR_EPOCHS, DETECTOR_BATCH_SIZE),
            steps_per_epoch=steps_per_epoch(len(epochs), DETECTOR_BATCH_SIZE),
            epochs=DETECTOR_EPOCHS, shuffle=False, callbacks=[schedule], verbose=verbose,
        )
    else:
        outliers = np.concatenate([as_inputs(data.other_digit_images), data.derived_shapes])
        x = np.concatenate([data.class_images, outliers]).astype(np.float32)
        targets = np.concatenate([data.class_labels, np.full(len(outliers), n_classes)])
        model.fit(x, targets, epochs=DETECTOR_EPOCHS, batch_size=DETECTOR_BATCH_SIZE,
                  shuffle=True, callbacks=[schedule], verbose=verbose)

    dense = layers_from_keras(model)
    validation = data.class_validation
    if augmented:
        validation = np.concatenate([validation, data.class_validation_augmented])
    scores_in_val = OodDetector(dense, threshold=np.inf).scores(validation)
    threshold = float(np.quantile(scores_in_val, THRESHOLD_QUANTILE))
    detector = OodDetector(dense, threshold=threshold)
    return model, detector


def flagged_share(detector: OodDetector, x: np.ndarray) -> float:
    return float(np.mean(detector.scores(x) > detector.threshold)) if len(x) else 0.0


def detector_report(detector: OodDetector, data: DetectorData, class_test: np.ndarray,
                    digits: tuple[int, ...]) -> dict[str, Any]:
    """The rates that tell how well it works, for the model card."""
    per_digit = {
        str(d): flagged_share(detector, data.other_digits_test[data.other_digits_test_labels == d])
        for d in sorted(set(range(10)) - set(digits))
    }
    return {
        "method": "outlier exposure (Hendrycks et al. 2019) with a background class "
        "(Dhamija et al. 2018): a separate network "
        f"784→{'→'.join(map(str, DETECTOR_HIDDEN))} relu→{len(digits) + 1} softmax (the "
        "classes and 'none of these'), trained on the classes' training images and on "
        "outliers labelled 'none of these'; score = the probability of 'none of these'; "
        "flagged when the score is above the threshold",
        "references": REFERENCES,
        "threshold": detector.threshold,
        "threshold_rule": f"the {THRESHOLD_QUANTILE:.1%} quantile of the detector's scores on "
        "the validation images of the classes"
        + (", plain and once augmented" if data.class_validation_augmented is not None else ""),
        "augmentation": augmentation.TRAINING.as_card()
        if data.class_validation_augmented is not None else None,
        "outlier_exposure": {
            "other_digits": len(data.other_digit_images),
            "other_digits_per_epoch": min(OTHER_DIGITS_USED, len(data.other_digit_images)),
            "derived_non_digits": len(data.derived_shapes),
            "derived_kinds": KINDS,
            "source": "MNIST training split only",
        },
        "hidden": list(DETECTOR_HIDDEN),
        "epochs": DETECTOR_EPOCHS,
        "learning_rate": DETECTOR_LEARNING_RATE,
        "learning_rate_schedule": "cosine",
        "rates": {
            "validation": {
                "classes_flagged": flagged_share(detector, data.class_validation),
                "other_digits_flagged": flagged_share(detector, data.other_digits_validation),
            },
            "test": {
                "classes_flagged": flagged_share(detector, class_test),
                "other_digits_flagged": flagged_share(detector, data.other_digits_test),
                "other_digits_flagged_per_digit": per_digit,
                "classes_count": len(class_test),
                "other_digits_count": len(data.other_digits_test),
            },
            **_shifted_rates(detector, data),
        },
    }


def _shifted_rates(detector: OodDetector, data: DetectorData) -> dict[str, Any]:
    if data.shifted_classes_test is None or data.shifted_other_digits_test is None:
        return {}
    return {
        "shifted_test": {
            "classes_flagged": flagged_share(detector, data.shifted_classes_test),
            "other_digits_flagged": flagged_share(detector, data.shifted_other_digits_test),
            "classes_count": len(data.shifted_classes_test),
            "other_digits_count": len(data.shifted_other_digits_test),
        }
    }
