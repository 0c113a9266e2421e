"""The answers POST /predict and POST /gradients send, built from a served model's passes.

/gradients answers everything /predict answers plus the backward pass, so both answers are built
here, from core/network.py's forward and backward pass, and neither router imports the other.

The answers are written as JSON by orjson (``json_answer``), the layers' numbers straight from
their NumPy arrays, not through the response models that document them (app/schemas.py,
app/gradient_schemas.py): a CNN's answer holds ~56,000 numbers, and the response model would
first copy each into a Python float, check it, and write it with float64's 17 digits. orjson
writes each float32 in the fewest digits that read back as the same float32.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import orjson
from fastapi import Response

from app.drawing_input import DrawingInput
from app.model_registry import LoadedModel, Prediction, layer_summary
from core.network import (
    FlattenLayer,
    Gradients,
    MaxPoolLayer,
    after_one_step,
    backward,
    class_probabilities,
)


def json_answer(answer: dict[str, Any]) -> Response:
    """``answer`` as a JSON response: NumPy arrays as (nested) lists, NumPy numbers as numbers."""
    return Response(
        orjson.dumps(answer, option=orjson.OPT_SERIALIZE_NUMPY, default=_as_list),
        media_type="application/json",
    )


def _as_list(value: Any) -> Any:
    # orjson writes only C-contiguous arrays itself; it hands any other (a strided view) here.
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON")


def predict_answer(
    drawing: DrawingInput, model: LoadedModel, prediction: Prediction | None = None
) -> dict[str, Any]:
    """/predict's answer for the ``drawing`` (as PredictResponse documents it; ``json_answer``
    writes it); ``prediction`` when it is already made."""
    x = drawing.field
    steps = {"steps": drawing.steps()} if drawing.show_steps else {}
    if prediction is None:
        prediction = model.predict(x.reshape(-1))
    return {
        "model": model.name,
        **class_answer(model, prediction.index),
        "probabilities": dict(zip(model.classes, prediction.probabilities, strict=True)),
        "layers": [
            {
                **layer_summary(layer),
                "values": result.a.reshape(-1),  # maps (h, w, c) row by row
                "preactivations": result.z.reshape(-1),
            }
            for layer, result in zip(model.layers, prediction.layers, strict=True)
        ],
        "input": x,
        **out_of_distribution(model, prediction),
        "preprocessing": drawing.preprocessing(),
        **steps,  # only when asked for
    }


def gradients_answer(
    drawing: DrawingInput,
    model: LoadedModel,
    target_index: int,
    learning_rate: float,
    with_weight_gradients: bool = False,
) -> dict[str, Any]:
    """/predict's answer for the ``drawing`` plus the backward pass for the class
    ``target_index`` and one step of ``learning_rate`` on a copy of the model (as
    GradientsResponse documents it; ``json_answer`` writes it)."""
    pixels = drawing.field.reshape(-1).astype(np.float32)
    prediction = model.predict(pixels)
    gradients = backward(model.layers, pixels, prediction.layers, target_index)
    after = after_one_step(model.layers, pixels, gradients, target_index, learning_rate)
    answer = predict_answer(drawing, model, prediction)
    for index, layer in enumerate(answer["layers"]):
        layer["delta"] = gradients.deltas[index].reshape(-1)  # as `values` are flattened
        if with_weight_gradients:  # only when asked for
            layer.update(parameter_gradients(gradients, index))
    after_probabilities = class_probabilities(after.output, len(model.classes))
    return {
        **answer,
        "target": model.classes[target_index],
        "loss": gradients.loss,
        "input_gradient": gradients.input_gradient.reshape(28, 28),
        "after_step": {
            "learning_rate": learning_rate,
            "loss": after.loss,
            **class_answer(model, int(np.argmax(after_probabilities))),
            "probabilities": dict(zip(model.classes, after_probabilities, strict=True)),
        },
    }


def parameter_gradients(gradients: Gradients, index: int) -> dict[str, Any]:
    """∂L/∂W (∂L/∂K in the kernel's layout for conv2d) and ∂L/∂b of a layer that learns; a
    pooling or flatten layer has none."""
    if isinstance(gradients.layers[index], MaxPoolLayer | FlattenLayer):
        return {}
    weight_gradient, bias_gradient = gradients.parameter_gradients(index)
    return {"weight_gradient": weight_gradient, "bias_gradient": bias_gradient}


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
