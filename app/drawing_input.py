"""The drawing as /predict and /gradients receive it: the steps that made it the network's input,
the preprocessing switches that chose them, and those steps as the answer shows them.

`fit` and `centre` (query parameters, or form fields in multipart) switch two steps of
core/mnist_form.py off; `steps=true` asks for every stage as a small PNG with its shape, dtype
and a one-line note. Only then are the stages rendered: an answer without steps costs nothing
more than before.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from core.mnist_form import FIELD_SIDE, Stage

# A stage larger than this is shown reduced (its `shape` still says its real size).
SHOWN_SIDE = 280

FIT_DESCRIPTION = (
    "false: skip the crop to the ink and the scaling of its box to 20 px; squash the whole "
    "image to 28×28 instead, as naive demos do (default true)"
)
CENTRE_DESCRIPTION = (
    "false: skip the shift that puts the digit's centre of mass in the middle of the 28×28 "
    "field (default true)"
)
STEPS_DESCRIPTION = (
    "true: add `steps`, the drawing at every stage of the preprocessing as a PNG data URL "
    "with its shape, dtype and a note, ending with the network's input (1, 784)"
)


class StageRecorder:
    """core.mnist_form's `on_stage`: the name of every step, and the stages themselves only when
    the answer shows them (kept otherwise, the image as sent would stay in memory while the next
    steps run, which costs every request a tenth of a millisecond)."""

    def __init__(self, keep: bool) -> None:
        self.keep = keep
        self.ran: list[str] = []
        self.kept: list[Stage] = []

    def __call__(self, stage: Stage) -> None:
        self.ran.append(stage.name)
        if self.keep:
            self.kept.append(stage)


@dataclass(frozen=True)
class DrawingInput:
    """A drawing made into the network's input, and the steps that made it."""

    field: np.ndarray  # the input, as the 28×28 field
    fit: bool  # whether the crop and scaling to a 20 px box ran (False for pixels)
    centre: bool  # whether the centre-of-mass shift ran (False for pixels)
    recorded: StageRecorder
    # The request body it came in (a model of app/schemas.py or app/gradient_schemas.py): what
    # else an endpoint reads from it, such as /gradients' target, is read once with the drawing.
    body: Any = None

    @property
    def show_steps(self) -> bool:
        return self.recorded.keep

    def preprocessing(self) -> dict[str, Any]:
        """Which steps ran, for every answer."""
        return {"fit": self.fit, "centre": self.centre, "ran": self.recorded.ran}

    def steps(self) -> list[dict[str, Any]]:
        """Every stage, as the answer's `steps` show it."""
        return [
            {
                "name": stage.name,
                "shape": list(_shape(stage.values)),
                "dtype": _dtype(stage.values),
                "image": _png_data_url(stage.values),
                "note": stage.note,
            }
            for stage in self.recorded.kept
        ]


def _shape(values: np.ndarray | Image.Image) -> tuple[int, ...]:
    if isinstance(values, np.ndarray):
        return values.shape
    bands = len(values.getbands())
    return (values.height, values.width, *((bands,) if bands > 1 else ()))


def _dtype(values: np.ndarray | Image.Image) -> str:
    if isinstance(values, np.ndarray):
        return str(values.dtype)
    mode = values.mode
    if mode == "1":
        return "bool"
    if mode.startswith("I;16"):
        return "uint16"
    return {"I": "int32", "F": "float32"}.get(mode, "uint8")


def _png_data_url(values: np.ndarray | Image.Image) -> str:
    image = _shown(values)
    if max(image.size) > SHOWN_SIDE:
        scale = SHOWN_SIDE / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BOX)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _shown(values: np.ndarray | Image.Image) -> Image.Image:
    """A stage as an 8-bit image: the image as sent in a mode PNG keeps (its alpha too), ink
    levels as grey, white ink on black as in MNIST."""
    if isinstance(values, Image.Image):
        if values.mode in ("L", "LA", "RGB", "RGBA"):
            return values
        try:
            return values.convert("RGBA")
        except ValueError:  # 16-bit and float greyscale
            return values.convert("L")
    if values.ndim == 2 and values.shape[0] == 1:  # the input, (1, 784)
        values = values.reshape(FIELD_SIDE, FIELD_SIDE)
    if values.dtype != np.uint8:
        values = np.round(np.clip(values, 0.0, 1.0) * 255.0).astype(np.uint8)
    return Image.fromarray(values)
