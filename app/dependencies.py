"""What an endpoint can ask for: the settings, the loaded models, the model a request names, and
the drawing it sends made into the network's input (with every step of the way).

The look-ups are `async def`: they do no blocking work, so they need no thread. Turning a drawing
into the input decodes an image, so `mnist_input` is a plain `def`, run in FastAPI's threadpool.
"""

import asyncio
import inspect
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import numpy as np
from fastapi import Depends, HTTPException, Query, Request

from app.drawing_input import (
    CENTRE_DESCRIPTION,
    FIT_DESCRIPTION,
    STEPS_DESCRIPTION,
    DrawingInput,
    StageRecorder,
)
from app.model_registry import LoadedModel, ModelRegistry, UnknownModelError
from app.request_body import json_or_form
from app.schemas import DRAWING_HINT, DrawingJson, DrawingUpload
from app.settings import Settings
from app.temporary_models import TEMPORARY_PREFIX, TemporaryModel, TemporaryModels
from core.mnist_form import drawing_to_mnist
from core.mnist_pixels import pixel_stages
from core.run_settings import shown


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
    return find_model_entry(registry, name, temporary)[0]


def find_model_entry(
    registry: ModelRegistry, name: str | None, temporary: TemporaryModels | None = None
) -> tuple[LoadedModel, TemporaryModel | None]:
    """As `find_model`, with the temporary model's entry (its download, its cached detail),
    looked up once: a model dropped meanwhile is still whole for the request that found it."""
    try:
        return registry.get(name), None
    except UnknownModelError:
        kept = temporary.get(name) if temporary is not None and name else None
        if kept is not None:
            return kept.model, kept
        known = ", ".join(registry.models)
        if name and name.startswith(TEMPORARY_PREFIX) and temporary is not None:
            raise HTTPException(
                404,
                f"no model named {shown(name, 80)}: a model trained from the page is kept "
                f"{temporary.ttl_s / 60:g} minutes after its last use and at most "
                f"{temporary.max_models} at once; this one has expired (train it again) or "
                f"the name is wrong",
            ) from None
        raise HTTPException(
            404, f"no model named {shown(name, 80)}; known models: {known}"
        ) from None


async def get_requested_model(
    request: Request,
    model: Annotated[
        str | None, Query(description="Model name (see GET /models); default model if omitted")
    ] = None,
) -> LoadedModel:
    state = request.app.state
    return find_model(state.registry, model, state.temporary_models)


ModelDep = Annotated[LoadedModel, Depends(get_requested_model)]


async def image_decoding_slot(request: Request) -> AsyncIterator[None]:
    """One of DIGITS_MAX_CONCURRENT_PREDICTIONS slots, held from before the body is read until
    the endpoint returns: a burst of large uploads waits here on the event loop, holding
    neither their bodies nor FastAPI's threads, so GET /, /models and the rest keep answering
    (a 4096×4096 image takes ~110 MB while it is decoded)."""
    slots: asyncio.Semaphore = request.app.state.image_decoding_slots
    async with slots:
        yield


def mnist_input_from(
    read_body: Callable[..., Any], stages_switch: bool = True
) -> Callable[..., DrawingInput]:
    """A dependency: the drawing in the body `read_body` gives (a model with a `drawing()`
    method: image bytes, or pixels already checked) made into the network's input, with the
    preprocessing switches `fit`, `centre` and `steps` from the query or the body. Without
    `stages_switch`, `steps` is not a switch (POST /adversarial counts its own steps). This module
    keeps its annotations evaluated (no `from __future__ import annotations`): FastAPI reads
    this function's, and `read_body` exists only in this closure. Its dependencies are resolved
    in order: the decoding slot first, then the body."""

    def mnist_input(
        slot: Annotated[None, Depends(image_decoding_slot, scope="function")],
        body: Annotated[Any, Depends(read_body)],
        settings: SettingsDep,
        fit: Annotated[bool | None, Query(description=FIT_DESCRIPTION)] = None,
        centre: Annotated[bool | None, Query(description=CENTRE_DESCRIPTION)] = None,
        steps: Annotated[bool | None, Query(description=STEPS_DESCRIPTION)] = None,
    ) -> DrawingInput:
        fit = _switch("fit", fit, body, default=True)
        centre = _switch("centre", centre, body, default=True)
        keep = _switch("steps", steps, body, default=False) if stages_switch else False
        record = StageRecorder(keep=keep)
        drawing = body.drawing()
        if isinstance(drawing, np.ndarray):
            for stage in pixel_stages(drawing):
                record(stage)
            return DrawingInput(drawing, fit=False, centre=False, recorded=record)
        field = drawing_to_mnist(
            drawing, max_side=settings.max_image_side, fit=fit, centre=centre, on_stage=record
        )
        return DrawingInput(field, fit=fit, centre=centre, recorded=record)

    if not stages_switch:  # no `steps` query parameter, in /docs or anywhere
        signature = inspect.signature(mnist_input)
        parameters = [p for p in signature.parameters.values() if p.name != "steps"]
        mnist_input.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    return mnist_input


def target_index(model: LoadedModel, target: str) -> int:
    """The index of class `target` of `model`, or 422 naming the classes it has."""
    try:
        return model.classes.index(target)
    except ValueError:
        classes = ", ".join(f'"{name}"' for name in model.classes)
        raise HTTPException(
            422,
            f"'target' {shown(target, 40)} is not a class of {model.name}: choose one of "
            f"{classes}",
        ) from None


def _switch(name: str, in_query: bool | None, body: Any, default: bool) -> bool:
    """A switch given in the query or the body (once, or twice alike), else `default`."""
    in_body = getattr(body, name)
    if in_query is not None and in_body is not None and in_query != in_body:
        raise HTTPException(
            422,
            f"{name!r} is given twice, {str(in_query).lower()} in the query and "
            f"{str(in_body).lower()} in the body: give it once",
        )
    for value in (in_body, in_query):
        if value is not None:
            return value
    return default


read_drawing_body = json_or_form(DrawingJson, DrawingUpload, DRAWING_HINT)
# The drawing of POST /predict, as JSON {"image"}, {"pixels"} or a multipart `file`.
DrawingDep = Annotated[DrawingInput, Depends(mnist_input_from(read_drawing_body))]
