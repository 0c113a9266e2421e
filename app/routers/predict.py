"""POST /predict: a drawing (or MNIST pixels) in, class probabilities and every layer out."""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any

import numpy as np
import orjson
from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.dependencies import ModelDep
from app.errors import explain_validation_errors
from app.middleware import RequestBodyTooLarge
from app.model_registry import LoadedModel, Prediction
from app.schemas import ErrorResponse, PredictRequest, PredictResponse
from core.preprocessing import drawing_to_mnist, pixels_to_mnist

router = APIRouter(tags=["predict"])


def _json_body_schema() -> dict[str, Any]:
    """PredictRequest as OpenAPI shows it: exactly one of 'image' or 'pixels'. (FastAPI puts
    only the models of declared parameters in the components, so a $ref would dangle.)"""
    fields = PredictRequest.model_json_schema()["properties"]
    image = {"type": "string", "description": fields["image"]["description"]}
    pixels = {key: value for key, value in fields["pixels"].items() if key != "default"}
    return {
        "title": "PredictRequest",
        "oneOf": [
            {
                "type": "object",
                "properties": {"image": image},
                "required": ["image"],
                "additionalProperties": False,
            },
            {
                "type": "object",
                "properties": {"pixels": pixels},
                "required": ["pixels"],
                "additionalProperties": False,
            },
        ],
    }


REQUEST_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": _json_body_schema(),
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
                "examples": {
                    "file": {
                        "summary": "An image file: curl -F file=@digit.png …/predict",
                        "value": {"file": "digit.png"},
                    }
                },
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
        422: "Invalid request (JSON, base64, pixels) or an empty drawing",
    }.items()
}


@router.post(
    "/predict",
    response_model=PredictResponse,
    responses=ERROR_RESPONSES,
    openapi_extra=REQUEST_BODY_DOC,
    summary="Classify a drawing and show what every layer did",
)
async def predict(request: Request, model: ModelDep) -> Response:
    """Send a drawing as JSON `{"image": data URL}`, MNIST pixels as `{"pixels": …}`, or an
    image file as multipart field `file`. The answer holds the class probabilities, each
    Dense layer's activations (a) and pre-activations (z), and the 28×28 input the network saw.
    """
    image_bytes, pixels = await _read_input(request)
    # Not a dependency: each costs ~40 µs a request (see app/dependencies.py).
    max_image_side = request.app.state.settings.max_image_side
    # Decoding, preprocessing and the forward pass are CPU work: off the event loop, on the
    # prediction pool (at most DIGITS_MAX_CONCURRENT_PREDICTIONS at once).
    body = await asyncio.get_running_loop().run_in_executor(
        request.app.state.prediction_pool,
        _answer, model, image_bytes, pixels, max_image_side,
    )
    return Response(body, media_type="application/json")


SEND_JSON_OR_MULTIPART = (
    "send application/json ({\"image\": …} or {\"pixels\": …}) "
    "or multipart/form-data with the image in the field 'file'"
)
MAX_JSON_COMMAS = 2048
SEND_IMAGE_OR_PIXELS = (
    'send a JSON object {"image": "data:image/png;base64,…"} '
    'or {"pixels": [28 rows of 28 numbers in [0, 1]]}'
)


async def _read_input(request: Request) -> tuple[bytes | None, list[Any] | None]:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        return await _read_multipart(request), None
    if content_type == "application/json" or content_type.endswith("+json"):
        body = await request.body()
        if not body or body.isspace():  # no copy of a body of up to the limit
            raise HTTPException(422, f"the request body is empty: {SEND_IMAGE_OR_PIXELS}")
        commas = body.count(b",")
        if commas > MAX_JSON_COMMAS:
            # Parsing [0],[0],… up to the body limit would hold the GIL for a third of a second
            # and take tens of MB; no request needs more than 784 numbers (base64 has no comma).
            raise HTTPException(
                422,
                f"the body holds {commas:,} commas, far more than a request needs (pixels are "
                f"784 numbers): {SEND_IMAGE_OR_PIXELS}",
            )
        try:
            payload = PredictRequest.model_validate_json(body)
        except ValidationError as error:
            raise HTTPException(422, _explain(error)) from None
        if payload.image is not None:
            return _decode_base64_image(payload.image), None
        return None, payload.pixels
    got = f"got {content_type!r}" if content_type else "got no Content-Type"
    raise HTTPException(415, f"{SEND_JSON_OR_MULTIPART}; {got}")


async def _read_multipart(request: Request) -> bytes:
    try:
        async with request.form(max_files=1, max_fields=8) as form:
            upload = form.get("file")
            if upload is None:
                raise HTTPException(422, "send the image file in the multipart field 'file'")
            if not isinstance(upload, UploadFile):
                raise HTTPException(422, "the multipart field 'file' must be a file, not text")
            data = await upload.read()
    except (HTTPException, RequestBodyTooLarge):
        raise
    except StarletteHTTPException as error:  # Starlette's multipart parse errors are 400s
        raise HTTPException(
            422, f"the multipart body cannot be parsed ({error.detail}): {SEND_JSON_OR_MULTIPART}"
        ) from None
    if not data:
        raise HTTPException(422, "the file in the field 'file' is empty; send an image file")
    return data


def _decode_base64_image(text: str) -> bytes:
    if text.startswith("data:"):
        header, comma, text = text.partition(",")
        if not comma or not header.endswith(";base64"):
            raise HTTPException(
                422, "the 'image' data URL must be base64: data:image/png;base64,…"
            )
    if text:
        try:  # the common case, a canvas's data URL, has no line breaks to remove
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            pass
    text = "".join(text.split())
    if not text:
        raise HTTPException(
            422, "'image' holds no image: send a data URL (data:image/png;base64,…) or base64"
        )
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        reason = str(error).split(":")[0].rstrip(".") if str(error) else "not base64"
        raise HTTPException(
            422,
            f"'image' is not valid base64 ({reason.lower()}): send a data URL "
            f"(data:image/png;base64,…) or bare base64 of an image",
        ) from None


def _answer(
    model: LoadedModel, image_bytes: bytes | None, pixels: list[Any] | None, max_side: int
) -> bytes:
    if image_bytes is not None:
        x = drawing_to_mnist(image_bytes, max_side=max_side)
    else:
        x = pixels_to_mnist(pixels)
    prediction = model.predict(x.reshape(-1))
    label = model.classes[prediction.index]
    # NumPy float32 arrays and scalars go to orjson as they are: it writes each number as the
    # shortest text that reads back as the same float32, so the answer holds exactly what the
    # network saw and computed (anyone can redo the pass from it), ten times faster than json.
    response = {
        "model": model.name,
        "prediction": int(label) if label.isdigit() else prediction.index,
        "label": label,
        "probabilities": dict(zip(model.classes, prediction.probabilities, strict=True)),
        "layers": [
            {
                "name": layer.name,
                "units": layer.units,
                "activation": layer.activation,
                "values": np.ascontiguousarray(result.a, dtype=np.float32),
                "preactivations": np.ascontiguousarray(result.z, dtype=np.float32),
            }
            for layer, result in zip(model.layers, prediction.layers, strict=True)
        ],
        "input": np.ascontiguousarray(x, dtype=np.float32),
        **_out_of_distribution(model, prediction),
    }
    return orjson.dumps(response, option=orjson.OPT_SERIALIZE_NUMPY)


def _out_of_distribution(model: LoadedModel, prediction: Prediction) -> dict[str, Any]:
    if model.ood is None or prediction.ood_score is None:
        return {"in_distribution": None, "ood_score": None, "ood_threshold": None}
    return {
        "in_distribution": prediction.ood_score <= model.ood.threshold,
        "ood_score": round(prediction.ood_score, 6),
        "ood_threshold": round(model.ood.threshold, 6),
    }


def _explain(error: ValidationError) -> str:
    """Pydantic's complaints about the JSON body, as one line that says what to fix."""
    problems = []
    for item in error.errors(include_url=False):
        kind, loc = item["type"], item["loc"]
        field = str(loc[0]) if loc else ""
        if kind == "json_invalid":
            reason = str(item.get("ctx", {}).get("error", "")).removeprefix("Invalid JSON: ")
            problems.append(f"the body is not valid JSON ({reason}): {SEND_IMAGE_OR_PIXELS}")
        elif kind == "model_type":
            got = type(item["input"]).__name__ if item["input"] is not None else "null"
            problems.append(
                f"the body must be a JSON object, not {_json_type(got)}: {SEND_IMAGE_OR_PIXELS}"
            )
        elif kind == "extra_forbidden":
            problems.append(f"unknown field {field!r}: send only 'image' or 'pixels'")
        elif field == "image":
            problems.append(
                "'image' must be a string: a data URL (data:image/png;base64,…) or bare base64"
            )
        elif field == "pixels":
            problems.append(
                "'pixels' must be a list: 28 rows of 28 numbers, or a flat list of 784 numbers"
            )
        else:
            problems.append(explain_validation_errors([item]))
    return "; ".join(problems)


def _json_type(python_type: str) -> str:
    return {
        "list": "an array",
        "str": "a string",
        "int": "a number",
        "float": "a number",
        "bool": "a boolean",
    }.get(python_type, python_type)
