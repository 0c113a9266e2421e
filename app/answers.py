"""The answers POST /predict and POST /gradients send, built from a served model's passes.

/gradients answers everything /predict answers plus the backward pass, so both answers are built
here, from core/network.py's forward and backward pass, and neither router imports the other.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from app.drawing_input import DrawingInput
from app.gradient_schemas import AfterStep, GradientsResponse, LayerGradients
from app.model_registry import LoadedModel, Prediction, layer_summary
from app.schemas import LayerActivations, PredictResponse
from core.network import (
    FlattenLayer,
    Gradients,
    MaxPoolLayer,
    after_one_step,
    backward,
    class_probabilities,
)


def predict_answer(
    drawing: DrawingInput, model: LoadedModel, prediction: Prediction | None = None
) -> PredictResponse:
    """/predict's answer for the ``drawing``; ``prediction`` when it is already made."""
    x = drawing.field
    steps = {"steps": drawing.steps()} if drawing.show_steps else {}
    if prediction is None:
        prediction = model.predict(x.reshape(-1))
    return PredictResponse(
        model=model.name,
        **class_answer(model, prediction.index),
        probabilities=dict(zip(model.classes, prediction.probabilities.tolist(), strict=True)),
        layers=[
            LayerActivations(
                **layer_summary(layer),
                values=result.a.reshape(-1).tolist(),  # maps (h, w, c) row by row
                preactivations=result.z.reshape(-1).tolist(),
            )
            for layer, result in zip(model.layers, prediction.layers, strict=True)
        ],
        input=x.tolist(),
        **out_of_distribution(model, prediction),
        preprocessing=drawing.preprocessing(),
        **steps,  # set only when asked: the route leaves fields that were not set out
    )


def gradients_answer(
    drawing: DrawingInput,
    model: LoadedModel,
    target_index: int,
    learning_rate: float,
    with_weight_gradients: bool = False,
) -> GradientsResponse:
    """/predict's answer for the ``drawing`` plus the backward pass for the class
    ``target_index`` and one step of ``learning_rate`` on a copy of the model."""
    pixels = drawing.field.reshape(-1).astype(np.float32)
    prediction = model.predict(pixels)
    gradients = backward(model.layers, pixels, prediction.layers, target_index)
    after = after_one_step(model.layers, pixels, gradients, target_index, learning_rate)
    answer = predict_answer(drawing, model, prediction)
    layers = [
        LayerGradients(
            **layer.model_dump(),
            delta=gradients.deltas[index].reshape(-1).tolist(),  # as `values` are flattened
            # Set only when asked: the route leaves fields that were not set out of the answer.
            **(parameter_gradients(gradients, index) if with_weight_gradients else {}),
        )
        for index, layer in enumerate(answer.layers)
    ]
    after_probabilities = class_probabilities(after.output, len(model.classes))
    return GradientsResponse(
        **answer.model_dump(exclude={"layers"}, exclude_unset=True),
        layers=layers,
        target=model.classes[target_index],
        loss=gradients.loss,
        input_gradient=gradients.input_gradient.reshape(28, 28).tolist(),
        after_step=AfterStep(
            learning_rate=learning_rate,
            loss=after.loss,
            **class_answer(model, int(np.argmax(after_probabilities))),
            probabilities=dict(zip(model.classes, after_probabilities.tolist(), strict=True)),
        ),
    )


def parameter_gradients(gradients: Gradients, index: int) -> dict[str, Any]:
    """∂L/∂W (∂L/∂K in the kernel's layout for conv2d) and ∂L/∂b of a layer that learns; a
    pooling or flatten layer has none."""
    if isinstance(gradients.layers[index], MaxPoolLayer | FlattenLayer):
        return {}
    weight_gradient, bias_gradient = gradients.parameter_gradients(index)
    return {"weight_gradient": weight_gradient.tolist(), "bias_gradient": bias_gradient.tolist()}


def class_answer(model: LoadedModel, index: int) -> dict[str, Any]:
    """The answer's `label` for class ``index``, and its `prediction`: the digit itself when the
    label is a digit, else the index."""
    label = model.classes[index]
    return {"prediction": int(label) if label.isdigit() else index, "label": label}


def out_of_distribution(model: LoadedModel, prediction: Prediction) -> dict[str, Any]:
    """The out-of-distribution detector's part of the answer; all None for a model without one.
    The field names are short for out-of-distribution and stay as clients read them."""
    if model.ood is None or prediction.ood_score is None:
        return {"in_distribution": None, "ood_score": None, "ood_threshold": None}
    return {
        "in_distribution": prediction.ood_score <= model.ood.threshold,
        "ood_score": round(prediction.ood_score, 6),
        "ood_threshold": round(model.ood.threshold, 6),
    }
