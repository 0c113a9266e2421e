"""Reproducibility on one machine: the same seed and data give the same weights, bit for bit, in
this process and in a fresh one; another seed gives other weights. (Across CPUs only the quality
is the same: tests/training/test_full_mnist.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import pytest
from project_paths import REPO_ROOT

from training.settings import TrainSettings
from training.train import run


def weights_of(settings: TrainSettings) -> list[np.ndarray]:
    return keras.saving.load_model(settings.out / f"{settings.model_name}.keras").get_weights()


def same_weights(first: list[np.ndarray], second: list[np.ndarray]) -> bool:
    return len(first) == len(second) and all(
        a.shape == b.shape and np.array_equal(a, b) for a, b in zip(first, second, strict=True)
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory, tiny_idx_folder: Path) -> TrainSettings:
    settings = TrainSettings(
        data=tiny_idx_folder,
        out=tmp_path_factory.mktemp("reference"),
        epochs=2,
        batch_size=16,
        seed=7,
        out_of_distribution=False,
    )
    run(settings)
    return settings


def test_the_same_seed_gives_identical_weights_and_history(
    reference: TrainSettings, tiny_settings: Callable[..., TrainSettings], tmp_path: Path
) -> None:
    again = tiny_settings(out=tmp_path / "again", seed=reference.seed)

    card = run(again)

    assert same_weights(weights_of(reference), weights_of(again))
    reference_card = (reference.out / "digits-0-1.json").read_text(encoding="utf-8")
    assert card["history"] == json.loads(reference_card)["history"]


@pytest.mark.slow  # a third run; the same seed's test keeps the module in test-fast
def test_another_seed_gives_other_weights(
    reference: TrainSettings, tiny_settings: Callable[..., TrainSettings], tmp_path: Path
) -> None:
    other = tiny_settings(out=tmp_path / "other", seed=reference.seed + 1)

    run(other)

    assert not same_weights(weights_of(reference), weights_of(other))
    for a, b in zip(weights_of(reference), weights_of(other), strict=True):
        assert a.shape == b.shape


@pytest.mark.slow
def test_a_fresh_process_gives_identical_weights(reference: TrainSettings, tmp_path: Path) -> None:
    out = tmp_path / "subprocess"
    command = [
        sys.executable,
        "-m",
        "training.train",
        "--data",
        str(reference.data),
        "--out",
        str(out),
        "--epochs",
        str(reference.epochs),
        "--batch-size",
        str(reference.batch_size),
        "--seed",
        str(reference.seed),
        "--no-ood",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}

    finished = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )

    assert finished.returncode == 0, finished.stderr[-2000:]
    assert "Traceback" not in finished.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "digits-0-1.json", "digits-0-1.keras", "mnist-test-atlas.npz"
    ]
    assert same_weights(weights_of(reference), weights_of(TrainSettings(out=out)))
