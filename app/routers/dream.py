"""POST /dream: what a unit, or a class, wants to see. From a grey field, gradient ascent on the
unit's pre-activation with the network's own backward pass (core/dream.py)."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.dependencies import ModelDep, target_index
from app.model_registry import LoadedModel
from app.request_body import json_or_form, openapi_for
from app.schemas import ErrorResponse
from app.temporary_models import TEMPORARY_PREFIX
from core.atlas import highest_activation
from core.dream import (
    BLUR_EVERY,
    DEFAULT_STEPS,
    L2_PENALTY,
    MAX_STEPS,
    STEP,
    UNBLURRED_LAST_STEPS,
    class_objective,
    dream,
)
from core.run_settings import shown

router = APIRouter(tags=["dream"])

# The endpoint's text in /docs, from core/dream.py's own settings so that it cannot drift.
DREAM_DESCRIPTION = (
    'Send `{"layer": NAME, "unit": N}` for a unit, or `{"class": NAME}` for a class (its logit, '
    f"the output's z), and optionally `steps` (default {DEFAULT_STEPS}, at most {MAX_STEPS}). "
    "From a grey 28×28 field, each step moves the input along the gradient of the unit's z "
    f"(scaled so that the gradient moves no pixel more than {STEP:g}), less a small L2 pull "
    f"towards black ({STEP:g} × {L2_PENALTY:g} of the pixel's value), clipped to [0, 1]; for a "
    f"unit that sees the whole image, a blur every {BLUR_EVERY} steps but the last "
    f"{UNBLURRED_LAST_STEPS}. The same request always dreams the same image."
)


UNIT_DESCRIPTION = (
    "A unit of `layer`, from 0: one value of the layer's output, in the order /predict lists "
    "its `values`"
)
STEPS_DESCRIPTION = f"Steps of gradient ascent, 1 to {MAX_STEPS}"


class DreamForm(BaseModel):
    """A unit (`layer` and `unit`) or a class (`class`), and optionally `steps`, as multipart
    form fields (numbers as text)."""

    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, json_schema_extra={"examples": [{"class": "1"}]}
    )

    layer: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="A layer's name (GET /models lists them), with `unit`",
    )
    unit: int | None = Field(None, ge=0, description=UNIT_DESCRIPTION)
    class_: str | None = Field(
        None,
        alias="class",
        min_length=1,
        max_length=200,
        description="Instead of a unit: a class of the model (its logit is raised), e.g. \"7\"",
    )
    steps: int = Field(DEFAULT_STEPS, ge=1, le=MAX_STEPS, description=STEPS_DESCRIPTION)

    @model_validator(mode="after")
    def a_unit_or_a_class(self) -> DreamForm:
        if self.class_ is not None:
            if self.layer is not None or self.unit is not None:
                raise ValueError("send 'class', or 'layer' and 'unit', not both")
        elif self.layer is None or self.unit is None:
            raise ValueError(
                "send 'layer' and 'unit' (a unit of a layer), or 'class' (a class of the model)"
            )
        return self


class DreamRequest(DreamForm):
    """A unit (`layer` and `unit`) or a class (`class`), and optionally `steps`, as JSON
    (numbers as numbers: 3, not "3" or 3.0)."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {"layer": "hidden_1", "unit": 3},
                {"class": "1"},
                {"layer": "output", "unit": 0, "steps": 80},
            ]
        },
    )

    unit: int | None = Field(None, ge=0, strict=True, description=UNIT_DESCRIPTION)
    steps: int = Field(
        DEFAULT_STEPS, ge=1, le=MAX_STEPS, strict=True, description=STEPS_DESCRIPTION
    )


DREAM_HINT = (
    'send a JSON object {"layer": NAME, "unit": N} or {"class": NAME} (or the same as '
    "multipart/form-data fields)"
)
# As /predict and the rest read theirs: bad JSON, a wrong content type, a body of a million
# commas get the same one-line 4xx.
read_dream_body = json_or_form(DreamRequest, DreamForm, DREAM_HINT)


class DreamResponse(BaseModel):
    model: str
    layer: str = Field(description="The layer of the unit")
    unit: int = Field(description="The unit, from 0")
    class_: str | None = Field(
        None, alias="class", description="The class whose logit was raised (null for a unit)"
    )
    steps: int
    image: list[list[float]] = Field(description="The dreamt 28×28 input, in [0, 1]")
    activation: float = Field(description="The unit's activation a on the dreamt image")
    preactivation: float = Field(description="The unit's z on the dreamt image (what was raised)")
    grey_activation: float = Field(description="The unit's activation on the grey start")
    probabilities: dict[str, float] = Field(description="What the network says of the image")
    highest_on_test_digits: float | None = Field(
        None,
        description="The unit's highest activation on the MNIST test digits of the digit atlas, "
        "for comparison (null where the server has no atlas for this model)",
    )


@router.post(
    "/dream",
    response_model=DreamResponse,
    response_model_by_alias=True,
    openapi_extra=openapi_for(DreamRequest, DreamForm),
    responses={
        404: {"model": ErrorResponse, "description": "Unknown model name"},
        413: {"model": ErrorResponse, "description": "Request body over the limit"},
        415: {"model": ErrorResponse, "description": "Not JSON or multipart"},
        422: {
            "model": ErrorResponse,
            "description": f"Not a layer, unit or class of the model; steps not 1 to {MAX_STEPS}",
        },
    },
    summary="What a unit or a class wants to see: its input, dreamt from grey",
    description=DREAM_DESCRIPTION,
)
def dream_unit(
    wanted: Annotated[DreamRequest | DreamForm, Depends(read_dream_body)],
    model: ModelDep,
    request: Request,
) -> dict[str, Any]:
    """The unit's (or class's) dream, as DREAM_DESCRIPTION says."""
    # A plain def: up to 100 forward and backward passes run in the threadpool, not on the loop.
    layer_index, unit, sign = _objective(model, wanted)
    layer = model.layers[layer_index]
    x = dream(model.layers, layer_index, [unit], wanted.steps, [sign])
    grey = np.full((1, 784), 0.5, dtype=np.float32)
    result = model.predict(x[0])
    at_grey = model.predict(grey[0])
    return {
        "model": model.name,
        "layer": layer.name,
        "unit": unit,
        "class": wanted.class_,
        "steps": wanted.steps,
        "image": x.reshape(28, 28).tolist(),
        "activation": _value(result.layers[layer_index].a, unit),
        "preactivation": _value(result.layers[layer_index].z, unit),
        "grey_activation": _value(at_grey.layers[layer_index].a, unit),
        "probabilities": dict(zip(model.classes, result.probabilities.tolist(), strict=True)),
        "highest_on_test_digits": _highest_on_test_digits(request, model, layer.name, unit),
    }


def _highest_on_test_digits(
    request: Request, model: LoadedModel, layer: str, unit: int
) -> float | None:
    """The unit's highest activation on the digit atlas's MNIST test digits (the lifespan's
    app.state.atlases), or None where this server has no atlas for the model."""
    atlases = getattr(request.app.state, "atlases", None)
    if atlases is None:
        return None
    kept = None
    if model.name.startswith(TEMPORARY_PREFIX):
        kept = request.app.state.temporary_models.get(model.name)
    try:
        layer_map = atlases.of(model, kept).maps.get(layer)
    except HTTPException:  # no atlas file, or classes that are not digits
        return None
    return None if layer_map is None else highest_activation(layer_map, unit)


def _value(values: np.ndarray, unit: int) -> float:
    return float(values.reshape(-1)[unit])


def _objective(model: LoadedModel, request: DreamForm) -> tuple[int, int, float]:
    """(layer index, unit, sign): what to raise, or 422 naming what the model has."""
    if request.class_ is not None:
        return class_objective(model.layers, target_index(model, request.class_, field="class"))
    names = [layer.name for layer in model.layers]
    if request.layer not in names:
        layers = ", ".join(f"{layer.name!r} ({_size(layer)} units)" for layer in model.layers)
        raise HTTPException(
            422,
            f"'layer' {shown(request.layer)} is not a layer of {model.name}: choose one of "
            f"{layers}",
        )
    layer_index = names.index(request.layer)
    size = _size(model.layers[layer_index])
    assert request.unit is not None
    if request.unit >= size:
        raise HTTPException(
            422,
            f"'unit' {request.unit} is not a unit of layer {request.layer!r}: it has {size} "
            f"units, 0 to {size - 1}",
        )
    return layer_index, request.unit, 1.0


def _size(layer: Any) -> int:
    return int(np.prod(layer.output_shape))
