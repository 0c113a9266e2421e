"""Bad input on the command line: our one clear `error:` line on stderr, exit status 2, no
traceback, and nothing written. Every kind is tried through main(); one kind per stage where
the command can stop (flags, settings, the data files, Keras's downloader) also through a real
subprocess, where TensorFlow's native start-up notices must not show either."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from project_paths import REPO_ROOT

from training import ood_detector, train
from training.train import main

if TYPE_CHECKING:
    from tiny_mnist import MnistFiles



@dataclass
class BadInput:
    """Arguments (before --out) and the words the one error line must contain."""

    args: list[str]
    message: str
    env: dict[str, str] = field(default_factory=dict)


def data(path: Path, *more: str) -> list[str]:
    return ["--data", str(path), *more]


def wrong_magic(files: MnistFiles) -> BadInput:
    images = files.idx_bytes(files.arrays["x_train"])
    folder = files.idx_folder(raw={"x_train": b"\x00\x00\x0b\x03" + images[4:]})
    return BadInput(
        data(folder), "train-images-idx3-ubyte.gz has a wrong IDX magic number 00000b03"
    )


def wrong_dimensions(files: MnistFiles) -> BadInput:
    folder = files.idx_folder(
        gzipped=False, spelling=1, arrays={"x_test": np.zeros((22, 28, 27), np.uint8)}
    )
    return BadInput(data(folder), "test images have shape (22, 28, 27), expected (n, 28, 28)")


def truncated_body(files: MnistFiles) -> BadInput:
    labels = files.idx_bytes(files.arrays["y_test"])
    folder = files.idx_folder(raw={"y_test": labels[:-5]})
    return BadInput(data(folder), "declares shape (22,) (22 bytes) but holds 17 bytes")


def broken_gzip(files: MnistFiles) -> BadInput:
    folder = files.idx_folder()
    path = folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-100])
    return BadInput(data(folder), "train-images-idx3-ubyte.gz is a broken gzip file")


def count_mismatch(files: MnistFiles) -> BadInput:
    folder = files.idx_folder(arrays={"y_train": files.arrays["y_train"][:-1]})
    return BadInput(data(folder), "60 train images but 59 train labels")


def npz_missing_a_key(files: MnistFiles) -> BadInput:
    return BadInput(data(files.npz(omit=["y_train"])), "mnist.npz lacks y_train")


def unreadable_npz(files: MnistFiles) -> BadInput:
    folder = files.text_file("data/mnist.npz", "x_train,y_train\n1,2\n").parent
    return BadInput(data(folder), "mnist.npz is not a readable .npz archive")


def only_some_idx_files(files: MnistFiles) -> BadInput:
    folder = files.idx_folder(omit=["x_test", "y_test"])
    return BadInput(data(folder), "missing t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte")


def out_is_a_file(files: MnistFiles) -> BadInput:
    a_file = files.text_file("model_store")
    return BadInput(
        [*data(files.npz()), "--out", str(a_file)], "is a file: give a folder to save the model in"
    )


def no_data_and_no_internet(files: MnistFiles) -> BadInput:
    refusing_proxy = "http://127.0.0.1:9"  # the discard port: the download can never happen
    env = {name: refusing_proxy for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY")}
    env["KERAS_HOME"] = str(files.root / "keras-home")  # an empty cache
    return BadInput([], "could not download MNIST with Keras", env=env)


BAD_INPUTS: dict[str, Callable[[MnistFiles], BadInput]] = {
    "missing path": lambda f: BadInput(
        data(f.root / "nowhere"), "nowhere does not exist: pass --data a folder holding MNIST"
    ),
    "a text file": lambda f: BadInput(data(f.text_file("mnist.txt")), "is not an .npz archive"),
    "a folder without MNIST": lambda f: BadInput(
        data(f.text_file("empty/notes.txt").parent), "holds no MNIST"
    ),
    "only some IDX files": only_some_idx_files,
    "wrong IDX magic": wrong_magic,
    "wrong IDX dimensions": wrong_dimensions,
    "truncated IDX body": truncated_body,
    "broken gzip": broken_gzip,
    "image and label counts differ": count_mismatch,
    "npz missing a key": npz_missing_a_key,
    "npz that is text": unreadable_npz,
    "a digit with no examples": lambda f: BadInput(
        data(f.npz(), "--digits", "0,3"), "the training set has no examples of digit(s) 3"
    ),
    "one digit": lambda f: BadInput(data(f.npz(), "--digits", "1"), "at least two digits"),
    "zero epochs": lambda f: BadInput(data(f.npz(), "--epochs", "0"), "--epochs 0: give 1 to 1000"),
    "epochs not a number": lambda f: BadInput(
        data(f.npz(), "--epochs", "ten"), "argument --epochs: invalid int value: 'ten'"
    ),
    "learning rate nan": lambda f: BadInput(
        data(f.npz(), "--learning-rate", "nan"), "--learning-rate nan: give a number in (0, 10]"
    ),
    "negative learning rate": lambda f: BadInput(
        data(f.npz(), "--learning-rate=-1"), "--learning-rate -1.0: give a number in (0, 10]"
    ),
    "batch size 0": lambda f: BadInput(data(f.npz(), "--batch-size", "0"), "give 1 to 65536"),
    "a layer of 0 units": lambda f: BadInput(
        data(f.npz(), "--hidden", "25,0"), "each layer needs 1 to 4096 units"
    ),
    "unknown activation": lambda f: BadInput(
        data(f.npz(), "--activation", "swish"), "--activation 'swish': choose one of"
    ),
    "validation fraction 1": lambda f: BadInput(
        data(f.npz(), "--validation-fraction", "1"), "give a fraction in (0, 0.5]"
    ),
    "seed too big": lambda f: BadInput(
        data(f.npz(), "--seed", "4294967296"), "give a whole number from 0 to 4294967295"
    ),
    "unknown flag": lambda f: BadInput(
        data(f.npz(), "--layers", "3"), "unrecognized arguments: --layers 3"
    ),
    "--out is a file": out_is_a_file,
    "no --data and no internet": no_data_and_no_internet,
}
# KERAS_HOME is read when Keras is imported, so that case needs a fresh process.
IN_PROCESS = [name for name in BAD_INPUTS if name != "no --data and no internet"]
# The subprocess runs the same main(): one kind for each stage a run can stop at.
IN_A_SUBPROCESS = [
    "unknown flag",  # argparse
    "--out is a file",  # check_settings
    "wrong IDX magic",  # the MNIST files, read after TensorFlow is imported
    "no --data and no internet",  # Keras's downloader, with TensorFlow imported
]
TENSORFLOW_NOTICES = ("absl::InitializeLog", "oneDNN custom operations", "cpu_feature_guard")


def with_out(bad: BadInput, out: Path) -> list[str]:
    return bad.args if "--out" in bad.args else [*bad.args, "--out", str(out)]


def assert_one_clear_line(stderr: str, message: str) -> None:
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, stderr
    assert message in errors[0]


@pytest.mark.parametrize("kind", IN_PROCESS)
def test_main_fails_with_one_clear_line_and_writes_nothing(
    kind: str, mnist_files: MnistFiles, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = BAD_INPUTS[kind](mnist_files)
    out = tmp_path / "store"
    capsys.readouterr()

    status = main(with_out(bad, out))

    assert status == 2
    assert_one_clear_line(capsys.readouterr().err, bad.message)
    assert not out.exists()


@pytest.mark.slow  # a fresh Python that imports TensorFlow; main() above checks every message
@pytest.mark.parametrize("kind", IN_A_SUBPROCESS)
def test_the_command_fails_with_one_clear_line_and_no_traceback(
    kind: str, mnist_files: MnistFiles, tmp_path: Path
) -> None:
    bad = BAD_INPUTS[kind](mnist_files)
    out = tmp_path / "store"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), **bad.env}
    if bad.env:
        env.pop("NO_PROXY", None)
        env.pop("no_proxy", None)

    finished = subprocess.run(
        [sys.executable, "-m", "training.train", *with_out(bad, out)],
        cwd=tmp_path,  # so that the default --out could never touch the project's model_store
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert finished.returncode == 2
    assert_one_clear_line(finished.stderr, bad.message)
    for notice in TENSORFLOW_NOTICES:
        assert notice not in finished.stderr
    assert not out.exists()
    assert not (tmp_path / "model_store").exists() or kind == "--out is a file"


@pytest.mark.slow  # it trains
def test_a_plain_idx_folder_with_dotted_names_trains_through_main(
    mnist_files: MnistFiles, tmp_path: Path
) -> None:
    folder = mnist_files.idx_folder(gzipped=False, spelling=1)
    out = tmp_path / "store"

    status = main(["--data", str(folder), "--out", str(out), "--epochs", "1", "--no-ood"])

    assert status == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "digits-0-1.json", "digits-0-1.keras", "mnist-test-atlas.npz"
    ]


@pytest.mark.slow  # it trains
def test_the_progress_is_one_plain_line_per_epoch_when_stdout_is_not_a_terminal(
    tiny_idx_folder: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The classifier's epochs and then the detector's, in one run of the command."""
    # How epochs are printed is the question, not how well it learns: two epochs show it.
    monkeypatch.setattr(
        train, "detector_settings", lambda s: replace(ood_detector.detector_settings(s), epochs=2)
    )
    args = ["--data", str(tiny_idx_folder), "--out", str(tmp_path / "store")]

    status = main([*args, "--epochs", "2"])

    out = capsys.readouterr().out
    assert status == 0
    assert "\x1b[" not in out and "\r" not in out and "\b" not in out
    lines = out.splitlines()
    first = lines.index("Epoch 1/2")
    assert re.match(r"1/1 - .* - val_accuracy: ", lines[first + 1])  # 49 images, one batch
    assert lines[first + 2] == "Epoch 2/2"
    detector = lines.index(next(line for line in lines if line.startswith("out-of-distribution")))
    epochs = [i for i, line in enumerate(lines) if i > detector and line.startswith("Epoch ")]
    assert len(epochs) == 2  # the detector's own epochs, after the classifier's
    for i in epochs:
        assert re.match(r"\d+/\d+ - .* - loss: ", lines[i + 1]), lines[i + 1]
