"""POST /gradients: the backward pass for one drawing and the class it should be.

The answer holds everything /predict answers, and for the chosen `target`: the loss, each
layer's δ = ∂L/∂z, the input gradient ∂L/∂x as 28×28, and the drawing after one plain
gradient-descent step taken on a copy of the model. The maths is core/network.py's `backward`,
beside the forward pass it differentiates.
"""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Query

from app.dependencies import ModelDep, mnist_input_from
from app.gradient_schemas import (
    GRADIENTS_HINT,
    GradientsJson,
    GradientsResponse,
    GradientsUpload,
)
from app.model_registry import LoadedModel
from app.request_body import json_or_form, openapi_for
from app.routers.predict import ERROR_RESPONSES, answer_for, class_answer
from core.network import after_one_step, backward, class_probabilities

router = APIRouter(tags=["gradients"])

read_gradients_body = json_or_form(GradientsJson, GradientsUpload, GRADIENTS_HINT)
# FastAPI solves a dependency once per request: the input and the options share one body read.
GradientsBodyDep = Annotated[GradientsJson | GradientsUpload, Depends(read_gradients_body)]
GradientsInputDep = Annotated[np.ndarray, Depends(mnist_input_from(read_gradients_body))]
WeightsQuery = Annotated[
    bool,
    Query(
        description="Also send each layer's `weight_gradient` ∂L/∂W = a_prevᵀ·δ (784×25 numbers "
        "for the first layer of digits-0-1): the outer product of numbers the answer already "
        "holds, so it is left out unless asked for"
    ),
]


@router.post(
    "/gradients",
    response_model=GradientsResponse,
    response_model_exclude_unset=True,
    responses={
        **ERROR_RESPONSES,
        422: {
            **ERROR_RESPONSES[422],
            "description": "Invalid request (JSON, base64, pixels, a target that is not a class "
            "of the model, a learning rate that is not in (0, 10]) or an empty drawing",
        },
    },
    openapi_extra=openapi_for(GradientsJson, GradientsUpload),
    summary="The backward pass: how this drawing would change the network",
)
def gradients(
    x: GradientsInputDep, body: GradientsBodyDep, model: ModelDep, weights: WeightsQuery = False
) -> dict[str, Any]:
    """Send a drawing as /predict takes it (JSON `image` or `pixels`, or a multipart `file`),
    plus `target`, the class it should be, and optionally `learning_rate` (form fields in
    multipart). The answer holds everything /predict answers, plus `loss`, each layer's
    `delta` (δ = ∂L/∂z), `input_gradient` (∂L/∂x, 28×28) and `after_step`: the loss and the
    probabilities after one step of gradient descent on a copy of the model.
    """
    target_index = _target_index(model, body.target)
    return backward_answer(model, x, target_index, body.learning_rate, weights)


def backward_answer(
    model: LoadedModel,
    x: np.ndarray,
    target_index: int,
    learning_rate: float,
    with_weight_gradients: bool = False,
) -> dict[str, Any]:
    """/predict's answer for ``x`` (28×28), built by /predict itself, with the backward pass for
    ``target_index`` added."""
    pixels = x.reshape(-1).astype(np.float32)
    prediction = model.predict(pixels)
    answer = answer_for(x, model, prediction).model_dump()
    gradients = backward(model.layers, pixels, prediction.layers, target_index)
    after = after_one_step(model.layers, pixels, gradients, target_index, learning_rate)
    for index, layer in enumerate(answer["layers"]):
        layer["delta"] = gradients.deltas[index].tolist()
        if with_weight_gradients:
            layer["weight_gradient"] = gradients.weight_gradient(index).tolist()
    after_probabilities = class_probabilities(after.output, len(model.classes))
    return {
        **answer,
        "target": model.classes[target_index],
        "loss": gradients.loss,
        "input_gradient": gradients.input_gradient.reshape(28, 28).tolist(),
        "after_step": {
            "learning_rate": learning_rate,
            "loss": after.loss,
            **class_answer(model, int(np.argmax(after_probabilities))),
            "probabilities": dict(zip(model.classes, after_probabilities.tolist(), strict=True)),
        },
    }


def _target_index(model: LoadedModel, target: str) -> int:
    try:
        return model.classes.index(target)
    except ValueError:
        classes = ", ".join(f'"{name}"' for name in model.classes)
        raise HTTPException(
            422,
            f"'target' {target!r} is not a class of {model.name}: choose one of {classes}",
        ) from None
