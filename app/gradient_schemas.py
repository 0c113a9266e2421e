"""The shapes of POST /gradients: the request (a drawing as /predict takes it, plus the class it
should be and a learning rate) and the answer (everything /predict answers, plus the backward
pass), as they appear in /docs."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from app.schemas import (
    DRAWING_HINT,
    DrawingJson,
    DrawingUpload,
    LayerActivations,
    PredictResponse,
)
from core.run_settings import MAX_LEARNING_RATE, is_learning_rate

DEFAULT_LEARNING_RATE = 0.5

TARGET_DESCRIPTION = (
    "The class the drawing should have: one of the model's `classes` (GET /models), e.g. \"0\". "
    "The loss and every gradient are computed for this target."
)
LEARNING_RATE_DESCRIPTION = (
    "η for the one plain gradient-descent step shown in `after_step` "
    f"(W ← W − η·∂L/∂W): a number > 0 and ≤ {MAX_LEARNING_RATE:g}."
)


# The examples /docs offers must succeed: the drawing examples /predict offers, each with a
# target (and one with a learning rate).
EXAMPLE_TARGET = "1"


def _with_target(drawing_model: type[BaseModel]) -> Any:
    drawing_extra = drawing_model.model_config.get("json_schema_extra")

    def schema_extra(schema: dict[str, Any]) -> None:
        if callable(drawing_extra):
            drawing_extra(schema)
        elif isinstance(drawing_extra, dict):
            schema.update(drawing_extra)
        examples = [{**example, "target": EXAMPLE_TARGET} for example in schema["examples"]]
        examples[0]["learning_rate"] = 2.0
        schema["examples"] = examples

    return schema_extra


def _check_learning_rate(value: object) -> float:
    """η as a float in (0, MAX_LEARNING_RATE], from a JSON number or a form field's text."""
    problem = (
        f"must be a number > 0 and ≤ {MAX_LEARNING_RATE:g} "
        f"(leave it out for {DEFAULT_LEARNING_RATE:g})"
    )
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(problem)
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{problem}, not {value!r}") from None
    if not is_learning_rate(number):
        raise ValueError(f"{problem}, not {value!r}")
    return number


def _check_target(value: object) -> str:
    """A class name, as a string: "1", not 1 (classes are names, as GET /models lists them)."""
    if isinstance(value, str) and value:
        return value
    raise ValueError(
        f"must name one of the model's classes as a string, e.g. \"0\", not {value!r}"
    )


Target = Annotated[str, BeforeValidator(_check_target), Field(min_length=1)]
LearningRate = Annotated[
    float,
    BeforeValidator(_check_learning_rate),
    Field(json_schema_extra={"exclusiveMinimum": 0, "maximum": MAX_LEARNING_RATE}),
]


class GradientOptions(BaseModel):
    """What /gradients takes besides the drawing (JSON fields, or multipart form fields)."""

    target: Target = Field(description=TARGET_DESCRIPTION)
    learning_rate: LearningRate = Field(
        DEFAULT_LEARNING_RATE, description=LEARNING_RATE_DESCRIPTION
    )


class GradientsJson(DrawingJson, GradientOptions):
    """One drawing as JSON (exactly one of `image` or `pixels`), its `target` class and
    optionally a `learning_rate`."""

    model_config = ConfigDict(json_schema_extra=_with_target(DrawingJson))


class GradientsUpload(DrawingUpload, GradientOptions):
    """One drawing as an image file in the multipart field `file`, with the form fields
    `target` and optionally `learning_rate`."""

    model_config = ConfigDict(json_schema_extra=_with_target(DrawingUpload))


GRADIENTS_HINT = (
    f"{DRAWING_HINT}; with it, 'target': the class the drawing should have "
    f"(a JSON field, or a form field in multipart)"
)


class LayerGradients(LayerActivations):
    delta: list[float] = Field(
        description="δ = ∂L/∂z for each unit: how the loss changes with this unit's z, in the "
        "order of `values`. Output: δ = a − y; earlier layers: δ = (δ_next · W_nextᵀ) ⊙ g′(z) "
        "(for max_pool and flatten, which apply no g, ∂L/∂a)"
    )
    weight_gradient: list[Any] | None = Field(
        None,
        description="Only with ?weights=true, for dense and conv2d layers. dense: ∂L/∂W = "
        "a_prevᵀ · δ (inputs × units), the outer product of the previous layer's `values` (or "
        "`input`, flattened) and this layer's `delta`; conv2d: ∂L/∂K in the kernel's layout "
        "[kernel_height][kernel_width][channels_in][filters], each window's a_prevᵀ · δ summed "
        "over the windows",
    )
    bias_gradient: list[float] | None = Field(
        None,
        description="Only with ?weights=true, for dense and conv2d layers: ∂L/∂b, `delta` for "
        "dense, δ summed over every position of the filter's map for conv2d",
    )


class AfterStep(BaseModel):
    learning_rate: float = Field(description="η used for the step")
    loss: float = Field(description="The loss of this drawing after the step")
    probabilities: dict[str, float] = Field(description="One per class, after the step")
    prediction: int = Field(description="The predicted digit after the step")
    label: str = Field(description="The predicted class after the step")


class GradientsResponse(PredictResponse):
    target: str = Field(description="The class the gradients were computed for")
    loss: float = Field(
        description="Cross-entropy of this drawing for `target` (binary for one sigmoid output "
        "unit, categorical for softmax), computed from the output's z: large but finite when "
        "the network is confidently wrong"
    )
    layers: list[LayerGradients] = Field(  # type: ignore[assignment]
        description="Every layer, the output last, each with its δ"
    )
    input_gradient: list[list[float]] = Field(
        description="∂L/∂x as 28×28: where more ink would raise (positive) or lower "
        "(negative) the loss"
    )
    after_step: AfterStep = Field(
        description="One step W ← W − η·a_prevᵀ·δ, b ← b − η·δ on a copy of the model (the "
        "served model never changes), and this drawing through the copy"
    )
