"""The digit atlas as the server holds it: loaded once in the lifespan, with every shipped
model's layer maps computed then (core/atlas.py), and a page-trained model's on its first use.

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
from threadpoolctl import threadpool_limits

from app.model_registry import LoadedModel, ModelRegistry, ModelStoreError
from app.temporary_models import TemporaryModel
from core.atlas import ATLAS_FILE, Atlas, AtlasError, ModelAtlas, build_model_atlas, load_atlas

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Atlases:
    """The atlas digits (None without an atlas file) and each shipped model's maps of them."""

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
    """The atlas in ``model_dir`` mapped through every model of ``registry``."""
    path = model_dir / ATLAS_FILE
    if not path.is_file():
        logger.warning("no digit atlas at %s: the atlas endpoints will answer 404", path)
        return Atlases(None, {}, model_dir)
    started = time.perf_counter()
    try:
        atlas = load_atlas(path)
    except AtlasError as error:
        raise ModelStoreError(str(error)) from None
    # One BLAS thread, as requests get (app/main.py): on a busy machine BLAS's threads wait on
    # each other, and mapping the atlas took seconds instead of a fraction of one.
    with threadpool_limits(limits=1, user_api="blas"):
        maps = {
            name: build_model_atlas(atlas, model.layers, model.classes)
            for name, model in registry.models.items()
        }
    logger.info(
        "digit atlas: %d MNIST test digits mapped through %d models in %.2f s",
        len(atlas), len(maps), time.perf_counter() - started,
    )
    return Atlases(atlas, maps, model_dir)
