"""API tests run against the real app in-process: `TestClient(create_app(settings))` with its
lifespan (the models loaded and checked as `digits-serve` loads them).

`client` is the app on the shipped model store; `two_model_client` the app on a store of two
models. Only the start-up tests (test_startup.py) run a real server, through `start_server`
and `run_startup` (tests/live_server.py): what they test is the process starting, or refusing to.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from live_server import (
    CommandForPort,
    StartupOutcome,
    running_server,
    startup_outcome,
    uvicorn_command,
)
from project_paths import MODEL_STORE, mnist_test_split, mnist_test_split_or_skip

from app.main import create_app
from app.settings import Settings


@contextmanager
def serving(
    model_dir: Path | None = None,
    command: CommandForPort = uvicorn_command,
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """`live_server.running_server`, as the start-up tests want it: just the base URL."""
    with running_server(model_dir, command, env) as server:
        yield server.url


@pytest.fixture(scope="session")
def client(shipped_app: TestClient) -> TestClient:
    """The app on the shipped model store, in-process, for every API test of the session."""
    return shipped_app


@pytest.fixture(scope="session")
def start_server() -> Callable[..., AbstractContextManager[str]]:
    """`with start_server(model_dir) as url:` serves that folder until the block ends."""
    return serving


@pytest.fixture(scope="session")
def run_startup() -> Callable[..., StartupOutcome]:
    """`run_startup(model_dir)` → StartupOutcome(exit_code or None if it served, stderr)."""
    return startup_outcome


@pytest.fixture(scope="session")
def digits_0_1() -> tuple[np.ndarray, np.ndarray]:
    """MNIST-form 0s and 1s, (n, 28, 28) float32 in [0, 1] with ink high, and their labels:
    real MNIST test digits when ../shared/data holds MNIST, else drawn look-alikes."""
    if (mnist := mnist_test_split()) is not None:
        images, labels = mnist
        wanted = np.flatnonzero(labels <= 1)[:40]
        return images[wanted].astype(np.float32) / 255.0, labels[wanted]
    return _synthetic_digits()


@pytest.fixture(scope="session")
def mnist_all_digits() -> tuple[np.ndarray, np.ndarray]:
    """The first 100 MNIST test digits (all ten kinds), MNIST form; skips without MNIST."""
    images, labels = mnist_test_split_or_skip()
    return images[:100].astype(np.float32) / 255.0, labels[:100]


def _synthetic_digits() -> tuple[np.ndarray, np.ndarray]:
    """0s and 1s drawn on a canvas at five places, brought to MNIST form as the app does."""
    from PIL import Image, ImageDraw

    from core.mnist_form import image_to_mnist

    images, labels = [], []
    for shift in range(-40, 41, 20):
        for digit in (0, 1):
            image = Image.new("L", (280, 280), 0)
            draw = ImageDraw.Draw(image)
            if digit == 0:
                draw.ellipse((90 + shift, 50, 190 + shift, 230), outline=255, width=24)
            else:
                draw.line((140 + shift, 50, 140 + shift, 230), fill=255, width=24)
            images.append(image_to_mnist(image))
            labels.append(digit)
    return np.stack(images), np.array(labels)


OTHER_MODEL = "digits-2-5-7"
OTHER_CLASSES = ["2", "5", "7"]


@pytest.fixture(scope="session")
def store_with_model(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """`store_with_model(shipped_glob, model, card)`: a fresh model store holding copies of the
    shipped model files that `shipped_glob` matches, and `model` saved with `card` (named by
    the card's "name")."""
    from training.model_store_writer import save_model_with_card

    def make(shipped_glob: str, model: Any, card: dict[str, Any]) -> Path:
        store = tmp_path_factory.mktemp("stores") / card["name"]
        store.mkdir()
        for path in MODEL_STORE.glob(shipped_glob):
            shutil.copy2(path, store / path.name)
        save_model_with_card(model, card, store, card["name"])
        return store

    return make


@pytest.fixture(scope="session")
def two_model_store(store_with_model: Callable[..., Path]) -> Path:
    """The shipped 0/1 model (with its detector) and a freshly built three-class softmax
    model, `digits-2-5-7`."""
    import keras

    keras.utils.set_random_seed(7)
    model = keras.Sequential(
        [
            keras.Input(shape=(784,), name="pixels"),
            keras.layers.Dense(12, activation="relu", name="hidden_1"),
            keras.layers.Dense(len(OTHER_CLASSES), activation="softmax", name="output"),
        ]
    )
    card = {
        "name": OTHER_MODEL,
        "classes": OTHER_CLASSES,
        "architecture": {
            "layers": [
                {"name": "hidden_1", "units": 12, "activation": "relu"},
                {"name": "output", "units": 3, "activation": "softmax"},
            ]
        },
        "metrics": {"test": {"loss": 1.1, "accuracy": 0.33}},
    }
    return store_with_model("digits-0-1.*", model, card)


@pytest.fixture(scope="session")
def two_model_client(two_model_store: Path) -> Iterator[TestClient]:
    """The app on `two_model_store` (default: the shipped model), in-process."""
    with TestClient(create_app(Settings(model_dir=two_model_store))) as test_client:
        yield test_client
