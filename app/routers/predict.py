"""POST /predict: a drawing (or MNIST pixels) in, class probabilities and every layer out."""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter

from app.dependencies import DrawingDep, ModelDep, RegistryDep
from app.metrics import count_prediction
from app.model_registry import LoadedModel, Prediction
from app.request_body import openapi_for
from app.schemas import DrawingJson, DrawingUpload, ErrorResponse, PredictResponse

router = APIRouter(tags=["predict"])

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        404: "Unknown model name",
        413: "Request body or image dimensions over the limit",
        415: "Not JSON or multipart, or not an image format that is accepted",
        422: "Invalid request (JSON, base64, pixels) or an empty drawing",
    }.items()
}


@router.post(
    "/predict",
    response_model=PredictResponse,
    responses=ERROR_RESPONSES,
    openapi_extra=openapi_for(DrawingJson, DrawingUpload),
    summary="Classify a drawing and show what every layer did",
)
async def predict(x: DrawingDep, model: ModelDep, registry: RegistryDep) -> PredictResponse:
    """Send a drawing as JSON `{"image": data URL}`, MNIST pixels as `{"pixels": …}`, or an
    image file as multipart field `file`. The answer holds the class probabilities, each
    Dense layer's activations (a) and pre-activations (z), and the 28×28 input the network saw.
    """
    # async: decoding the drawing, the request's real work, runs in the threadpool (DrawingDep,
    # a plain def); what is left is a few small matrix products, done where the request is.
    answer = answer_for(x, model)
    count_prediction(model.name, shipped=model.name in registry.models)
    return answer


def answer_for(
    x: np.ndarray, model: LoadedModel, prediction: Prediction | None = None
) -> PredictResponse:
    """/predict's answer for the 28×28 input `x` (also the first part of /gradients', which
    passes the `prediction` it has already made for the backward pass)."""
    if prediction is None:
        prediction = model.predict(x.reshape(-1))
    return PredictResponse(
        model=model.name,
        **class_answer(model, prediction.index),
        probabilities=dict(zip(model.classes, prediction.probabilities.tolist(), strict=True)),
        layers=[
            {
                "name": layer.name,
                "units": layer.units,
                "activation": layer.activation,
                "values": result.a.tolist(),
                "preactivations": result.z.tolist(),
            }
            for layer, result in zip(model.layers, prediction.layers, strict=True)
        ],
        input=x.tolist(),
        **_out_of_distribution(model, prediction),
    )


def class_answer(model: LoadedModel, index: int) -> dict[str, Any]:
    """The answer's `label` for class `index`, and its `prediction`: the digit itself when the
    label is a digit, else the index."""
    label = model.classes[index]
    return {"prediction": int(label) if label.isdigit() else index, "label": label}


def _out_of_distribution(model: LoadedModel, prediction: Prediction) -> dict[str, Any]:
    if model.ood is None or prediction.ood_score is None:
        return {"in_distribution": None, "ood_score": None, "ood_threshold": None}
    return {
        "in_distribution": prediction.ood_score <= model.ood.threshold,
        "ood_score": round(prediction.ood_score, 6),
        "ood_threshold": round(model.ood.threshold, 6),
    }
