"""GET /models and /models/{name}: what each model is, with the weights the page draws."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from fastapi import APIRouter, Request, Response

from app.dependencies import RegistryDep, find_model_entry
from app.model_registry import LoadedModel, layer_summary
from app.schemas import ErrorResponse, ModelDetail, ModelList
from core.network import Conv2DLayer, DenseLayer, Layer, MaxPoolLayer

router = APIRouter(tags=["models"])

NOT_FOUND = {
    404: {"model": ErrorResponse, "description": "Unknown model name"},
    422: {"model": ErrorResponse, "description": "Invalid request"},
}


@router.get("/models", response_model=ModelList, summary="List the models that are served")
def list_models(registry: RegistryDep) -> dict[str, Any]:
    """The shipped models. A model trained from the page is not listed: whoever trained it
    holds its name (with 128 random bits) and can use it in every endpoint."""
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
    # A model's weights (109,386 numbers for digits-0-9) are formatted once, and the page asks
    # for them each time it switches models: sent as ready JSON, not validated again. A trained
    # model's are kept with it, and go when it is dropped.
    model, kept = find_model_entry(registry, name, request.app.state.temporary_models)
    if kept is not None:
        if kept.detail is None:
            kept.detail = _detail_json(model, default=False, temporary=True)
        body = kept.detail
    else:
        cache: dict[str, bytes] = request.app.state.model_details
        if name not in cache:
            cache[name] = _detail_json(model, name == registry.default_name, temporary=False)
        body = cache[name]
    return Response(body, media_type="application/json")


def _detail_json(model: LoadedModel, default: bool, temporary: bool) -> bytes:
    detail = {
        **model.describe(),
        "default": default,
        "temporary": temporary,
        "layers": [_layer_detail(layer) for layer in model.layers],
    }
    return json.dumps(detail, separators=(",", ":")).encode()


def _layer_detail(layer: Layer) -> dict[str, Any]:
    """The layer's summary plus what it computes with: dense W and b; a convolution's kernel
    (Keras's layout, [k_h][k_w][c_in][filters]), biases, strides and padding; a pooling's
    window, strides and padding."""
    detail = {**layer_summary(layer), "input_shape": list(layer.input_shape)}
    if isinstance(layer, DenseLayer | Conv2DLayer):
        detail["weights"] = np.round(layer.weights.astype(np.float64), 5).tolist()
        detail["biases"] = np.round(layer.biases.astype(np.float64), 5).tolist()
    if isinstance(layer, Conv2DLayer):
        detail["kernel_size"] = list(layer.weights.shape[:2])
    if isinstance(layer, MaxPoolLayer):
        detail["pool_size"] = list(layer.pool_size)
    if isinstance(layer, Conv2DLayer | MaxPoolLayer):
        detail["strides"] = list(layer.strides)
        detail["padding"] = layer.padding
    return detail
