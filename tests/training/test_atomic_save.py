"""Atomic saving: a run that fails or is interrupted while saving never leaves a broken model
where the app would load it, never replaces the good one, and leaves no staging folder.

Over 300 lines: one test per point where a save can fail, each checking that the good model
survives.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest
from project_paths import REPO_ROOT

from core.recipe import RecipeSettings, build_network
from training import model_store_writer
from training.model_store_writer import save_model_with_card
from training.train import main

NAME = "digits-0-1"
DETECTOR = f"{NAME}.ood.keras"
STORE_FILES = {f"{NAME}.keras", f"{NAME}.json", DETECTOR}


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every entry under ``folder``, hidden ones included: files by content, folders as None."""
    return {
        str(path.relative_to(folder)): path.read_bytes() if path.is_file() else None
        for path in sorted(folder.rglob("*"))
    }


def tiny_model(seed: int) -> keras.Model:
    return build_network(RecipeSettings(hidden=(3,), seed=seed))


@pytest.fixture(scope="module")
def good_model() -> keras.Model:
    return tiny_model(seed=1)


@pytest.fixture(scope="module")
def new_model() -> keras.Model:
    return tiny_model(seed=2)


@pytest.fixture
def store(tmp_path: Path, good_model: keras.Model) -> Path:
    """A model store holding a good model, its detector and its card."""
    out = tmp_path / "model_store"
    save_model_with_card(
        good_model, {"name": NAME, "note": "the good one"}, out, NAME, {DETECTOR: good_model.save}
    )
    assert set(os.listdir(out)) == STORE_FILES
    return out


def save_new(model: keras.Model, out: Path, card: dict[str, Any] | None = None) -> Path:
    return save_model_with_card(
        model, card or {"name": NAME, "note": "the new one"}, out, NAME, {DETECTOR: model.save}
    )


# --- the happy path -------------------------------------------------------------------------


def test_a_new_model_replaces_the_old_files_together(
    store: Path, new_model: keras.Model, good_model: keras.Model
) -> None:
    path = save_new(new_model, store)

    assert path == store / f"{NAME}.keras"
    assert set(os.listdir(store)) == STORE_FILES
    card = json.loads((store / f"{NAME}.json").read_text(encoding="utf-8"))
    assert card["note"] == "the new one"
    assert card["files"] == {
        "model": f"{NAME}.keras",
        "model_sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        DETECTOR: hashlib.sha256((store / DETECTOR).read_bytes()).hexdigest(),
    }
    loaded = keras.saving.load_model(path, compile=False).get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(loaded, new_model.get_weights(), strict=True))
    assert not all(
        np.array_equal(a, b) for a, b in zip(loaded, good_model.get_weights(), strict=True)
    )


def test_the_out_folder_is_created_if_missing(tmp_path: Path, new_model: keras.Model) -> None:
    out = tmp_path / "a" / "b" / "model_store"

    save_new(new_model, out)

    assert set(os.listdir(out)) == STORE_FILES


# --- failures in the middle of saving -------------------------------------------------------


def half_write_then_disk_full(monkeypatch: pytest.MonkeyPatch) -> type[BaseException]:
    real_save = keras.Model.save

    def save(self: keras.Model, filepath: str | Path, *args: Any, **kwargs: Any) -> None:
        real_save(self, filepath, *args, **kwargs)
        content = Path(filepath).read_bytes()
        Path(filepath).write_bytes(content[: len(content) // 3])
        raise OSError(errno.ENOSPC, "No space left on device", str(filepath))

    monkeypatch.setattr(keras.Model, "save", save)
    return OSError


def write_a_broken_model_quietly(monkeypatch: pytest.MonkeyPatch) -> type[BaseException]:
    # No error from save itself: only reading the staged file back catches it.
    def save(self: keras.Model, filepath: str | Path, *args: Any, **kwargs: Any) -> None:
        Path(filepath).write_bytes(b"PK\x03\x04 half a zip archive")

    monkeypatch.setattr(keras.Model, "save", save)
    return Exception


def interrupt_while_saving_the_model(monkeypatch: pytest.MonkeyPatch) -> type[BaseException]:
    real_save = keras.Model.save

    def save(self: keras.Model, filepath: str | Path, *args: Any, **kwargs: Any) -> None:
        real_save(self, filepath, *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(keras.Model, "save", save)
    return KeyboardInterrupt


def fail_writing_the_card(monkeypatch: pytest.MonkeyPatch) -> type[BaseException]:
    real_write_text = Path.write_text

    def write_text(self: Path, data: str, *args: Any, **kwargs: Any) -> int:
        if self.suffix == ".json":
            real_write_text(self, data[: len(data) // 2], *args, **kwargs)
            raise OSError(errno.EIO, "Input/output error", str(self))
        return real_write_text(self, data, *args, **kwargs)

    monkeypatch.setattr(Path, "write_text", write_text)
    return OSError


def fail_renaming_the_model_into_place(monkeypatch: pytest.MonkeyPatch) -> type[BaseException]:
    real_replace = os.replace

    def replace(src: str | Path, dst: str | Path) -> None:
        if str(dst).endswith(f"{NAME}.keras"):
            raise PermissionError(errno.EACCES, "Permission denied", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(model_store_writer.os, "replace", replace)
    return PermissionError


@pytest.mark.parametrize(
    "sabotage",
    [
        half_write_then_disk_full,
        write_a_broken_model_quietly,
        interrupt_while_saving_the_model,
        fail_writing_the_card,
        fail_renaming_the_model_into_place,
    ],
)
def test_a_failure_while_saving_leaves_the_good_model_intact(
    store: Path,
    new_model: keras.Model,
    monkeypatch: pytest.MonkeyPatch,
    sabotage: Callable[[pytest.MonkeyPatch], type[BaseException]],
) -> None:
    before = snapshot(store)
    expected = sabotage(monkeypatch)

    with pytest.raises(expected):
        save_new(new_model, store)

    assert snapshot(store) == before  # byte-identical, and no staging folder left behind


def test_a_card_that_is_not_json_leaves_the_good_model_intact(
    store: Path, new_model: keras.Model
) -> None:
    before = snapshot(store)

    with pytest.raises(TypeError):
        save_new(new_model, store, card={"name": NAME, "oops": object()})

    assert snapshot(store) == before


def test_a_failing_extra_file_leaves_the_good_model_intact(
    store: Path, new_model: keras.Model
) -> None:
    before = snapshot(store)

    def write_detector(path: Path) -> None:
        path.write_bytes(b"half a detector")
        raise RuntimeError("the detector could not be saved")

    with pytest.raises(RuntimeError):
        save_model_with_card(new_model, {"name": NAME}, store, NAME, {DETECTOR: write_detector})

    assert snapshot(store) == before


def test_a_failure_between_the_renames_is_caught_by_the_cards_sha256(
    store: Path, new_model: keras.Model, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two renames cannot be one atomic step: if the card's fails after the model's, the old
    # card stays and its model_sha256 no longer matches, so the app can refuse the pair.
    old_card = (store / f"{NAME}.json").read_bytes()
    real_replace = os.replace

    def replace(src: str | Path, dst: str | Path) -> None:
        if str(dst).endswith(".json"):
            raise OSError(errno.EIO, "Input/output error", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(model_store_writer.os, "replace", replace)

    with pytest.raises(OSError):
        save_new(new_model, store)

    assert (store / f"{NAME}.json").read_bytes() == old_card
    card = json.loads(old_card)
    model_sha256 = hashlib.sha256((store / f"{NAME}.keras").read_bytes()).hexdigest()
    assert card["files"]["model_sha256"] != model_sha256
    assert set(os.listdir(store)) == STORE_FILES


# --- through the command line ---------------------------------------------------------------


def tiny_argv(data: Path, out: Path) -> list[str]:
    return [
        "--data",
        str(data),
        "--out",
        str(out),
        "--epochs",
        "1",
        "--batch-size",
        "16",
        "--no-ood",
    ]


@pytest.fixture(scope="module")
def trained_once(tmp_path_factory: pytest.TempPathFactory, tiny_idx_folder: Path) -> Path:
    """A model store holding a real model and card from a tiny run of the command."""
    out = tmp_path_factory.mktemp("trained") / "model_store"
    assert main([*tiny_argv(tiny_idx_folder, out), "--seed", "1"]) == 0
    return out


@pytest.fixture
def trained_store(tmp_path: Path, trained_once: Path) -> Path:
    """This test's own copy of `trained_once`: the run it makes may change it."""
    return Path(shutil.copytree(trained_once, tmp_path / "model_store"))


def test_an_interrupted_run_says_so_in_one_line_and_keeps_the_old_model(
    trained_store: Path,
    tiny_idx_folder: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = snapshot(trained_store)
    interrupt_while_saving_the_model(monkeypatch)
    capsys.readouterr()

    status = main([*tiny_argv(tiny_idx_folder, trained_store), "--seed", "2"])

    assert status == 130
    assert capsys.readouterr().err.splitlines() == [
        "interrupted: nothing was saved; the existing model is untouched"
    ]
    assert snapshot(trained_store) == before


def test_a_run_that_fails_while_saving_keeps_the_old_model(
    trained_store: Path, tiny_idx_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = snapshot(trained_store)
    half_write_then_disk_full(monkeypatch)

    with pytest.raises(OSError, match="No space left on device"):
        main([*tiny_argv(tiny_idx_folder, trained_store), "--seed", "2"])

    assert snapshot(trained_store) == before


KILL_WHILE_SAVING = textwrap.dedent(
    """
    import signal, sys
    from pathlib import Path

    import keras

    from training.train import main

    real_save = keras.Model.save

    def save_then_die(self, filepath, *args, **kwargs):
        real_save(self, filepath, *args, **kwargs)
        content = Path(filepath).read_bytes()
        Path(filepath).write_bytes(content[: len(content) // 2])  # half-written
        # raise() signals this very thread, so Ctrl+C's KeyboardInterrupt comes before the next
        # line runs; os.kill(getpid()) may land on one of TensorFlow's threads and be noticed
        # only after the saver has gone on to read the half-written file.
        signal.raise_signal(getattr(signal, sys.argv[1]))

    keras.Model.save = save_then_die
    sys.exit(main(sys.argv[2:]))
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("signal_name", ["SIGINT", "SIGTERM", "SIGKILL"])
def test_a_process_killed_while_saving_leaves_the_old_model_where_the_app_loads_it(
    trained_store: Path, tiny_idx_folder: Path, tmp_path: Path, signal_name: str
) -> None:
    visible_before = {k: v for k, v in snapshot(trained_store).items() if not k.startswith(".")}
    script = tmp_path / "kill_while_saving.py"
    script.write_text(KILL_WHILE_SAVING, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}

    finished = subprocess.run(
        [sys.executable, str(script), signal_name, *tiny_argv(tiny_idx_folder, trained_store)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )

    after = snapshot(trained_store)
    visible_after = {k: v for k, v in after.items() if not k.startswith(".")}
    assert visible_after == visible_before
    if signal_name == "SIGINT":  # Ctrl+C: Python unwinds, the staging folder is removed
        assert finished.returncode == 130
        assert finished.stderr.strip().splitlines()[-1].startswith("interrupted: nothing was saved")
        assert after.keys() == visible_before.keys()
    else:  # no chance to clean up: at most a hidden staging folder, which the app never reads
        assert finished.returncode == -getattr(signal, signal_name)
        leftovers = {k.split(os.sep)[0] for k in after.keys() - visible_after.keys()}
        assert all(name.startswith(f".{NAME}.saving-") for name in leftovers)
