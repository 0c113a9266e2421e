"""What the network learned, and why this answer: the digit atlas through a model's layers.

GET /models/{name}/atlas: a layer's 2-D map of MNIST test digits (PCA) and how well it separates
the classes; GET /models/{name}/atlas/digits.png: those digits as one image;
GET /models/{name}/units/{layer}/{unit}: what one unit stands for over them; POST /explain:
where a drawing lands among them, its nearest digits and the pixels that decided its answer.
A layer's map is made by the first request that needs it, then kept (app/model_atlases.py,
core/atlas.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from app.atlas_answers import atlas_answer, digits_png, explain_answer, layer_map, unit_answer
from app.atlas_schemas import AtlasMap, ExplainResponse, UnitAtlas
from app.dependencies import DrawingDep, find_model_entry
from app.model_atlases import Atlases
from app.request_body import openapi_for
from app.schemas import DRAWING_ERRORS, DrawingJson, DrawingUpload, ErrorResponse

router = APIRouter(tags=["atlas"])

NOT_FOUND = {
    404: {"model": ErrorResponse, "description": "Unknown model or layer, or no atlas"},
    422: {"model": ErrorResponse, "description": "Invalid request"},
}
LayerQuery = Annotated[
    str | None,
    Query(
        max_length=200,
        description='"input" (the pixels) or a layer name from /predict\'s `layers`; default: '
        "the last hidden layer",
        examples=["hidden_2"],
    ),
]


def _atlases(request: Request) -> Atlases:
    return request.app.state.atlases


@router.get(
    "/models/{name}/atlas",
    response_model=AtlasMap,
    responses=NOT_FOUND,
    summary="MNIST test digits as one layer sees them: a 2-D map and how apart the classes are",
)
def get_atlas(name: str, request: Request, layer: LayerQuery = None) -> AtlasMap:
    """The atlas digits (a fixed sample of MNIST's test set, of the model's classes) projected
    onto the layer's two principal axes, with their labels and MNIST indices, the share of the
    variance the two axes keep, and the layer's `separation`. The first request for a layer
    computes its map and separation (a few tenths of a second; up to three seconds for a layer
    of a CNN); later ones reuse them."""
    state = request.app.state
    model, kept = find_model_entry(state.registry, name, state.temporary_models)
    model_atlas = _atlases(request).of(model, kept)
    return atlas_answer(model_atlas, model, layer_map(model_atlas, model, layer, 404))


@router.get(
    "/models/{name}/atlas/digits.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "The digits"}, **NOT_FOUND},
    summary="The model's atlas digits as one PNG",
)
def get_atlas_digits(name: str, request: Request) -> Response:
    """Digit i of the atlas (its `points[i]`) at column i % 50, row i // 50, 28×28 px each,
    white ink on black."""
    state = request.app.state
    model, kept = find_model_entry(state.registry, name, state.temporary_models)
    png = digits_png(_atlases(request).of(model, kept))
    return Response(png, media_type="image/png", headers={"cache-control": "max-age=3600"})


@router.get(
    "/models/{name}/units/{layer}/{unit}",
    response_model=UnitAtlas,
    responses=NOT_FOUND,
    summary="What one unit stands for: its favourite and least favourite MNIST test digits",
)
def get_unit(
    name: str,
    layer: Annotated[str, Path(max_length=200, examples=["hidden_1"])],
    unit: Annotated[int, Path(description="The unit's index in the layer (0 first)",
                               examples=[0])],
    request: Request,
) -> UnitAtlas:
    """The 9 atlas digits with the unit's highest activation and the 9 with its lowest, and its
    mean activation and spread per class. For a conv layer a unit is one number of its maps,
    indexed in row-major (height, width, channels) order as /predict's `values`."""
    state = request.app.state
    model, kept = find_model_entry(state.registry, name, state.temporary_models)
    model_atlas = _atlases(request).of(model, kept)
    return unit_answer(model_atlas, model, layer_map(model_atlas, model, layer, 404), unit)


@router.post(
    "/explain",
    response_model=ExplainResponse,
    responses=DRAWING_ERRORS,
    openapi_extra=openapi_for(DrawingJson, DrawingUpload),
    summary="Why this answer: the drawing among MNIST's digits, and the pixels that decided",
)
def explain(
    drawing: DrawingDep,
    request: Request,
    model: Annotated[
        str | None, Query(description="Model name (see GET /models); default model if omitted")
    ] = None,
    layer: LayerQuery = None,
) -> ExplainResponse:
    """Send a drawing as /predict takes it. The answer holds the prediction, the drawing's
    `position` on the layer's atlas map, its 8 nearest atlas digits in the layer's full space
    (`neighbours`) and the `saliency` of the answer: gradient × input of the predicted class's
    logit, 28×28."""
    state = request.app.state
    found, kept = find_model_entry(state.registry, model, state.temporary_models)
    model_atlas = _atlases(request).of(found, kept)
    chosen = layer_map(model_atlas, found, layer, 422)
    return explain_answer(drawing, found, model_atlas, chosen)
