"""GET /models, /models/{name} and /model: what each model is, with what the page draws."""

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
def list_models(registry: RegistryDep) -> dict[str, Any]:
    return {
        "models": [
            {**model.describe(), "default": name == registry.default_name}
            for name, model in registry.models.items()
        ]
    }


@router.get(
    "/models/{name}",
    response_model=ModelDetail,
    responses=NOT_FOUND,
    summary="One model, with its weights and biases",
)
def get_model(name: str, registry: RegistryDep, request: Request) -> Response:
    model = find_model(registry, name)
    return _detail_response(request, model, name == registry.default_name)


@router.get("/model", response_model=ModelDetail, summary="The default model, with its weights")
def get_default_model(registry: RegistryDep, request: Request) -> Response:
    return _detail_response(request, registry.get(), default=True)


def _detail_response(request: Request, model: LoadedModel, default: bool) -> Response:
    # ~100k weights take milliseconds to format: once per model for the app's lifetime.
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
