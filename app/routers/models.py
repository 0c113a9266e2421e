"""GET /models and /models/{name}: what each model is, with the weights the page draws."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from fastapi import APIRouter, Request, Response

from app.dependencies import RegistryDep, find_model
from app.model_registry import LoadedModel
from app.schemas import ErrorResponse, ModelDetail, ModelList

router = APIRouter(tags=["models"])

NOT_FOUND = {
    404: {"model": ErrorResponse, "description": "Unknown model name"},
    422: {"model": ErrorResponse, "description": "Invalid request"},
}


@router.get("/models", response_model=ModelList, summary="List the models that are served")
def list_models(registry: RegistryDep, request: Request) -> dict[str, Any]:
    return {
        "models": [
            {**model.describe(), "default": name == registry.default_name}
            for name, model in registry.models.items()
        ]
        + [  # trained from the page, kept in memory for a while (app/temporary_models.py)
            {**model.describe(), "default": False, "temporary": True}
            for model in request.app.state.temporary_models.all()
        ]
    }


@router.get(
    "/models/{name}",
    response_model=ModelDetail,
    responses=NOT_FOUND,
    summary="One model, with its weights and biases",
)
def get_model(name: str, registry: RegistryDep, request: Request) -> Response:
    model = find_model(registry, name, request.app.state.temporary_models)
    return _detail_response(request, model, name == registry.default_name)


def _detail_response(request: Request, model: LoadedModel, default: bool) -> Response:
    # A model's weights (109,386 numbers for digits-0-9) are formatted once, and the page asks
    # for them each time it switches models: sent as ready JSON, not validated again.
    cache: dict[str, bytes] = request.app.state.model_details
    if model.name not in cache:
        detail = {
            **model.describe(),
            "default": default,
            "layers": [
                {
                    "name": layer.name,
                    "units": layer.units,
                    "activation": layer.activation,
                    "weights": np.round(layer.weights.astype(np.float64), 5).tolist(),
                    "biases": np.round(layer.biases.astype(np.float64), 5).tolist(),
                }
                for layer in model.layers
            ],
        }
        cache[model.name] = json.dumps(detail, separators=(",", ":")).encode()
    return Response(cache[model.name], media_type="application/json")
