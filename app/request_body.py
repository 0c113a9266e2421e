"""One request body, sent as JSON or as multipart form data, validated by pydantic models.

`POST /predict` takes a drawing as JSON or as an uploaded file, and the gradients endpoint takes
the same drawing plus its own fields. FastAPI reads a body of one content type per route, so
`json_or_form(JsonModel, FormModel, hint)` gives a reader that reads whichever was sent and
validates it with the matching model (app/dependencies.py's `mnist_input_from` calls it, once
it holds an image-decoding slot), and `openapi_for(JsonModel, FormModel)` documents both
content types from the same models. Validation errors go to FastAPI's own handler (one line,
app/errors.py), as if FastAPI had read the body itself.

    read_body = json_or_form(GradientsJson, GradientsUpload, hint)
    GradientsInputDep = Annotated[DrawingInput, Depends(mnist_input_from(read_body))]
    @router.post("/gradients", openapi_extra=openapi_for(GradientsJson, GradientsUpload))
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import explain_validation_errors
from app.middleware import RequestBodyTooLarge

JsonModel = TypeVar("JsonModel", bound=BaseModel)
FormModel = TypeVar("FormModel", bound=BaseModel)

# A drawing's JSON needs at most 784 numbers (base64 has no comma). Parsing "[0],[0],…" up to the
# body limit would hold the event loop for a noticeable time and take tens of MB: refused first.
MAX_JSON_COMMAS = 2048
MAX_FORM_FIELDS = 8


def json_or_form(
    json_model: type[JsonModel], form_model: type[FormModel], hint: str
) -> Callable[[Request], Awaitable[JsonModel | FormModel]]:
    """A dependency: the body as `json_model` (application/json) or `form_model`
    (multipart/form-data, at most one file); `hint` says what to send, in errors about the
    body as a whole."""

    async def read_body(request: Request) -> JsonModel | FormModel:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "multipart/form-data":
            return _validated(form_model, await _form_fields(request, hint))
        if content_type == "application/json" or content_type.endswith("+json"):
            return _validated_json(json_model, await request.body(), hint)
        got = f"got {content_type!r}" if content_type else "got no Content-Type"
        raise HTTPException(
            415, f"the body must be application/json or multipart/form-data ({got}): {hint}"
        )

    return read_body


def openapi_for(json_model: type[BaseModel], form_model: type[BaseModel]) -> dict[str, Any]:
    """The route's `openapi_extra`: its request body in both content types, from the models
    (their fields, descriptions and examples)."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": _schema_without_refs(json_model)},
                "multipart/form-data": {"schema": _schema_without_refs(form_model)},
            },
        }
    }


def _schema_without_refs(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    if "$defs" in schema:
        # FastAPI puts only the models of declared parameters in the components, so a $ref
        # from here would point nowhere: these models must be flat.
        raise TypeError(f"{model.__name__} nests other models; keep request models flat")
    return schema


def _validated_json(model: type[JsonModel], body: bytes, hint: str) -> JsonModel:
    if not body.strip():
        raise HTTPException(422, f"the request body is empty: {hint}")
    commas = body.count(b",")
    if commas > MAX_JSON_COMMAS:
        raise HTTPException(
            422,
            f"the body holds {commas:,} commas, far more than a request needs (pixels are 784 "
            f"numbers): {hint}",
        )
    try:
        return model.model_validate_json(body)
    except ValidationError as error:
        if any(item["type"] in ("json_invalid", "model_type") for item in error.errors()):
            problem = explain_validation_errors(error.errors(include_url=False))
            raise HTTPException(422, f"{problem}: {hint}") from None
        raise _as_request_error(error) from None


def _validated(model: type[FormModel], fields: dict[str, Any]) -> FormModel:
    try:
        return model.model_validate(fields)
    except ValidationError as error:
        raise _as_request_error(error) from None


async def _form_fields(request: Request, hint: str) -> dict[str, Any]:
    """The multipart fields, each file read into bytes (the models never see an open file)."""
    try:
        form = await request.form(max_files=1, max_fields=MAX_FORM_FIELDS)
    except RequestBodyTooLarge:
        raise
    except StarletteHTTPException as error:  # Starlette's multipart parse errors are 400s
        raise HTTPException(
            422, f"the multipart body cannot be parsed ({error.detail}): {hint}"
        ) from None
    try:
        return {
            name: await value.read() if isinstance(value, UploadFile) else value
            for name, value in form.items()
        }
    finally:
        await form.close()


def _as_request_error(error: ValidationError) -> RequestValidationError:
    """Pydantic's errors located in the body, as FastAPI reports a body it validated itself."""
    errors = [{**item, "loc": ("body", *item["loc"])} for item in error.errors(include_url=False)]
    return RequestValidationError(errors)
