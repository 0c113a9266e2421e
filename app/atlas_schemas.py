"""The shapes of the atlas endpoints' answers (GET /models/{name}/atlas, GET
/models/{name}/units/{layer}/{unit}, POST /explain), as they appear in /docs."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.schemas import Preprocessing

SEPARATION_DESCRIPTION = (
    "How well the classes separate in this layer, from 0 to 1: the share of atlas digits whose "
    "5 nearest other atlas digits, in the layer's full space (all its units, not the 2-D map), "
    "vote for the digit's own class (leave-one-out k-nearest-neighbour accuracy)"
)


class AtlasMap(BaseModel):
    model: str
    layer: str = Field(description='"input" (the pixels) or a layer of the model')
    layers: list[str] = Field(description="Every layer that has a map, input first")
    units: int = Field(description="The layer's size: the dimension of its full space")
    method: str = Field(description="How the map was made: pca (its two principal axes)")
    points: list[list[float]] = Field(
        description="[x, y] of every atlas digit on the map: (a − mean) · axes"
    )
    labels: list[int] = Field(description="Each digit's label, in the same order")
    indices: list[int] = Field(description="Each digit's index in MNIST's test set (0–9,999)")
    explained_variance: list[float] = Field(
        description="The share of the layer's total variance along x and along y"
    )
    separation: float = Field(description=SEPARATION_DESCRIPTION)
    digits_image: str = Field(
        description="Where the atlas digits are as one PNG: digit i at column i % 50, "
        "row i // 50, 28×28 px each"
    )
    credit: str = Field(description="Where the atlas digits come from")


class AtlasDigit(BaseModel):
    point: int = Field(description="Its position in the atlas's `points` (and digits image)")
    index: int = Field(description="Its index in MNIST's test set")
    label: int = Field(description="Its label")


class Neighbour(AtlasDigit):
    distance: float = Field(description="Euclidean distance to the drawing in the full layer")


class UnitDigit(AtlasDigit):
    activation: float = Field(description="The unit's activation for this digit")


class ClassActivation(BaseModel):
    label: int
    mean: float = Field(description="The unit's mean activation over this class's atlas digits")
    spread: float = Field(description="Their standard deviation")
    count: int = Field(description="How many atlas digits of this class")


class UnitAtlas(BaseModel):
    model: str
    layer: str
    unit: int = Field(description="Its index in the layer's output, flattened row by row")
    top: list[UnitDigit] = Field(description="The 9 atlas digits it is highest for, highest first")
    bottom: list[UnitDigit] = Field(description="The 9 it is lowest for, lowest first")
    by_class: list[ClassActivation] = Field(description="Its activation per class")


class ExplainResponse(BaseModel):
    model: str
    prediction: int = Field(description="The predicted digit")
    label: str = Field(description="The predicted class, as named in `classes`")
    probabilities: dict[str, float] = Field(description="One per class")
    layer: str = Field(description="The layer whose map and neighbours are given")
    position: list[float] = Field(
        description="The drawing's [x, y] on the layer's map, projected as the atlas points"
    )
    neighbours: list[Neighbour] = Field(
        description="The 8 atlas digits nearest to the drawing in the layer's full space, "
        "nearest first"
    )
    saliency: list[list[float]] = Field(
        description="28×28 gradient × input of the predicted class's logit (for one sigmoid "
        "output unit: its z, the logit of the second class, negated when the answer is the "
        "first): positive pixels pushed towards the answer, negative ones against it"
    )
    input: list[list[float]] = Field(description="The 28×28 input the network saw")
    preprocessing: Preprocessing = Field(description="Which preprocessing steps ran")
