"""What an endpoint can ask for: the loaded models, the model a request names, and
the drawing it sends made into the network's input (with every step of the way).

All are `async def`: the look-ups do no blocking work, and `mnist_input` hands only a large
image's decoding to a thread.
"""

import inspect
import math
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Annotated, Any

import numpy as np
from fastapi import Depends, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

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
from app.temporary_models import TEMPORARY_PREFIX, TemporaryModel, TemporaryModels
from core.image_decoding import declared_pixels
from core.mnist_form import drawing_to_mnist
from core.mnist_pixels import pixel_stages
from core.run_settings import shown


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


# A drawing whose header declares at most this many pixels (the page's canvas is 280×280) is made
# into the input on the event loop: it takes about a millisecond, less than the hop to a thread
# and back costs in CPU. A larger image is decoded on a thread, so the loop keeps answering.
MAX_PIXELS_ON_THE_LOOP = 512 * 512


def mnist_input_from(
    read_body: Callable[[Request], Awaitable[Any]], stages_switch: bool = True
) -> Callable[..., Awaitable[DrawingInput]]:
    """A dependency: the drawing in the body `read_body` reads (a model with a `drawing()`
    method: image bytes, or pixels already checked) made into the network's input, with the
    preprocessing switches `fit`, `centre` and `steps` from the query or the body, and the body
    itself (`DrawingInput.body`: what else the endpoint reads from it). Without
    `stages_switch`, `steps` is not a switch (POST /adversarial counts its own steps).

    One of DIGITS_MAX_CONCURRENT_PREDICTIONS slots is held from before the body is read until
    the input is made: a burst of large uploads waits here on the event loop, holding neither
    their bodies nor a thread, so GET /, /models and the rest keep answering (a 4096×4096 image
    takes ~110 MB while it is decoded). This module keeps its annotations evaluated (no `from
    __future__ import annotations`): FastAPI reads this function's."""

    async def mnist_input(
        request: Request,
        fit: Annotated[bool | None, Query(description=FIT_DESCRIPTION)] = None,
        centre: Annotated[bool | None, Query(description=CENTRE_DESCRIPTION)] = None,
        steps: Annotated[bool | None, Query(description=STEPS_DESCRIPTION)] = None,
    ) -> DrawingInput:
        state = request.app.state
        async with state.image_decoding_slots:
            body = await read_body(request)
            fit = _switch("fit", fit, body, default=True)
            centre = _switch("centre", centre, body, default=True)
            keep = _switch("steps", steps, body, default=False) if stages_switch else False
            record = StageRecorder(keep=keep)
            drawing = body.drawing()
            if isinstance(drawing, np.ndarray):
                for stage in pixel_stages(drawing):
                    record(stage)
                return DrawingInput(drawing, fit=False, centre=False, recorded=record, body=body)
            make_input = partial(
                drawing_to_mnist, drawing, max_side=state.settings.max_image_side,
                fit=fit, centre=centre, on_stage=record,
            )
            if (declared_pixels(drawing) or math.inf) <= MAX_PIXELS_ON_THE_LOOP:
                field = make_input()
            else:
                field = await run_in_threadpool(make_input)
            return DrawingInput(field, fit=fit, centre=centre, recorded=record, body=body)

    if not stages_switch:  # no `steps` query parameter, in /docs or anywhere
        signature = inspect.signature(mnist_input)
        parameters = [p for p in signature.parameters.values() if p.name != "steps"]
        mnist_input.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    return mnist_input


def target_index(model: LoadedModel, target: str, field: str = "target") -> int:
    """The index of class `target` of `model`, or 422 naming the field and the classes it has."""
    try:
        return model.classes.index(target)
    except ValueError:
        classes = ", ".join(f'"{name}"' for name in model.classes)
        raise HTTPException(
            422,
            f"'{field}' {shown(target)} is not a class of {model.name}: choose one of "
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
