"""Write a trained model and its model card into model_store/ atomically.

The app loads ``DIR/<name>.keras`` beside ``DIR/<name>.json``. Everything is first written to a
hidden temporary folder inside DIR (same file system, so renames are atomic), read back to check
it, and only then renamed into place: a run that fails or is interrupted never leaves a broken
or half-written model where the app would load it, and never replaces the good one. The card
carries the sha256 of the model file, so the app can tell if the pair was ever mixed up.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def save_model_with_card(
    model: keras.Model,
    card: dict[str, Any],
    out_dir: Path,
    name: str,
    extra_files: dict[str, Callable[[Path], None]] | None = None,
) -> Path:
    """Save ``model`` and ``card`` as ``out_dir/name.keras`` and ``out_dir/name.json``.

    ``extra_files`` maps a file name (saved beside the model) to a function that writes it to
    the path it is given; they are renamed into place with the model and recorded in the card.
    Returns the model's path.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    model_path = out_dir / f"{name}.keras"
    card_path = out_dir / f"{name}.json"
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=f".{name}.saving-") as staging_dir:
        staging = Path(staging_dir)
        staged_model = staging / model_path.name
        model.save(staged_model)
        # Read it back before it replaces anything: a model that cannot load is not saved.
        keras.saving.load_model(staged_model, compile=False)
        files = {"model": model_path.name, "model_sha256": file_sha256(staged_model)}
        card = {**card, "files": files}

        staged_extras: list[tuple[Path, Path]] = []
        for file_name, write in (extra_files or {}).items():
            staged = staging / file_name
            write(staged)
            files[file_name] = file_sha256(staged)
            staged_extras.append((staged, out_dir / file_name))

        staged_card = staging / card_path.name
        staged_card.write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")

        # The card goes last. Renames are atomic one by one, not as a set: were the process
        # killed between them, the card's model_sha256 would no longer match and the app
        # would refuse the pair with a clear error rather than serve a mix.
        for staged, final in [(staged_model, model_path), *staged_extras]:
            os.replace(staged, final)
        os.replace(staged_card, card_path)
    return model_path
