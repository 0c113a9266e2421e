"""The shapes of the REST API's requests and answers, as they appear in /docs.

The request models validate everything a request can get wrong, with messages that say what to
fix (app/errors.py writes them as one line); `app/request_body.py` reads a body into them, as
JSON or as multipart form data, and builds the request's OpenAPI description from them.

Over 300 lines because every request and answer of the REST API is described here, in one place, as
/docs shows them.
"""

from __future__ import annotations

import base64
import binascii
import struct
from typing import Annotated, Any

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    WithJsonSchema,
    model_validator,
)

from app.drawing_input import CENTRE_DESCRIPTION, FIT_DESCRIPTION, STEPS_DESCRIPTION
from core.mnist_pixels import pixels_to_mnist

DATA_URL_EXAMPLE = "data:image/png;base64,…"
# A data URL (any media type, base64) or bare base64; whitespace is allowed between characters
# (`base64` without -w0 wraps its lines). What the schema says a valid `image` looks like.
_BASE64_QUAD = r"(?:[A-Za-z0-9+/]\s*){4}"
_BASE64_END = r"(?:(?:[A-Za-z0-9+/]\s*){2}=\s*=|(?:[A-Za-z0-9+/]\s*){3}=)"
BASE64_PATTERN = (
    rf"^(?:data:[^,]*;base64,)?\s*(?:(?:{_BASE64_QUAD})+(?:{_BASE64_END})?|{_BASE64_END})\s*$"
)

# The schema's example drawing: a 28×28 PNG of a 1 (dark ink on white), as bare base64.
EXAMPLE_PNG_BASE64 = (
    "iVBORw0KGgoAAAANSUhEUgAAABwAAAAcCAAAAABXZoBIAAAAMUlEQVR42mP8z4AbMDHQRJIFlcvIwPCf5nYy4bGSPnaSLY"
    "nm2MHtWnTH0spOxgFItwA0CwY3p1SjcwAAAABJRU5ErkJggg=="
)


def _example_bmp_text() -> str:
    """The schema's example file: a 16×16 BMP of a 1 (grey ink on black) whose every byte is
    ASCII. An OpenAPI example is text, and a client that tries the example (Swagger UI,
    schemathesis) sends that text's bytes as the file, so only an all-ASCII image survives."""
    rows = [bytes([0x1E if 2 <= row <= 13 else 0, 0, 0, 0]) for row in range(16)]
    pixels = b"".join(rows)
    header_size = 14 + 40 + 8  # file header, info header, a palette of 2 colours
    info = struct.pack("<IiiHHIIiiII", 40, 16, 16, 1, 1, 0, len(pixels), 0, 0, 2, 0)
    palette = bytes([0, 0, 0, 0, 127, 127, 127, 0])  # black paper, grey ink: all below 128
    file_header = b"BM" + struct.pack("<IHHI", header_size + len(pixels), 0, 0, header_size)
    return (file_header + info + palette + pixels).decode("ascii")


EXAMPLE_BMP_TEXT = _example_bmp_text()


def _decode_image(value: object) -> bytes:
    """`image` as the bytes of the image file: a data URL or bare base64 of it."""
    if value is None:
        raise ValueError("'image' is null: send the image, or leave the field out")
    if not isinstance(value, str):
        raise ValueError(
            f"'image' must be a string: a data URL ({DATA_URL_EXAMPLE}) or bare base64 of an image"
        )
    text = value
    if text.startswith("data:"):
        header, comma, text = text.partition(",")
        if not comma or not header.endswith(";base64"):
            raise ValueError(f"'image' as a data URL must be base64: {DATA_URL_EXAMPLE}")
    text = "".join(text.split())
    if not text:
        raise ValueError(f"'image' holds no image: send a data URL ({DATA_URL_EXAMPLE}) or base64")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as error:
        reason = str(error).split(":")[0].rstrip(".") if str(error) else "not base64"
        raise ValueError(
            f"'image' is not valid base64 ({reason.lower()}): send a data URL ({DATA_URL_EXAMPLE}) "
            f"or bare base64 of an image"
        ) from None


def _check_pixels(value: object) -> np.ndarray:
    """`pixels` as the (28, 28) float32 input, or the reason they are not one."""
    if value is None:
        raise ValueError("'pixels' is null: send the pixels, or leave the field out")
    return pixels_to_mnist(value)


def _uploaded_file(value: object) -> bytes:
    """The multipart field holds a file (read by app/request_body.py into bytes), not text."""
    if isinstance(value, str):
        raise ValueError("'file' must be a file, not text: send the image file itself (-F file=@…)")
    if not isinstance(value, bytes):
        raise ValueError("'file' must be an image file")
    if not value:
        raise ValueError("'file' is an empty file; send an image file")
    return value


IMAGE_DESCRIPTION = (
    "A PNG, JPEG, WebP, GIF or BMP image as a data URL (what canvas.toDataURL() gives) or as "
    "bare base64. Any size, any ink colour, on a light, dark or transparent background: the "
    "server finds the ink and makes the MNIST input."
)
PIXEL = {"type": "number", "minimum": 0, "maximum": 1}
PIXELS_SCHEMA = {
    "description": "The 28×28 input already in MNIST form (white ink on black, values in "
    "[0,1]): 28 rows of 28 numbers, or a flat list of 784 numbers row by row. Used as is.",
    "oneOf": [
        {
            "type": "array",
            "minItems": 28,
            "maxItems": 28,
            "items": {"type": "array", "minItems": 28, "maxItems": 28, "items": PIXEL},
        },
        {"type": "array", "minItems": 784, "maxItems": 784, "items": PIXEL},
    ],
}

ImageField = Annotated[
    bytes | None,
    BeforeValidator(_decode_image),
    WithJsonSchema({"type": "string", "pattern": BASE64_PATTERN, "description": IMAGE_DESCRIPTION}),
]
PixelsField = Annotated[
    np.ndarray | None, BeforeValidator(_check_pixels), WithJsonSchema(PIXELS_SCHEMA)
]
FileField = Annotated[
    bytes,
    BeforeValidator(_uploaded_file),
    WithJsonSchema(
        {
            "type": "string",
            "contentMediaType": "application/octet-stream",
            "description": "A PNG, JPEG, WebP, GIF or BMP image of one digit",
        }
    ),
]


def _not_null(value: object, info: ValidationInfo) -> object:
    if value is None:
        raise ValueError(f"{info.field_name!r} is null: send true or false, or leave it out")
    return value


# The preprocessing switches, as JSON or form fields (or query parameters): true or false (a form
# field also 1/0, yes/no, on/off); left out, the query's or the default.
Switch = Annotated[
    bool | None, BeforeValidator(_not_null), WithJsonSchema({"type": "boolean"})
]
SWITCHES = ("fit", "centre", "steps")


def _exactly_one_of_image_or_pixels(schema: dict[str, Any]) -> None:
    """What the validators check, said in the schema: one field or the other (neither null: a
    field left out is absent, a null one is an error)."""
    for name in ("image", "pixels", *SWITCHES):
        schema["properties"][name].pop("default", None)
    schema["oneOf"] = [{"required": ["image"]}, {"required": ["pixels"]}]
    schema["examples"] = [
        {"image": f"data:image/png;base64,{EXAMPLE_PNG_BASE64}"},
        {"image": EXAMPLE_PNG_BASE64},
        {"pixels": [[0.0] * 12 + [1.0] * 4 + [0.0] * 12 for _ in range(28)]},
    ]


class DrawingJson(BaseModel):
    """One drawing as JSON: exactly one of `image` or `pixels`; optionally the preprocessing
    switches (or as query parameters)."""

    model_config = ConfigDict(
        extra="forbid",
        arbitrary_types_allowed=True,
        json_schema_extra=_exactly_one_of_image_or_pixels,
    )

    image: ImageField = None
    pixels: PixelsField = None
    fit: Switch = Field(None, description=FIT_DESCRIPTION)
    centre: Switch = Field(None, description=CENTRE_DESCRIPTION)
    steps: Switch = Field(None, description=STEPS_DESCRIPTION)

    @model_validator(mode="after")
    def exactly_one_input(self) -> DrawingJson:
        if (self.image is None) == (self.pixels is None):
            raise ValueError("send exactly one of 'image' or 'pixels'")
        return self

    def drawing(self) -> bytes | np.ndarray:
        """The image file's bytes, or the 28×28 pixels already checked."""
        return self.image if self.image is not None else self.pixels  # type: ignore[return-value]


def _upload_schema(schema: dict[str, Any]) -> None:
    """The example file; and the switches left out mean "the query's, else the default", not
    null (OpenAPI leaves a null default out)."""
    for name in SWITCHES:
        schema["properties"][name].pop("default", None)
    schema["examples"] = [{"file": EXAMPLE_BMP_TEXT}]


class DrawingUpload(BaseModel):
    """One drawing as an image file in the multipart field `file`, and optionally the
    preprocessing switches as form fields (or query parameters)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_upload_schema)

    file: FileField
    fit: Switch = Field(None, description=FIT_DESCRIPTION)
    centre: Switch = Field(None, description=CENTRE_DESCRIPTION)
    steps: Switch = Field(None, description=STEPS_DESCRIPTION)

    def drawing(self) -> bytes:
        return self.file


DRAWING_HINT = (
    f'send a JSON object {{"image": "{DATA_URL_EXAMPLE}"}} or {{"pixels": [28 rows of 28 '
    f"numbers in [0, 1]]}}, or multipart/form-data with the image file in the field 'file'"
)


LAYER_KIND_DESCRIPTION = (
    "What the layer computes: dense (z = a_prev · W + b), conv2d (a kernel slid over the "
    "maps below), max_pool (the largest value of each window) or flatten (the maps read row "
    "by row)"
)
LAYER_SHAPE_DESCRIPTION = (
    "The layer's output for one drawing: [units] for dense and flatten, [height, width, "
    "channels] for conv2d and max_pool (a conv layer's channels are its filters)"
)
FLATTENED = (
    "flattened in row-major (height, width, channels) order for maps: NumPy's reshape(-1) of "
    "Keras's output for this one drawing, so the value at (i, j, c) is at (i·width + j)·channels "
    "+ c"
)


class LayerActivations(BaseModel):
    name: str
    kind: str = Field(description=LAYER_KIND_DESCRIPTION)
    shape: list[int] = Field(description=LAYER_SHAPE_DESCRIPTION)
    units: int = Field(description="How many values the layer gives: the product of `shape`")
    activation: str | None = Field(
        description="g in a = g(z): sigmoid, relu, tanh, linear or softmax; null for max_pool "
        "and flatten, which apply none"
    )
    values: list[float] = Field(description=f"a: the activation of each unit, {FLATTENED}")
    preactivations: list[float] = Field(
        description="z = a_prev · W + b for each unit (for conv2d the kernel's sum over its "
        "window, plus the bias), in the order of `values`; for max_pool and flatten, which "
        "apply no g, the same as `values`"
    )


class Preprocessing(BaseModel):
    fit: bool = Field(description="Whether the ink was cropped and its box scaled to 20 px")
    centre: bool = Field(description="Whether its centre of mass was moved to the middle")
    ran: list[str] = Field(
        description="The steps that ran, in order: canvas, ink, box, scaled (or squashed "
        "without fit), centred (or placed without centre), input; for pixels: pixels, input"
    )


class PreprocessingStep(BaseModel):
    name: str
    shape: list[int] = Field(description="Of the array at this step, e.g. [280, 280, 4]")
    dtype: str = Field(description="Of the array at this step, e.g. uint8 or float32")
    image: str = Field(description="A PNG data URL of this step (at most 280 px a side)")
    note: str = Field(description="What this step did, in one line")


class PredictResponse(BaseModel):
    model: str
    prediction: int = Field(description="The predicted digit")
    label: str = Field(description="The predicted class, as named in `classes`")
    probabilities: dict[str, float] = Field(description="One per class; they sum to 1")
    layers: list[LayerActivations] = Field(description="Every layer, the output last")
    input: list[list[float]] = Field(description="The 28×28 input the network saw")
    # The out-of-distribution detector's verdict (`ood` is short for it); null for a model
    # without a detector. Clients read these names, so they stay.
    in_distribution: bool | None = Field(
        None,
        description="False when the drawing is out of distribution: it looks like none of the "
        "classes (null for a model without an out-of-distribution detector)",
    )
    ood_score: float | None = Field(
        None, description="The out-of-distribution score: the detector's p(none of the classes)"
    )
    ood_threshold: float | None = Field(
        None, description="Out-of-distribution scores above this are out of distribution"
    )
    preprocessing: Preprocessing = Field(description="Which preprocessing steps ran")
    steps: list[PreprocessingStep] | None = Field(
        None,
        description="With steps=true only: the drawing at every step, in order; the last is "
        "`input`, the network's input (1, 784)",
    )


class LayerSummary(BaseModel):
    name: str
    kind: str = Field(description=LAYER_KIND_DESCRIPTION)
    shape: list[int] = Field(description=LAYER_SHAPE_DESCRIPTION)
    units: int = Field(description="How many values the layer gives: the product of `shape`")
    activation: str | None = Field(description="g in a = g(z); null for max_pool and flatten")


class LayerWeights(LayerSummary):
    weights: list[Any] | None = Field(
        None,
        description="As Keras stores them. dense: W, inputs × units; conv2d: the kernel, "
        "[kernel_height][kernel_width][channels_in][filters]; absent for max_pool and flatten",
    )
    biases: list[float] | None = Field(
        None, description="b: one per unit (dense) or per filter (conv2d)"
    )
    kernel_size: list[int] | None = Field(None, description="conv2d: [height, width]")
    pool_size: list[int] | None = Field(None, description="max_pool: [height, width]")
    strides: list[int] | None = Field(
        None, description="conv2d and max_pool: [down, across] between windows"
    )
    padding: str | None = Field(
        None,
        description="conv2d and max_pool: valid (no padding) or same (Keras's: enough zeros, "
        "−∞ for pooling, for ceil(size / stride) windows, the odd one after)",
    )
    input_shape: list[int] | None = Field(
        None, description="What the layer takes for one drawing, e.g. [28, 28, 1]"
    )


class ModelSummary(BaseModel):
    name: str
    classes: list[str]
    default: bool
    input_shape: list[int] = Field(
        description="What the first layer takes for one drawing: [784] (the pixels row by "
        "row) or [28, 28, 1] (the image, one channel) for a network that starts with a "
        "convolution; a batch adds a leading axis, as in Keras"
    )
    layers: list[LayerSummary]
    parameters: int
    metrics: dict[str, Any]
    training_time_s: float | None = None
    batch_size: int | None = Field(
        None, description="How many digits each training step took (the card's), null if unknown"
    )
    created: str | None = Field(None, description="When training made the model (ISO 8601)")
    temporary: bool = Field(
        False,
        description="Trained from the page (WebSocket /train): kept in memory only, dropped 30 "
        "minutes after its last use",
    )


class ModelDetail(ModelSummary):
    layers: list[LayerWeights]  # type: ignore[assignment]


class ModelList(BaseModel):
    models: list[ModelSummary]


class ErrorResponse(BaseModel):
    detail: str = Field(description="What was wrong and what to fix")


# What a route that takes a drawing (POST /predict, POST /gradients) may answer instead, in /docs.
DRAWING_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": description}
    for status, description in {
        404: "Unknown model name",
        413: "Request body or image dimensions over the limit",
        415: "Not JSON or multipart, or not an image format that is accepted",
        422: "Invalid request (JSON, base64, pixels) or an empty drawing",
    }.items()
}
