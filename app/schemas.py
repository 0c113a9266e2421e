"""The shapes of the REST API's requests and answers, as they appear in /docs."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, model_validator

PIXELS_SCHEMA = {
    "description": "The 28×28 input already in MNIST form (white ink on black, values in "
    "[0,1]): 28 rows of 28 numbers, or a flat list of 784 numbers row by row. Used as is.",
    "oneOf": [
        {
            "type": "array",
            "minItems": 28,
            "maxItems": 28,
            "items": {
                "type": "array",
                "minItems": 28,
                "maxItems": 28,
                "items": {"type": "number", "minimum": 0, "maximum": 1},
            },
        },
        {
            "type": "array",
            "minItems": 784,
            "maxItems": 784,
            "items": {"type": "number", "minimum": 0, "maximum": 1},
        },
    ],
}


class PredictRequest(BaseModel):
    """Exactly one of ``image`` or ``pixels``."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"image": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAA..."},
            ]
        },
    )

    image: str | None = Field(
        None,
        description="A PNG, JPEG, WebP, GIF or BMP image as a data URL (what "
        "canvas.toDataURL() gives) or as bare base64. Any size, any ink colour, on a light, "
        "dark or transparent background: the server finds the ink and makes the MNIST input.",
    )
    # Validated by core.preprocessing.pixels_to_mnist, whose errors say exactly what to fix.
    pixels: Annotated[list[Any] | None, WithJsonSchema(PIXELS_SCHEMA)] = None

    @model_validator(mode="after")
    def exactly_one_input(self) -> PredictRequest:
        if (self.image is None) == (self.pixels is None):
            raise ValueError("send exactly one of 'image' or 'pixels'")
        return self


class LayerActivations(BaseModel):
    name: str
    units: int
    activation: str = Field(description="g in a = g(z): sigmoid, relu, tanh or softmax")
    values: list[float] = Field(description="a: the activation of each unit")
    preactivations: list[float] = Field(description="z = a_prev · W + b for each unit")


class PredictResponse(BaseModel):
    model: str
    prediction: int = Field(description="The predicted digit")
    label: str = Field(description="The predicted class, as named in `classes`")
    probabilities: dict[str, float] = Field(description="One per class; they sum to 1")
    layers: list[LayerActivations] = Field(description="Every Dense layer, the output last")
    input: list[list[float]] = Field(description="The 28×28 input the network saw")
    in_distribution: bool | None = Field(
        None, description="False when the drawing looks like none of the classes"
    )
    ood_score: float | None = Field(None, description="Out-of-distribution score")
    ood_threshold: float | None = Field(None, description="Scores above this are flagged")


class LayerSummary(BaseModel):
    name: str
    units: int
    activation: str


class LayerWeights(LayerSummary):
    weights: list[list[float]] = Field(description="W as Keras stores it: inputs × units")
    biases: list[float] = Field(description="b: one per unit")


class ModelSummary(BaseModel):
    name: str
    classes: list[str]
    default: bool
    layers: list[LayerSummary]
    parameters: int
    metrics: dict[str, Any]
    training_time_s: float | None = None
    created: str | None = Field(None, description="When training made the model (ISO 8601)")


class ModelDetail(ModelSummary):
    layers: list[LayerWeights]  # type: ignore[assignment]


class ModelList(BaseModel):
    models: list[ModelSummary]


class ErrorResponse(BaseModel):
    detail: str = Field(description="What was wrong and what to fix")
