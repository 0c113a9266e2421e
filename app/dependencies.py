"""What an endpoint can ask for: the settings, the loaded models, the model a request names, and
the drawing it sends as the network's 28×28 input.

The look-ups are `async def`: they do no blocking work, so they need no thread. Turning a drawing
into the input decodes an image, so `mnist_input` is a plain `def`, run in FastAPI's threadpool.
"""

import threading
from collections.abc import Callable
from typing import Annotated, Any

import numpy as np
from fastapi import Depends, HTTPException, Query, Request

from app.model_registry import LoadedModel, ModelRegistry, UnknownModelError
from app.request_body import json_or_form
from app.schemas import DRAWING_HINT, DrawingJson, DrawingUpload
from app.settings import Settings
from app.temporary_models import TemporaryModels
from core.mnist_form import drawing_to_mnist


async def get_settings_of_app(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings_of_app)]


async def get_registry(request: Request) -> ModelRegistry:
    return request.app.state.registry


RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]


def find_model(
    registry: ModelRegistry, name: str | None, temporary: TemporaryModels | None = None
) -> LoadedModel:
    """The model store's model `name`, else a model trained from the page (`temporary`)."""
    try:
        return registry.get(name)
    except UnknownModelError:
        kept = temporary.get(name) if temporary is not None and name else None
        if kept is not None:
            return kept.model
        known = ", ".join(registry.models)
        raise HTTPException(404, f"no model named {name!r}; known models: {known}") from None


async def get_requested_model(
    request: Request,
    model: Annotated[
        str | None, Query(description="Model name (see GET /models); default model if omitted")
    ] = None,
) -> LoadedModel:
    state = request.app.state
    return find_model(state.registry, model, state.temporary_models)


ModelDep = Annotated[LoadedModel, Depends(get_requested_model)]


def mnist_input_from(read_body: Callable[..., Any]) -> Callable[..., np.ndarray]:
    """A dependency: the 28×28 input from the drawing in the body `read_body` gives (a model
    with a `drawing()` method: image bytes, or pixels already checked). This module keeps its
    annotations evaluated (no `from __future__ import annotations`): FastAPI reads this
    function's, and `read_body` exists only in this closure."""

    def mnist_input(
        body: Annotated[Any, Depends(read_body)], settings: SettingsDep, request: Request
    ) -> np.ndarray:
        drawing = body.drawing()
        if isinstance(drawing, np.ndarray):
            return drawing
        # DIGITS_MAX_CONCURRENT_PREDICTIONS images are decoded at once; more wait their turn
        # (a 4096×4096 image takes ~110 MB while it is decoded).
        slots: threading.BoundedSemaphore = request.app.state.image_decoding_slots
        with slots:
            return drawing_to_mnist(drawing, max_side=settings.max_image_side)

    return mnist_input


read_drawing_body = json_or_form(DrawingJson, DrawingUpload, DRAWING_HINT)
# The drawing of POST /predict, as JSON {"image"}, {"pixels"} or a multipart `file`.
DrawingDep = Annotated[np.ndarray, Depends(mnist_input_from(read_drawing_body))]
