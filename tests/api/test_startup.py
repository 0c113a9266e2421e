"""A model store the server cannot serve stops start-up: one line naming the file and what is
wrong, a non-zero exit, no traceback, and the socket never opened. Each test starts a real
uvicorn (TensorFlow's import makes that a few seconds), so there is one per kind of problem."""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import zipfile
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import httpx
import pytest
from project_paths import MODEL_STORE

from app.model_registry import ModelStoreError, load_registry

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

DEFAULT_MODEL = "digits-0-1"
STARTUP_FAILED_PREFIX = "cannot start: "
SERVING_MARK = "Uvicorn running on"


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A copy of the shipped default model (with its detector), to break."""
    copy = tmp_path / "store"
    copy.mkdir()
    for path in MODEL_STORE.glob(f"{DEFAULT_MODEL}.*"):
        shutil.copy2(path, copy / path.name)
    return copy


def edit_card(card_path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    card = json.loads(card_path.read_text(encoding="utf-8"))
    change(card)
    card_path.write_text(json.dumps(card, indent=2), encoding="utf-8")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_refused(outcome: Any, path: Path, problem: str) -> None:
    """Non-zero exit; one `cannot start:` line naming the file and the problem; no traceback."""
    assert outcome.exit_code is not None, f"the server started:\n{outcome.stderr}"
    assert outcome.exit_code != 0
    assert "Traceback" not in outcome.stderr, outcome.stderr
    assert SERVING_MARK not in outcome.stderr
    reasons = [line for line in outcome.stderr.splitlines() if STARTUP_FAILED_PREFIX in line]
    assert len(reasons) == 1, outcome.stderr
    (reason,) = reasons
    assert str(path) in reason, reason
    assert problem in reason, reason


def test_missing_folder(run_startup: Callable[..., Any], tmp_path: Path) -> None:
    folder = tmp_path / "no-such-folder"
    assert_refused(run_startup(folder), folder, "the model folder does not exist")


def test_folder_without_cards(run_startup: Callable[..., Any], store: Path) -> None:
    for card in store.glob("*.json"):
        card.unlink()
    assert_refused(run_startup(store), store, "no model cards")


def test_card_without_its_model(run_startup: Callable[..., Any], store: Path) -> None:
    model = store / f"{DEFAULT_MODEL}.keras"
    model.unlink()
    assert_refused(run_startup(store), model, "missing")


def _zip_without_a_model(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "not a model")


UNREADABLE_MODELS: dict[str, tuple[Callable[[Path], None], str]] = {
    "garbage-bytes": (
        lambda path: path.write_bytes(b"this is not a zip archive\x00\xff" * 100),
        "not a .keras model",
    ),
    "zip-without-a-model": (_zip_without_a_model, "cannot be loaded by Keras"),
}


@pytest.mark.parametrize("kind", UNREADABLE_MODELS)
def test_model_file_that_keras_cannot_read(
    run_startup: Callable[..., Any], store: Path, kind: str
) -> None:
    write_bad_model, problem = UNREADABLE_MODELS[kind]
    model = store / f"{DEFAULT_MODEL}.keras"
    write_bad_model(model)
    # The card vouches for the new bytes, so it is the model file itself that must be refused.
    edit_card(
        store / f"{DEFAULT_MODEL}.json",
        lambda card: card["files"].update(model_sha256=sha256(model)),
    )
    assert_refused(run_startup(store), model, problem)


def test_card_that_is_not_json(run_startup: Callable[..., Any], store: Path) -> None:
    card = store / f"{DEFAULT_MODEL}.json"
    card.write_text('{"name": "digits-0-1", "classes": ["0", "1"', encoding="utf-8")
    assert_refused(run_startup(store), card, "not a readable JSON model card")


def test_card_classes_that_do_not_match_the_output(
    run_startup: Callable[..., Any], store: Path
) -> None:
    edit_card(store / f"{DEFAULT_MODEL}.json", lambda card: card.update(classes=["0", "1", "2"]))
    model = store / f"{DEFAULT_MODEL}.keras"
    # The .keras is untouched, so its sha256 still matches the card: only the classes are wrong.
    assert_refused(run_startup(store), model, "does not match the card's 3 classes")


def test_model_whose_sha256_differs_from_its_card(
    run_startup: Callable[..., Any], store: Path
) -> None:
    edit_card(
        store / f"{DEFAULT_MODEL}.json",
        lambda card: card["files"].update(model_sha256=hashlib.sha256(b"other").hexdigest()),
    )
    assert_refused(run_startup(store), store / f"{DEFAULT_MODEL}.keras", "sha256 differs")


def test_default_model_missing(run_startup: Callable[..., Any], store: Path) -> None:
    """The store holds a good model, but not the default one."""
    for suffix in (".keras", ".json", ".ood.keras"):
        (store / f"{DEFAULT_MODEL}{suffix}").rename(store / f"digits-old{suffix}")

    def renamed(card: dict[str, Any]) -> None:
        card["name"] = "digits-old"
        card["files"]["model"] = "digits-old.keras"
        # Its detector is renamed with it: a card's detector is NAME.ood.keras beside it.
        card["ood"]["file"] = "digits-old.ood.keras"
        card["files"]["digits-old.ood.keras"] = card["files"].pop(f"{DEFAULT_MODEL}.ood.keras")

    edit_card(store / "digits-old.json", renamed)
    assert_refused(
        run_startup(store), store / f"{DEFAULT_MODEL}.keras", "the default model is missing"
    )


def _serve_command(*args: str) -> list[str]:
    script = Path(sys.executable).parent / "digits-serve"
    launcher = [str(script)] if script.is_file() else [sys.executable, "-m", "app.cli"]
    return [*launcher, *args]


def test_console_script_reports_the_model_dir_it_was_given(
    run_startup: Callable[..., Any], tmp_path: Path
) -> None:
    folder = tmp_path / "given-folder"
    outcome = run_startup(command=_serve_command("--model-dir", str(folder), "--port", "0"))
    assert_refused(outcome, folder, "the model folder does not exist")


SERVING_ANNOUNCEMENT = "Serving the app at http://127.0.0.1:"


def test_console_script_says_it_serves_only_after_start_up(
    run_startup: Callable[..., Any], tmp_path: Path
) -> None:
    outcome = run_startup(command=_serve_command("--port", "0"), log_path=tmp_path / "log")
    assert outcome.exit_code is None, outcome.stderr
    lines = outcome.stderr.splitlines()
    announced = [index for index, line in enumerate(lines) if SERVING_ANNOUNCEMENT in line]
    started = [index for index, line in enumerate(lines) if "startup complete" in line]
    assert len(announced) == 1 and started, outcome.stderr
    assert announced[0] > started[0], outcome.stderr


def test_console_script_that_cannot_start_does_not_say_it_serves(
    run_startup: Callable[..., Any], tmp_path: Path
) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    outcome = run_startup(
        command=_serve_command("--model-dir", str(folder), "--port", "0"),
        log_path=tmp_path / "log",
    )
    assert_refused(outcome, folder, f"--out {folder}")
    assert "Serving the app" not in outcome.stderr


def test_console_script_serves_the_model_dir_it_was_given(
    start_server: Callable[..., AbstractContextManager[str]],
    two_model_store: Path,
    tmp_path: Path,
) -> None:
    """--model-dir wins over DIGITS_MODEL_DIR, which here points nowhere."""

    def command(port: int) -> list[str]:
        return _serve_command("--model-dir", str(two_model_store), "--port", str(port))

    with start_server(tmp_path / "not-this-one", command=command) as url:
        names = [model["name"] for model in httpx.get(f"{url}/models").json()["models"]]
    assert sorted(names) == ["digits-0-1", "digits-2-5-7"]


def test_a_card_without_its_models_sha256_is_refused(store: Path) -> None:
    """Keras's own code reads a .keras file: only one its card vouches for is loaded."""
    edit_card(store / f"{DEFAULT_MODEL}.json", lambda card: card["files"].pop("model_sha256"))
    with pytest.raises(ModelStoreError, match="records no sha256"):
        load_registry(store, DEFAULT_MODEL)


@pytest.mark.parametrize("named", ["../digits-0-9.keras", "digits-0-9.keras", "/etc/passwd"])
def test_a_detector_anywhere_but_beside_its_model_is_refused(store: Path, named: str) -> None:
    edit_card(store / f"{DEFAULT_MODEL}.json", lambda card: card["ood"].update(file=named))
    with pytest.raises(ModelStoreError, match=f"must be {DEFAULT_MODEL}.ood.keras beside it"):
        load_registry(store, DEFAULT_MODEL)
