"""The digit atlas as the server holds it: the file loaded and checked once in the lifespan;
each model's layer maps (core/atlas.py) made on first use, a layer at a time, by the request
that first asks for one (a CNN's layer: one to two and a half seconds, once). Mapping every
layer of every model at start-up took ~4 s with the 16/32/64 CNN and kept ~224 MB of its
activations that the page may never ask for.

The atlas file (model_store/mnist-test-atlas.npz, written by training) is optional: a store
without one serves everything else, and the atlas endpoints say how to write it. A file that is
there but broken stops start-up, as a broken model does.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from fastapi import HTTPException

from app.model_registry import LoadedModel, ModelRegistry, ModelStoreError
from app.temporary_models import TemporaryModel
from core.atlas import ATLAS_FILE, Atlas, AtlasError, ModelAtlas, build_model_atlas, load_atlas

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Atlases:
    """The atlas digits (None without an atlas file) and each shipped model's maps of them
    (each layer's made on first use)."""

    atlas: Atlas | None
    maps: dict[str, ModelAtlas | None]
    model_dir: Path

    def of(self, model: LoadedModel, kept: TemporaryModel | None = None) -> ModelAtlas:
        """The model's atlas maps, or 404 saying why there are none. A model trained from the
        page gets its maps on first use, kept with it (and dropped with it)."""
        if self.atlas is None:
            raise HTTPException(
                404,
                f"this server has no digit atlas ({self.model_dir / ATLAS_FILE} is missing); "
                f"write it with `python -m training.atlas --data DIR --out {self.model_dir}`",
            )
        if kept is not None:
            if kept.atlas is None:
                kept.atlas = build_model_atlas(self.atlas, model.layers, model.classes)
            found = kept.atlas
        else:
            found = self.maps.get(model.name)
        if found is None:
            raise HTTPException(
                404, f"{model.name} has no atlas: its classes are not MNIST digits"
            )
        return found


def load_atlases(model_dir: Path, registry: ModelRegistry) -> Atlases:
    """The atlas in ``model_dir``, checked, ready to be mapped through every model of
    ``registry``: the maps themselves are made when a request first asks for them."""
    path = model_dir / ATLAS_FILE
    if not path.is_file():
        logger.warning("no digit atlas at %s: the atlas endpoints will answer 404", path)
        return Atlases(None, {}, model_dir)
    started = time.perf_counter()
    try:
        atlas = load_atlas(path)
    except AtlasError as error:
        raise ModelStoreError(str(error)) from None
    # Quick: each model only picks its classes' digits; a layer's map is made when a request
    # first asks for it, with one BLAS thread as every request (app/main.py).
    maps = {
        name: build_model_atlas(atlas, model.layers, model.classes)
        for name, model in registry.models.items()
    }
    logger.info(
        "digit atlas: %d MNIST test digits loaded in %.2f s for %d models; each layer's map is "
        "made on its first request", len(atlas), time.perf_counter() - started, len(maps),
    )
    return Atlases(atlas, maps, model_dir)
