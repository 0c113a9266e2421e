"""The answers of the atlas endpoints, built from core/atlas.py's maps: a layer's map of the
atlas digits, what one unit stands for over them, and where a drawing lands among them with the
pixels that decided its answer (core/network.py's `saliency`)."""

from __future__ import annotations

import io

import numpy as np
from fastapi import HTTPException
from PIL import Image

from app.answers import class_answer
from app.atlas_schemas import (
    AtlasMap,
    ClassActivation,
    ExplainResponse,
    Neighbour,
    UnitAtlas,
    UnitDigit,
)
from app.drawing_input import DrawingInput
from app.model_registry import LoadedModel
from core.atlas import CREDIT, INPUT_LAYER, LayerMap, ModelAtlas, unit_profile
from core.network import saliency
from core.run_settings import shown

NEIGHBOURS = 8
FAVOURITES = 9
DIGITS_PER_ROW = 50  # of the digits image


def layer_map(model_atlas: ModelAtlas, model: LoadedModel, layer: str | None, status: int) -> (
    LayerMap
):
    """The map of ``layer`` (the last hidden layer's when None), or ``status`` naming the
    layers there are."""
    name = model_atlas.default_layer() if layer is None else layer
    found = model_atlas.maps.get(name)
    if found is None:
        raise HTTPException(
            status,
            f"{model.name} has no layer {shown(name, 60)}; its layers: "
            f"{', '.join(model_atlas.layer_names)}",
        )
    return found


def atlas_answer(model_atlas: ModelAtlas, model: LoadedModel, chosen: LayerMap) -> AtlasMap:
    digits = model_atlas.atlas
    return AtlasMap(
        model=model.name,
        layer=chosen.name,
        layers=model_atlas.layer_names,
        units=chosen.units,
        method="pca",
        points=np.round(chosen.points.astype(np.float64), 5).tolist(),
        labels=digits.labels.tolist(),
        indices=digits.indices.tolist(),
        explained_variance=[round(share, 6) for share in chosen.projection.explained_variance],
        separation=round(chosen.separation, 6),
        digits_image=f"/models/{model.name}/atlas/digits.png",
        credit=CREDIT,
    )


def digits_png(model_atlas: ModelAtlas) -> bytes:
    """Every atlas digit of the model in one greyscale PNG, digit i at column i % 50, row
    i // 50 (white ink on black, as MNIST): the page shows any of them from one request."""
    images = model_atlas.atlas.images
    rows = -(-len(images) // DIGITS_PER_ROW)
    sheet = np.zeros((rows * 28, DIGITS_PER_ROW * 28), dtype=np.uint8)
    for position, image in enumerate(images):
        row, column = divmod(position, DIGITS_PER_ROW)
        sheet[row * 28 : row * 28 + 28, column * 28 : column * 28 + 28] = image
    buffer = io.BytesIO()
    Image.fromarray(sheet).save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def unit_answer(
    model_atlas: ModelAtlas, model: LoadedModel, chosen: LayerMap, unit: int
) -> UnitAtlas:
    if not 0 <= unit < chosen.units:
        raise HTTPException(
            404,
            f"{chosen.name} of {model.name} has units 0 to {chosen.units - 1}, not {unit}"
            if abs(unit) < 10**9 else
            f"{chosen.name} of {model.name} has units 0 to {chosen.units - 1}",
        )
    profile = unit_profile(chosen, unit, FAVOURITES)
    digits = model_atlas.atlas

    def listed(positions: np.ndarray) -> list[UnitDigit]:
        return [
            UnitDigit(
                point=int(position),
                index=int(digits.indices[position]),
                label=int(digits.labels[position]),
                activation=float(profile.activations[position]),
            )
            for position in positions
        ]

    return UnitAtlas(
        model=model.name,
        layer=chosen.name,
        unit=unit,
        top=listed(profile.top),
        bottom=listed(profile.bottom),
        by_class=[
            ClassActivation(
                label=int(model.classes[index]),
                mean=float(profile.class_means[index]),
                spread=float(profile.class_spreads[index]),
                count=int(profile.class_counts[index]),
            )
            for index in range(len(model.classes))
        ],
    )


def explain_answer(
    drawing: DrawingInput, model: LoadedModel, model_atlas: ModelAtlas, chosen: LayerMap
) -> ExplainResponse:
    """Where the drawing lands on the layer's map, its nearest atlas digits in the layer's full
    space, and the saliency of its answer."""
    x = drawing.field.reshape(-1).astype(np.float32)
    prediction = model.predict(x)
    if chosen.name == INPUT_LAYER:
        activation = x
    else:
        index = [layer.name for layer in model.layers].index(chosen.name)
        activation = prediction.layers[index].a.reshape(-1)
    positions, distances = chosen.nearest(activation, NEIGHBOURS)
    digits = model_atlas.atlas
    pixel_saliency = saliency(model.layers, x, prediction.layers, prediction.index)
    return ExplainResponse(
        model=model.name,
        **class_answer(model, prediction.index),
        probabilities=dict(zip(model.classes, prediction.probabilities.tolist(), strict=True)),
        layer=chosen.name,
        position=chosen.projection.project(activation).astype(np.float64).tolist(),
        neighbours=[
            Neighbour(
                point=int(position),
                index=int(digits.indices[position]),
                label=int(digits.labels[position]),
                distance=float(distance),
            )
            for position, distance in zip(positions, distances, strict=True)
        ],
        saliency=pixel_saliency.reshape(28, 28).tolist(),
        input=drawing.field.tolist(),
        preprocessing=drawing.preprocessing(),
    )
