"""POST /predict: a drawing (or MNIST pixels) in, class probabilities and every layer out."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import numpy as np
from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from app.dependencies import ModelDep, SettingsDep
from app.model_registry import LoadedModel
from app.preprocessing import decode_image, image_to_mnist, pixels_to_mnist
from app.schemas import ErrorResponse, PredictRequest, PredictResponse

router = APIRouter(tags=["predict"])

REQUEST_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/PredictRequest"},
                "examples": {
                    "canvas": {
                        "summary": "A canvas drawing as a data URL",
                        "value": {"image": "data:image/png;base64,iVBORw0KGgo..."},
                    },
                    "pixels": {
                        "summary": "28×28 MNIST pixels (white ink on black)",
                        "value": {"pixels": [[0.0] * 28] * 28},
                    },
                },
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "A PNG, JPEG, WebP, GIF or BMP image of one digit",
                        }
                    },
                }
            },
        },
    }
}

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        404: "Unknown model name",
        413: "Request body or image dimensions over the limit",
        415: "Not JSON or multipart, or not an image format that is accepted",
        422: "Invalid request, unreadable image, or an empty drawing",
    }.items()
}


@router.post(
    "/predict",
    response_model=PredictResponse,
    responses=ERROR_RESPONSES,
    openapi_extra=REQUEST_BODY_DOC,
    summary="Classify a drawing and show what every layer did",
)
async def predict(request: Request, model: ModelDep, settings: SettingsDep) -> Response:
    """Send a drawing as JSON `{"image": data URL}`, MNIST pixels as `{"pixels": …}`, or an
    image file as multipart field `file`. The answer holds the class probabilities, each
    Dense layer's activations (a) and pre-activations (z), and the 28×28 input the network saw.
    """
    image_bytes, pixels = await _read_input(request)
    # Decoding, preprocessing and the forward pass are CPU work: off the event loop.
    body = await run_in_threadpool(
        _answer, model, image_bytes, pixels, settings.max_image_side
    )
    return Response(body, media_type="application/json")


async def _read_input(request: Request) -> tuple[bytes | None, list[Any] | None]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        return await _read_multipart(request), None
    if content_type == "application/json" or content_type.endswith("+json"):
        try:
            payload = PredictRequest.model_validate_json(await request.body())
        except ValidationError as error:
            raise HTTPException(422, _explain(error)) from None
        if payload.image is not None:
            return _decode_base64_image(payload.image), None
        return None, payload.pixels
    raise HTTPException(
        415,
        "send application/json ({\"image\": …} or {\"pixels\": …}) "
        "or multipart/form-data with the image in the field 'file'",
    )


async def _read_multipart(request: Request) -> bytes:
    try:
        form = await request.form(max_files=1, max_fields=8)
    except HTTPException:
        raise
    except Exception as error:  # python-multipart's parse errors carry no common base class
        raise HTTPException(422, f"the multipart body cannot be parsed ({error})") from None
    upload = form.get("file")
    if upload is None:
        raise HTTPException(422, "send the image file in the multipart field 'file'")
    if not isinstance(upload, UploadFile):
        raise HTTPException(422, "the multipart field 'file' must be a file, not text")
    return await upload.read()


def _decode_base64_image(text: str) -> bytes:
    if text.startswith("data:"):
        header, comma, text = text.partition(",")
        if not comma or not header.endswith(";base64"):
            raise HTTPException(
                422, "the 'image' data URL must be base64: data:image/png;base64,…"
            )
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise HTTPException(
            422, "'image' is not valid base64: send a data URL or bare base64 of an image"
        ) from None


def _answer(
    model: LoadedModel, image_bytes: bytes | None, pixels: list[Any] | None, max_side: int
) -> bytes:
    if image_bytes is not None:
        x = image_to_mnist(decode_image(image_bytes, max_side=max_side))
    else:
        x = pixels_to_mnist(pixels)
    prediction = model.predict(x.reshape(-1))
    label = model.classes[prediction.index]
    response = {
        "model": model.name,
        "prediction": int(label) if label.isdigit() else prediction.index,
        "label": label,
        "probabilities": dict(zip(model.classes, _rounded(prediction.probabilities), strict=True)),
        "layers": [
            {
                "name": layer.name,
                "units": layer.units,
                "activation": layer.activation,
                "values": _rounded(result.a),
                "preactivations": _rounded(result.z),
            }
            for layer, result in zip(model.layers, prediction.layers, strict=True)
        ],
        "input": np.round(x.astype(np.float64), 4).tolist(),
        "in_distribution": None,
        "ood_score": None,
        "ood_threshold": None,
    }
    return json.dumps(response, separators=(",", ":")).encode()


def _rounded(values: np.ndarray) -> list[float]:
    # Six decimals keep the answer within 1e-6 of the forward pass and the JSON small.
    return np.round(values.astype(np.float64), 6).tolist()


def _explain(error: ValidationError) -> str:
    problems = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"])
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "json_invalid":
            message = f"the body is not valid JSON ({item.get('ctx', {}).get('error', '')})"
        problems.append(f"{where}: {message}" if where else message)
    return "; ".join(problems)
