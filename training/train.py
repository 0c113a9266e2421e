"""Train the learner's 25/15 network on MNIST and save it, with its model card, for the app.

    python -m training.train --data ../shared/data     # replaces model_store/digits-0-1.*

Without --out it writes into model_store/, replacing the shipped model of that name.

Read top to bottom, `run` is how a shipped model is made. Its steps (choose the digits, build,
fit, evaluate) are core/recipe.py's, shared with the page's live training; the
out-of-distribution detector is the same recipe with one class more (training/ood_detector.py).
Settings and their flags are in training/settings.py, the model card in core/model_card.py, the
atomic save in training/model_store_writer.py.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.epochs import Epoch, Epochs, steps_per_epoch
from core.mnist_data import DataError, Mnist, load_mnist
from core.model_card import build_model_card
from core.quiet_tensorflow import import_tensorflow_quietly
from core.recipe import (
    RecipeSettings,
    Splits,
    build_network,
    evaluate_splits,
    fit,
    select_digits,
    training_epochs,
    without_dropout,
)
from training.atlas import write_atlas
from training.detector_data import DetectorEpochs, find_outliers
from training.ood_detector import (
    DetectorSettings,
    detector_report,
    detector_settings,
    thresholded,
)
from training.settings import SettingsError, TrainSettings, parse_args, rerun_command
from training.shifted_test_set import shifted_test_images, shifted_test_metrics

if TYPE_CHECKING:
    import keras

EPOCHS_AHEAD = 2  # made at once, each on a thread of its own


def run(settings: TrainSettings) -> dict[str, Any]:
    """Train, evaluate and save one model as ``settings`` say; returns its card.
    (Over 60 lines: the eight steps of the recipe, read best in one place.)"""
    started = time.perf_counter()
    verbose = 1 if sys.stdout.isatty() else 2  # a progress bar in a terminal, else a line an epoch

    # 1. Data: MNIST from disk (or Keras's downloader), only the requested digits, kept as
    #    MNIST stores them: uint8 (n, 28, 28).
    mnist = load_mnist(settings.data)
    splits = select_digits(mnist, settings.digits, settings.validation_fraction, settings.seed)
    print(
        f"data: {mnist.format} from {settings.data or 'keras.datasets.mnist'}; "
        f"digits {settings.classes}: "
        f"{len(splits.y_train)} train, {len(splits.y_val)} validation, "
        f"{len(splits.y_test)} test",
        flush=True,
    )
    detector = detector_settings(settings) if wants_detector(settings, mnist) else None

    # Training data is made on threads of their own from here on, while TensorFlow loads and
    # the networks train (NumPy leaves Python's lock while it computes): the next epochs, two at
    # once, on `maker`; the shifted test set (step 4) and the detector's outliers (step 6),
    # which do not depend on the network, on `meanwhile`. Every epoch is a
    # pure function of (seed, epoch), so which thread makes it, and when, changes nothing.
    maker = ThreadPoolExecutor(max_workers=EPOCHS_AHEAD)
    meanwhile = ThreadPoolExecutor(max_workers=1)
    try:
        # The network's epochs (step 3): every epoch the digits in a fresh order and, with
        # --augment, changed afresh. The detector (step 6) trains on these same epochs
        # again: those it reads are kept.
        epochs = KeptEpochs(training_epochs(settings, splits), detector.epochs if detector else 0)
        made_ahead = MadeAhead(epochs, settings.epochs, maker).start()
        shifted_test_made = meanwhile.submit(shifted_test_images, mnist)
        outliers_made = (
            meanwhile.submit(find_outliers, mnist, splits, detector) if detector else None
        )
        import_tensorflow_quietly()

        # 2. The network, seeded: the same seed and data give the same weights on this machine.
        model = build_network(settings, name=settings.model_name.replace(".", "_"))
        model.summary()
        one_call_per_epoch(model, epochs, settings)

        # 3. Training, on the epochs made ahead. Then the detector's first epochs are made
        #    while this network is evaluated.
        fitted = fit(model, settings, made_ahead, splits.validation, verbose=verbose)
        model = without_dropout(model)  # dropout acts only while fitting: none is evaluated
        detector_epochs = None
        if detector and outliers_made:
            detector_epochs = MadeAhead(DetectorEpochs(epochs, outliers_made.result(), detector),
                                        detector.epochs, maker).start()

        # 4. Evaluation: the test set is used only here, for the final report ...
        metrics = evaluate_splits(model, splits, settings.classes)
        test = metrics["test"]
        print(
            f"test accuracy {test['accuracy']:.4%} "
            f"({len(test['misclassified'])} of {test['count']} wrong)",
            flush=True,
        )
        # ... and on the same test digits changed beyond training's ranges.
        shifted_test = shifted_test_made.result()
        metrics["shifted_test"] = shifted_test_metrics(
            model, shifted_test[splits.test_indices], splits.y_test, settings.classes
        )
        print(f"shifted test accuracy {metrics['shifted_test']['accuracy']:.2%}", flush=True)

        # 5. The model card: everything needed to know what this model is and how it was made.
        card = build_model_card(
            settings.model_name, settings.description, settings, mnist, splits, model, fitted,
            metrics, rerun_command(settings),
        )

        # 6. The out-of-distribution detector, for models that do not cover all ten digits.
        extra_files = {}
        if detector and detector_epochs:
            extra_files = add_detector(detector, detector_epochs, mnist, splits, shifted_test,
                                       card, verbose)
    finally:
        # On an error, what is still queued is not made.
        maker.shutdown(wait=False, cancel_futures=True)
        meanwhile.shutdown(wait=False, cancel_futures=True)

    # 7. Save atomically: the good model is replaced only by a complete, loadable new one.
    from training.model_store_writer import save_model_with_card

    path = save_model_with_card(model, card, settings.out, settings.model_name, extra_files)
    print(
        f"saved {path} and {path.with_suffix('.json').name} "
        f"(training {fitted.training_time_s:.1f} s, total {time.perf_counter() - started:.1f} s)"
    )

    # 8. The digit atlas beside it: MNIST test digits the app maps through every model's layers
    #    ("Why this answer"); a seeded sample, so the file changes only if MNIST does.
    write_atlas(mnist, settings.out)
    return card


def wants_detector(settings: TrainSettings, mnist: Mnist) -> bool:
    """A detector is asked for, and there are other digits to learn what is not a class."""
    if not settings.out_of_distribution:
        return False
    if np.all(np.isin(mnist.y_train, settings.digits)):
        print("no other digits in the training set: no out-of-distribution detector",
              flush=True)
        return False
    return True


def add_detector(
    settings: DetectorSettings, epochs: MadeAhead, mnist: Mnist, splits: Splits,
    shifted_test: np.ndarray, card: dict[str, Any], verbose: int,
) -> dict[str, Callable[[Path], None]]:
    """Step 6: the classifier's recipe with one class more, "none of these", fitted on
    `epochs`, the classifier's epochs mixed with outliers (`DetectorEpochs`); its threshold
    and rates go into ``card["ood"]``. Returns the file to save beside the model."""
    data: DetectorEpochs = epochs.epochs
    print(f"out-of-distribution detector: {len(data.classes)} class images, "
          f"{data.others_per_epoch} other digits of {len(data.outliers.other_digits)} and "
          f"{len(data.outliers.non_digits)} derived shapes per epoch", flush=True)
    model = build_network(settings, name="ood_detector")
    one_call_per_epoch(model, epochs, settings)
    fit(model, settings, epochs, verbose=verbose)
    detector = thresholded(model, settings, splits)

    detector_file = f"{card['name']}.ood.keras"
    card["ood"] = {
        "file": detector_file,
        **detector_report(detector, settings, data.outliers, mnist, splits, shifted_test),
    }
    rates = card["ood"]["rates"]["test"]
    print(
        f"out-of-distribution on the test set: {rates['other_digits_flagged']:.1%} of "
        f"other digits flagged, {rates['classes_flagged']:.2%} of {card['classes']} flagged",
        flush=True,
    )
    return {detector_file: model.save}


def one_call_per_epoch(model: keras.Model, epochs: Epochs, settings: RecipeSettings) -> None:
    """Have Keras's fit train a whole epoch per call into TensorFlow (`steps_per_execution`):
    the same updates in the same order, without Keras's few milliseconds of Python per batch,
    about half the 25/15 network's training CPU time. Callbacks then hear only of an epoch's last
    batch, which nothing here listens for (live training, which does, keeps one batch a call).
    Exactly one epoch: more or fewer steps would move batches into the next epoch's learning
    rate. Set on the model rather than through `compile`, so the saved file does not keep it."""
    model.steps_per_execution = steps_per_epoch(len(epochs), settings.batch_size)


class MadeAhead:
    """`epochs`, the next EPOCHS_AHEAD made on `maker`'s threads while this one trains:
    augmenting an epoch takes about three times as long as training the 25/15 network on it
    (and about as long as training the detector), and the machine has two cores."""

    def __init__(self, epochs: Epochs, count: int, maker: Executor) -> None:
        self.epochs, self.count, self.maker = epochs, count, maker
        self.ahead: dict[int, Future[Epoch]] = {}

    def __len__(self) -> int:
        return len(self.epochs)

    def start(self) -> MadeAhead:
        """Have the first epochs made now, before training asks for them."""
        self.make(0)
        return self

    def make(self, first: int) -> None:
        for epoch in range(first, min(first + EPOCHS_AHEAD, self.count)):
            if epoch not in self.ahead:
                self.ahead[epoch] = self.maker.submit(self.epochs, epoch)

    def __call__(self, epoch: int) -> Epoch:
        self.make(epoch + 1)
        made = self.ahead.pop(epoch, None)
        return made.result() if made else self.epochs(epoch)


class KeptEpochs:
    """`epochs` whose first `count` epochs are kept as they are made: the detector trains on
    the classifier's epochs again, and so its classes' digits are augmented once, not twice
    (about a second an epoch)."""

    def __init__(self, epochs: Epochs, count: int) -> None:
        self.epochs, self.count = epochs, count
        self.kept: dict[int, Epoch] = {}

    def __len__(self) -> int:
        return len(self.epochs)

    def __call__(self, epoch: int) -> Epoch:
        if epoch in self.kept:
            return self.kept[epoch]
        made = self.epochs(epoch)
        if epoch < self.count:
            self.kept[epoch] = made
        return made


def main(argv: list[str] | None = None) -> int:
    try:
        settings = parse_args(argv)
        if settings.data is None:
            import_tensorflow_quietly()  # Keras's downloader would load it noisily
        run(settings)
    except (DataError, SettingsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nothing was saved; the existing model is untouched", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
