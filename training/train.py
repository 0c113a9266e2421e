"""Train the seed's network on MNIST and save it, with its model card, for the app.

    python -m training.train --data ../shared/data     # replaces model_store/digits-0-1.*

Without --out it writes into model_store/, replacing the shipped model of that name.

The recipe itself (choose the digits, build, fit, evaluate) is core/recipe.py, shared with the
page's live training; this is the command line around it. Settings and their flags are in
training/settings.py, the model card in core/model_card.py, the "neither" detector in
training/ood_detector.py, the atomic save in training/model_store_writer.py.
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from core.mnist_data import DataError, Mnist, load_mnist
from core.model_card import build_model_card
from core.quiet_tensorflow import import_tensorflow_quietly
from core.recipe import Fitted, Splits, build_network, evaluate_splits, fit, select_digits
from training import ood_detector
from training.settings import SettingsError, TrainSettings, parse_args
from training.shifted_test_set import shifted_test_images, shifted_test_metrics


def run(settings: TrainSettings, command: str = "") -> dict[str, Any]:
    """Train, evaluate and save one model as ``settings`` say; returns its card."""
    started = time.perf_counter()

    # 1. Data: MNIST from disk (or Keras's downloader), only the requested digits.
    mnist = load_mnist(settings.data)
    splits = select_digits(mnist, settings.digits, settings.validation_fraction, settings.seed)
    print(
        f"data: {mnist.format} from {mnist.source}; digits {settings.classes}: "
        f"{len(splits.y_train)} train, {len(splits.y_val)} validation, "
        f"{len(splits.y_test)} test",
        flush=True,
    )

    # 2. The network, seeded: the same seed and data give the same weights on this machine.
    model = build_network(settings, name=settings.model_name.replace(".", "_"))
    model.summary()

    # 3. Training: a progress bar in a terminal, one line per epoch in a log file.
    verbose = 1 if sys.stdout.isatty() else 2
    with ThreadPoolExecutor(max_workers=1) as meanwhile:
        # Neither the shifted test set (step 4) nor the detector's data (step 6) depends on
        # the network: both are made while it trains, on CPU time the training leaves idle.
        shifted_test_made = meanwhile.submit(shifted_test_images, mnist)
        detector_data_made = meanwhile.submit(
            lambda: detector_data(settings, mnist, splits, shifted_test_made.result())
        )
        # Its augmented epochs are kept for the detector, which trains on the same digits
        # (step 6) and reads only its first DETECTOR_EPOCHS of them.
        kept = ood_detector.DETECTOR_EPOCHS if wants_detector(settings, mnist) else 0
        fitted = fit(model, settings, splits, verbose=verbose, keep_augmented_epochs=kept)
    shifted_test = shifted_test_made.result()

    # 4. Evaluation: the test set is used only here, for the final report.
    metrics = evaluate_splits(model, splits, settings.classes)
    test = metrics["test"]
    print(
        f"test accuracy {test['accuracy']:.4%} "
        f"({len(test['misclassified'])} of {test['count']} wrong)",
        flush=True,
    )
    # ... and on the same test digits changed beyond training's ranges.
    metrics["shifted_test"] = shifted_test_metrics(
        model, shifted_test[splits.test_indices], splits.y_test, settings.classes
    )
    print(f"shifted test accuracy {metrics['shifted_test']['accuracy']:.2%}", flush=True)

    # 5. The model card: everything needed to know what this model is and how it was made.
    card = build_model_card(
        settings.model_name, settings.description, settings, mnist, splits, model, fitted,
        metrics, command,
    )

    # 6. The "neither of these" detector, for models that do not cover all ten digits.
    extra_files = add_ood_detector(settings, detector_data_made.result(), splits, card,
                                   verbose, fitted)

    # 7. Save atomically: the good model is replaced only by a complete, loadable new one.
    from training.model_store_writer import save_model_with_card

    path = save_model_with_card(model, card, settings.out, settings.model_name, extra_files)
    print(
        f"saved {path} and {path.with_suffix('.json').name} "
        f"(training {fitted.training_time_s:.1f} s, total {time.perf_counter() - started:.1f} s)"
    )
    return card


def wants_detector(settings: TrainSettings, mnist: Mnist) -> bool:
    """A detector is asked for and there are other digits to learn what is not a class."""
    return settings.out_of_distribution and bool(np.any(~np.isin(mnist.y_train, settings.digits)))


def detector_data(settings: TrainSettings, mnist: Mnist, splits: Splits,
                  shifted_test: np.ndarray) -> ood_detector.DetectorData | None:
    """What the detector is trained and measured on, if one is asked for and possible."""
    if not wants_detector(settings, mnist):
        if settings.out_of_distribution:
            print("no other digits in the training set: no out-of-distribution detector",
                  flush=True)
        return None
    return ood_detector.build_detector_data(
        mnist, splits, settings.digits, settings.seed, settings.validation_fraction,
        augment=settings.augment, shifted_test=shifted_test,
    )


def add_ood_detector(
    settings: TrainSettings, data: ood_detector.DetectorData | None, splits: Splits,
    card: dict[str, Any], verbose: int = 2, fitted: Fitted | None = None,
) -> dict[str, Callable[[Path], None]]:
    """Train the detector on `data` (None: no detector); records it in ``card["ood"]`` and
    returns the file to save beside the model. ``verbose`` as for `fit`."""
    if data is None:
        return {}
    # The classifier's augmented epochs, reused as the detector's class images.
    data.class_epochs = fitted.augmented_epochs if fitted else None
    detector_model, detector = ood_detector.train_detector(
        data, len(settings.digits), settings.seed, verbose=verbose
    )
    detector_file = f"{settings.model_name}.ood.keras"
    card["ood"] = {
        "file": detector_file,
        **ood_detector.detector_report(detector, data, splits.x_test, settings.digits),
    }
    rates = card["ood"]["rates"]["test"]
    print(
        f"out-of-distribution on the test set: {rates['other_digits_flagged']:.1%} of "
        f"other digits flagged, {rates['classes_flagged']:.2%} of {settings.classes} flagged",
        flush=True,
    )
    return {detector_file: detector_model.save}


def main(argv: list[str] | None = None) -> int:
    try:
        settings = parse_args(argv)
        import_tensorflow_quietly()
        args = sys.argv[1:] if argv is None else argv
        run(settings, command=shlex.join(["python", "-m", "training.train", *args]))
    except (DataError, SettingsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing was saved; the existing model is untouched", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
