"""POST /gradients: the backward pass for one drawing and the class it should be.

The answer holds everything /predict answers, and for the chosen `target`: the loss, each
layer's δ = ∂L/∂z, the input gradient ∂L/∂x as 28×28, and the drawing after one plain
gradient-descent step taken on a copy of the model, built by app/answers.py from core/network.py's
`backward`, beside the forward pass it differentiates.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from app.answers import gradients_answer, json_answer
from app.dependencies import ModelDep, mnist_input_from, target_index
from app.drawing_input import DrawingInput
from app.gradient_schemas import (
    GRADIENTS_HINT,
    GradientsJson,
    GradientsResponse,
    GradientsUpload,
)
from app.request_body import json_or_form, openapi_for
from app.schemas import DRAWING_ERRORS

router = APIRouter(tags=["gradients"])

read_gradients_body = json_or_form(GradientsJson, GradientsUpload, GRADIENTS_HINT)
# The drawing made into the input, with the body it came in (`drawing.body`: the options).
GradientsInputDep = Annotated[DrawingInput, Depends(mnist_input_from(read_gradients_body))]
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
    response_model=GradientsResponse,  # documents the answer, which json_answer writes
    responses={
        **DRAWING_ERRORS,
        422: {
            **DRAWING_ERRORS[422],
            "description": "Invalid request (JSON, base64, pixels, a target that is not a class "
            "of the model, a learning rate that is not in (0, 10]) or an empty drawing",
        },
    },
    openapi_extra=openapi_for(GradientsJson, GradientsUpload),
    summary="The backward pass: how this drawing would change the network",
)
def gradients(
    drawing: GradientsInputDep,
    model: ModelDep,
    weights: WeightsQuery = False,
) -> Response:
    """Send a drawing as /predict takes it (JSON `image` or `pixels`, or a multipart `file`),
    plus `target`, the class it should be, and optionally `learning_rate` (form fields in
    multipart). The answer holds everything /predict answers, plus `loss`, each layer's
    `delta` (δ = ∂L/∂z), `input_gradient` (∂L/∂x, 28×28) and `after_step`: the loss and the
    probabilities after one step of gradient descent on a copy of the model.
    """
    body: GradientsJson | GradientsUpload = drawing.body
    index = target_index(model, body.target)
    return json_answer(gradients_answer(drawing, model, index, body.learning_rate, weights))

