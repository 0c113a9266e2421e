"""Models trained from the page: kept in memory beside the shipped ones, for a while.

A run of WebSocket /train ends by adding its model here. Every route that finds a model by name
(`app/dependencies.py`) looks here after the model store, so `/predict?model=NAME`,
`/gradients`, `/models/NAME` and its download all work with it. Nothing is written to disk: the
`.keras` file is kept as bytes, for the download.

Each model is dropped `ttl_s` (30 minutes) after its last use, and at most `max_models` are
kept, the least recently added dropped first. Time comes from `clock`, which tests replace
rather than wait half an hour.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from app.model_registry import LoadedModel
from core.atlas import ModelAtlas

IDLE_LIFETIME_S = 30 * 60
# A trained model's name: this, its digits, and 128 random bits (app/routers/training.py).
TEMPORARY_PREFIX = "yours-"


@dataclass
class TemporaryModel:
    model: LoadedModel
    keras_file: bytes  # the model as a .keras file, for GET /models/{name}/download
    last_used: float
    detail: bytes | None = None  # GET /models/{name}'s answer, made once; dropped with it
    atlas: ModelAtlas | None = None  # its atlas maps, made on first use (app/model_atlases.py)


class TemporaryModels:
    def __init__(
        self,
        max_models: int,
        ttl_s: float = IDLE_LIFETIME_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_models < 1:
            raise ValueError(f"max_models must be at least 1, got {max_models}")
        self.max_models = max_models
        self.ttl_s = ttl_s
        self.clock = clock
        self._models: OrderedDict[str, TemporaryModel] = OrderedDict()  # oldest added first
        # Added from the event loop, read from request threads (plain-def routes).
        self._lock = threading.Lock()

    def add(self, model: LoadedModel, keras_file: bytes) -> list[str]:
        """Keep `model`; answers the names dropped to make room (oldest first)."""
        with self._lock:
            dropped = self._drop_expired()
            self._models[model.name] = TemporaryModel(model, keras_file, self.clock())
            while len(self._models) > self.max_models:
                name, _ = self._models.popitem(last=False)
                dropped.append(name)
        return dropped

    def get(self, name: str) -> TemporaryModel | None:
        """The model named `name`, if still kept; a look-up counts as a use."""
        with self._lock:
            self._drop_expired()
            entry = self._models.get(name)
            if entry is not None:
                entry.last_used = self.clock()
        return entry

    def all(self) -> list[LoadedModel]:
        """Every model still kept, oldest first (listing them is not a use)."""
        with self._lock:
            self._drop_expired()
            return [entry.model for entry in self._models.values()]

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._models

    def _drop_expired(self) -> list[str]:
        now = self.clock()
        expired = [
            name for name, entry in self._models.items() if now - entry.last_used >= self.ttl_s
        ]
        for name in expired:
            del self._models[name]
        return expired
