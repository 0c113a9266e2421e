"""python -m training.atlas: the atlas written for an existing model store, without training,
is the one the project ships (the sample depends only on MNIST's test set and the seed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from project_paths import MODEL_STORE, SHARED_MNIST_NPZ

from core.atlas import ATLAS_FILE, load_atlas
from training.atlas import main


def test_the_command_writes_the_shipped_atlas(tmp_path: Path) -> None:
    if not SHARED_MNIST_NPZ.is_file():
        pytest.skip(f"MNIST is not at {SHARED_MNIST_NPZ}")
    assert main(["--data", str(SHARED_MNIST_NPZ.parent), "--out", str(tmp_path)]) == 0
    written, shipped = load_atlas(tmp_path / ATLAS_FILE), load_atlas(MODEL_STORE / ATLAS_FILE)
    np.testing.assert_array_equal(written.indices, shipped.indices)
    np.testing.assert_array_equal(written.images, shipped.images)
    np.testing.assert_array_equal(written.labels, shipped.labels)


def test_a_missing_store_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data", str(tmp_path), "--out", str(tmp_path / "nowhere")]) == 2
    assert "nowhere is not a folder" in capsys.readouterr().err
