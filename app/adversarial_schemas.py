"""The shapes of POST /adversarial: the request (a drawing as /predict takes it, plus the class to
fool the network into, ε and the number of steps) and the answer (the changed image, what the
network says of it, step by step), as they appear in /docs."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from app.gradient_schemas import Target
from app.schemas import DRAWING_HINT, DrawingJson, DrawingUpload, Preprocessing
from core.adversarial import MAX_EPSILON, MAX_STEPS

DEFAULT_EPSILON = 0.25
DEFAULT_STEPS = 20
# The examples /docs offers must succeed: the drawing examples /predict offers (each a 1), each
# asked to become a 0.
EXAMPLE_TARGET = "0"

TARGET_DESCRIPTION = (
    "The class to fool the network into: one of the model's `classes` (GET /models), e.g. \"1\"."
)
EPSILON_DESCRIPTION = (
    f"ε, the largest change allowed to any pixel (pixels are in [0, 1]): a number > 0 and "
    f"≤ {MAX_EPSILON:g}. 0.1 is hard to see; 0.25 is faint grey strokes."
)
STEPS_DESCRIPTION = (
    f"How many steps of projected gradient descent: a whole number from 1 to {MAX_STEPS} "
    f"(1 is the fast gradient sign method)."
)
TRACE_IMAGES_DESCRIPTION = (
    "true: each step of `trace` also holds its `image` (28×28), to replay the change step by "
    "step (default false: the trace holds only what the network said)"
)


def _number(value: object, problem: str) -> float:
    """A JSON number, or a form field's text of one; never a boolean."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(problem)
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{problem}, not {value!r}") from None


def _check_epsilon(value: object) -> float:
    problem = (
        f"'epsilon' must be a number > 0 and ≤ {MAX_EPSILON:g} "
        f"(leave it out for {DEFAULT_EPSILON:g})"
    )
    number = _number(value, problem)
    if not (math.isfinite(number) and 0.0 < number <= MAX_EPSILON):  # NaN fails here too
        raise ValueError(f"{problem}, not {value!r}")
    return number


def _check_steps(value: object) -> int:
    problem = (
        f"'steps' must be a whole number from 1 to {MAX_STEPS} (leave it out for {DEFAULT_STEPS})"
    )
    number = _number(value, problem)
    if not (math.isfinite(number) and number == int(number) and 1 <= number <= MAX_STEPS):
        raise ValueError(f"{problem}, not {value!r}")
    return int(number)


def _check_switch(value: object) -> bool:
    """true or false (a form field: also 1/0, yes/no, on/off)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "1", "yes", "on"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"false", "0", "no", "off"}:
        return False
    raise ValueError(f"'trace_images' must be true or false, not {value!r}")


Epsilon = Annotated[
    float,
    BeforeValidator(_check_epsilon),
    Field(json_schema_extra={"exclusiveMinimum": 0, "maximum": MAX_EPSILON}),
]
AttackSteps = Annotated[
    int,
    BeforeValidator(_check_steps),
    Field(json_schema_extra={"minimum": 1, "maximum": MAX_STEPS}),
]
TraceImages = Annotated[bool, BeforeValidator(_check_switch)]


def _with_attack(drawing_model: type[BaseModel]) -> Any:
    drawing_extra = drawing_model.model_config.get("json_schema_extra")

    def schema_extra(schema: dict[str, Any]) -> None:
        if callable(drawing_extra):
            drawing_extra(schema)
        # The drawing's `steps` is a preprocessing switch; here `steps` counts the attack's.
        schema["properties"]["steps"]["default"] = DEFAULT_STEPS
        examples = [{**example, "target": EXAMPLE_TARGET} for example in schema["examples"]]
        examples[0].update(epsilon=0.3, steps=30)
        schema["examples"] = examples

    return schema_extra


class AttackOptions(BaseModel):
    """What /adversarial takes besides the drawing (JSON fields, or multipart form fields)."""

    target: Target = Field(description=TARGET_DESCRIPTION)
    epsilon: Epsilon = Field(DEFAULT_EPSILON, description=EPSILON_DESCRIPTION)
    trace_images: TraceImages = Field(False, description=TRACE_IMAGES_DESCRIPTION)


class AdversarialJson(DrawingJson, AttackOptions):
    """One drawing as JSON (exactly one of `image` or `pixels`), the `target` class and
    optionally `epsilon`, `steps` and `trace_images`."""

    model_config = ConfigDict(json_schema_extra=_with_attack(DrawingJson))

    # Not the drawing's preprocessing switch: /adversarial has no `steps=true` of stages.
    steps: AttackSteps = Field(DEFAULT_STEPS, description=STEPS_DESCRIPTION)  # type: ignore[assignment]


class AdversarialUpload(DrawingUpload, AttackOptions):
    """One drawing as an image file in the multipart field `file`, with the form fields
    `target` and optionally `epsilon`, `steps` and `trace_images`."""

    model_config = ConfigDict(json_schema_extra=_with_attack(DrawingUpload))

    steps: AttackSteps = Field(DEFAULT_STEPS, description=STEPS_DESCRIPTION)  # type: ignore[assignment]


ADVERSARIAL_HINT = (
    f"{DRAWING_HINT}; with it, 'target': the class to fool the network into "
    f"(a JSON field, or a form field in multipart)"
)


class AttackStep(BaseModel):
    step: int = Field(description="1 for the first step")
    prediction: int = Field(description="The predicted digit after this step")
    label: str = Field(description="The predicted class after this step")
    probabilities: dict[str, float] = Field(description="One per class, after this step")
    linf: float = Field(description="The largest change to any pixel so far")
    image: list[list[float]] | None = Field(
        None, description="With trace_images=true only: the changed input after this step"
    )


class Original(BaseModel):
    prediction: int = Field(description="What the network said of the drawing as it was")
    label: str
    probabilities: dict[str, float]
    in_distribution: bool | None = Field(
        None, description="The detector's verdict on the drawing as it was (null: no detector)"
    )
    ood_score: float | None = None


class AdversarialResponse(BaseModel):
    model: str
    target: str = Field(description="The class the attack aimed for")
    epsilon: float = Field(description="ε: the largest change allowed to any pixel")
    steps: int = Field(description="How many steps were taken")
    start: Literal["drawing", "target_dream"] = Field(
        description='Where the steps began: "drawing" (the drawing itself), or, when the steps '
        'from the drawing fell short of the target, "target_dream": what the target class '
        "wants to see (POST /dream) moved into the ε-box, the one start tried next"
    )
    step_size: float = Field(description="α, each step's change to a pixel: min(ε, 2.5·ε/steps)")
    reached: bool = Field(description="Whether the network now says `target`")
    prediction: int = Field(description="The predicted digit for the changed image")
    label: str = Field(description="The predicted class for the changed image")
    probabilities: dict[str, float] = Field(description="One per class, for the changed image")
    image: list[list[float]] = Field(description="The changed 28×28 input, in [0, 1]")
    input: list[list[float]] = Field(
        description="The 28×28 input as drawn: the centre of the ε-box"
    )
    linf: float = Field(description="The largest change actually made to any pixel (≤ ε)")
    trace: list[AttackStep] = Field(description="After each step: what the network said")
    original: Original = Field(description="What the network said of the drawing as it was")
    in_distribution: bool | None = Field(
        None,
        description="The out-of-distribution detector's verdict on the changed image: false "
        "when it flags it (null for a model without a detector)",
    )
    ood_score: float | None = Field(None, description="The detector's score of the changed image")
    ood_threshold: float | None = Field(None, description="Scores above it are flagged")
    preprocessing: Preprocessing = Field(description="Which preprocessing steps made the input")
