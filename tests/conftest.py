"""Settings for the whole suite.

This file also puts tests/ on sys.path (pytest's default "prepend" import mode), which is how
every test folder imports the shared tests/live_server.py.
"""

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import settings
from project_paths import MODEL_STORE

# Starlette's TestClient names its server "testserver" in the Host header: the in-process apps
# allow it, as a deployment allows the names it is reached by (DIGITS_ALLOWED_HOSTS). Servers
# started by the tests (tests/live_server.py) drop every DIGITS_* variable and are reached at
# 127.0.0.1, which is always allowed.
os.environ.setdefault("DIGITS_ALLOWED_HOSTS", "testserver")

# In CI, property-based tests explore the same examples on every run, so a run's verdict does
# not depend on luck; locally they explore new ones (and remember failures in .hypothesis/).
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def shipped_app() -> Iterator[TestClient]:
    """The app in-process on the shipped model store with the default settings, its lifespan
    run (every model loaded and checked, the atlas mapped): one for the whole session, as
    starting it costs seconds of CPU."""
    from app.main import create_app
    from app.settings import Settings

    with TestClient(create_app(Settings(model_dir=MODEL_STORE))) as client:
        yield client


@pytest.fixture(scope="session")
def store_of(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """`store_of("digits-0-1")`: a model store of copies of those shipped models alone (each
    with its detector) and no digit atlas. For a test that needs its own app (its own settings)
    but not every model: that app starts in a fraction of the shipped store's time, with no CNN
    to load and no atlas to map."""
    made: dict[tuple[str, ...], Path] = {}

    def make(*names: str) -> Path:
        if names not in made:
            store = tmp_path_factory.mktemp("store-of-" + "-and-".join(names))
            for name in names:
                files = list(MODEL_STORE.glob(f"{name}.*"))
                assert files, f"no shipped model {name!r} in {MODEL_STORE}"
                for path in files:
                    shutil.copy2(path, store / path.name)
            made[names] = store
        return made[names]

    return make
