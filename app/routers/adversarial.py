"""POST /adversarial: fool the network. The drawing, changed by at most ε per pixel along the
network's own input gradient until it says the target class (core/adversarial.py)."""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends

from app.adversarial_schemas import (
    ADVERSARIAL_HINT,
    DEFAULT_EPSILON,
    DEFAULT_STEPS,
    AdversarialJson,
    AdversarialResponse,
    AdversarialUpload,
    AttackStep,
    Original,
)
from app.answers import class_answer, out_of_distribution
from app.dependencies import ModelDep, mnist_input_from, target_index
from app.drawing_input import DrawingInput
from app.model_registry import LoadedModel
from app.request_body import json_or_form, openapi_for
from app.schemas import DRAWING_ERRORS
from core.adversarial import BOX_CROSSINGS, MAX_STEPS, fool, step_size

router = APIRouter(tags=["adversarial"])

# The endpoint's text in /docs, from the settings themselves so that it cannot drift.
ADVERSARIAL_DESCRIPTION = (
    "Send a drawing as /predict takes it (JSON `image` or `pixels`, or a multipart `file`), plus "
    "`target`, the class to fool the network into, and optionally `epsilon` (the largest change "
    f"to any pixel, default {DEFAULT_EPSILON:g}) and `steps` (default {DEFAULT_STEPS}, at most "
    f"{MAX_STEPS}). Each step moves every pixel by α = min(ε, {BOX_CROSSINGS:g}·ε/steps) against "
    "the gradient of the target's loss, then clips it to within ε of the drawing and to [0, 1] "
    "(projected gradient descent). Where those steps fall short of the target, the same steps "
    "again from the target's dream moved into the ε-box (`start` says which the answer "
    "followed). The same drawing and settings always give the same answer. With a detector, the "
    "answer says whether it flags the change."
)

read_adversarial_body = json_or_form(AdversarialJson, AdversarialUpload, ADVERSARIAL_HINT)
# The drawing made into the input, with the body it came in (`drawing.body`: the options).
AdversarialInputDep = Annotated[
    DrawingInput, Depends(mnist_input_from(read_adversarial_body, stages_switch=False))
]


@router.post(
    "/adversarial",
    response_model=AdversarialResponse,
    response_model_exclude_unset=True,  # a step's `image` only when asked for
    responses={
        **DRAWING_ERRORS,
        422: {
            **DRAWING_ERRORS[422],
            "description": "Invalid request (JSON, base64, pixels, a target that is not a class "
            "of the model, ε not in (0, 1], steps not 1 to 100) or an empty drawing",
        },
    },
    openapi_extra=openapi_for(AdversarialJson, AdversarialUpload),
    summary="Fool the network: the drawing, changed a little, until it says the target",
    description=ADVERSARIAL_DESCRIPTION,
)
def adversarial(drawing: AdversarialInputDep, model: ModelDep) -> AdversarialResponse:
    """The attack, as ADVERSARIAL_DESCRIPTION says."""
    # A plain def: up to 100 forward and backward passes run in the threadpool, not on the loop.
    body: AdversarialJson | AdversarialUpload = drawing.body
    index = target_index(model, body.target)
    x0 = drawing.field.reshape(-1).astype(np.float32)
    attack = fool(model.layers, x0, index, len(model.classes), body.epsilon, body.steps)
    before, after = model.predict(x0), model.predict(attack.image)
    return AdversarialResponse(
        model=model.name,
        target=model.classes[index],
        epsilon=body.epsilon,
        steps=body.steps,
        start=attack.start,
        step_size=step_size(body.epsilon, body.steps),
        reached=after.index == index,
        **class_answer(model, after.index),
        probabilities=_per_class(model, after.probabilities),
        image=attack.image.reshape(28, 28).tolist(),
        input=drawing.field.tolist(),
        linf=_linf(attack.image, x0),
        trace=[
            AttackStep(
                step=number,
                **class_answer(model, int(np.argmax(probabilities))),
                probabilities=_per_class(model, probabilities),
                linf=_linf(image, x0),
                **({"image": image.reshape(28, 28).tolist()} if body.trace_images else {}),
            )
            for number, (probabilities, image) in enumerate(
                zip(attack.trace, attack.trace_images, strict=True), start=1
            )
        ],
        original=Original(
            **class_answer(model, before.index),
            probabilities=_per_class(model, before.probabilities),
            in_distribution=out_of_distribution(model, before)["in_distribution"],
            ood_score=out_of_distribution(model, before)["ood_score"],
        ),
        **out_of_distribution(model, after),
        preprocessing=drawing.preprocessing(),
    )


def _per_class(model: LoadedModel, probabilities: np.ndarray) -> dict[str, float]:
    return dict(zip(model.classes, probabilities.tolist(), strict=True))


def _linf(image: np.ndarray, drawing: np.ndarray) -> float:
    """The largest change to a pixel, in float64: the answer's numbers are the float32 pixels
    exactly, and a client that subtracts them gets this."""
    return float(np.abs(image.astype(np.float64) - drawing.astype(np.float64)).max())
