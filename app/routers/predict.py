"""POST /predict: a drawing (or MNIST pixels) in, class probabilities and every layer out."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.answers import json_answer, predict_answer
from app.dependencies import DrawingDep, ModelDep, RegistryDep
from app.metrics import count_prediction
from app.request_body import openapi_for
from app.schemas import DRAWING_ERRORS, DrawingJson, DrawingUpload, PredictResponse

router = APIRouter(tags=["predict"])


@router.post(
    "/predict",
    response_model=PredictResponse,  # documents the answer, which json_answer writes
    responses=DRAWING_ERRORS,
    openapi_extra=openapi_for(DrawingJson, DrawingUpload),
    summary="Classify a drawing and show what every layer did",
)
async def predict(
    drawing: DrawingDep, model: ModelDep, registry: RegistryDep
) -> Response:
    """Send a drawing as JSON `{"image": data URL}`, MNIST pixels as `{"pixels": …}`, or an
    image file as multipart field `file`. The answer holds the class probabilities, each
    Dense layer's activations (a) and pre-activations (z), the 28×28 input the network saw and
    which preprocessing steps made it; with `steps=true`, every step as an image.
    """
    # async, like DrawingDep: a canvas drawing is decoded and classified without a thread
    # (only a large image goes to one). The steps' PNGs are made only when asked for (a few ms).
    answer = predict_answer(drawing, model)
    count_prediction(model.name, shipped=model.name in registry.models)
    return json_answer(answer)
