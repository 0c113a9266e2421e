"""What a model's training left: its download, and its curves, confusion and misread digits.

GET /models/{name}/download gives any model (shipped or trained from the page) as a zip of
NAME.keras and its card NAME.json: unzipped into model_store/, the app serves it, and
`keras.saving.load_model("NAME.keras")` opens it in a notebook.

GET /models/{name}/training is what the page's "How each model was trained" draws: the card's
per-epoch history and test confusion matrix, and some of the test digits it misreads as 28×28
images. The cards name those digits by their index in the MNIST test set; the images come from
the MNIST the server trains from (DIGITS_DATA_DIR or Keras's cache), when it has the same test
set as the card (same sha256), else the answer says why there are none.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from typing import Any

import numpy as np
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from app.dependencies import find_model, find_model_entry
from app.schemas import ErrorResponse
from app.training_job import load_training_mnist, mnist_location

router = APIRouter(tags=["models"])
NOT_FOUND = {404: {"model": ErrorResponse, "description": "Unknown model name"}}
MISREAD_SHOWN = 24


@router.get(
    "/models/{name}/download",
    summary="A model as a zip of NAME.keras and its card NAME.json",
    response_class=Response,
    responses=NOT_FOUND,
)
def download(name: str, request: Request) -> Response:
    """Unzip into model_store/ and the app serves it; `keras.saving.load_model("NAME.keras")`
    opens it in a notebook."""
    state = request.app.state
    model, temporary = find_model_entry(state.registry, name, state.temporary_models)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        if temporary is not None:
            archive.writestr(f"{model.name}.keras", temporary.keras_file)
        else:
            folder = state.settings.model_dir
            archive.write(folder / f"{model.name}.keras", f"{model.name}.keras")
            ood_file = model.card.get("ood", {}).get("file")
            if ood_file:
                archive.write(folder / ood_file, ood_file)
        archive.writestr(f"{model.name}.json", json.dumps(model.card, indent=2))
    return Response(
        buffer.getvalue(),
        media_type="application/zip",
        headers={"content-disposition": f'attachment; filename="{model.name}.zip"'},
    )


@router.get(
    "/models/{name}/training",
    summary="How a model was trained: per-epoch history, confusion matrix, misread test digits",
    responses=NOT_FOUND,
)
async def training_report(name: str, request: Request) -> dict[str, Any]:
    state = request.app.state
    model = find_model(state.registry, name, state.temporary_models)
    test = model.card.get("metrics", {}).get("test", {})
    misread = test.get("misclassified", [])
    images, note = await run_in_threadpool(
        _misread_images, model.card, [m.get("mnist_test_index") for m in misread[:MISREAD_SHOWN]],
        state.settings.data_dir,
    )
    return {
        "name": model.name,
        "classes": list(model.classes),
        "history": model.card.get("history", {}),
        "test": {key: test.get(key) for key in ("loss", "accuracy", "count", "confusion_matrix")},
        "misread_count": len(misread),
        "misread": [
            {"true": m.get("true"), "predicted": m.get("predicted"), "image": image}
            for m, image in zip(misread[:MISREAD_SHOWN], images, strict=True)
        ],
        "images_note": note,
    }


def _misread_images(
    card: dict[str, Any], indices: list[Any], data_dir: Any
) -> tuple[list[str | None], str | None]:
    """Each digit as base64 of its 784 bytes (MNIST's own, ink high), or None with the reason."""
    missing: list[str | None] = [None] * len(indices)
    path = mnist_location(data_dir)
    if path is None:
        return missing, "no MNIST on this server (DIGITS_DATA_DIR) to show the digits from"
    mnist = load_training_mnist(path)
    expected = card.get("data", {}).get("sha256", {}).get("x_test")
    if expected and hashlib.sha256(np.ascontiguousarray(mnist.x_test).tobytes()).hexdigest() != (
        expected
    ):
        return missing, "this server's MNIST test set is not the one the model was tested on"
    return [
        base64.b64encode(mnist.x_test[i].tobytes()).decode("ascii")
        if isinstance(i, int) and 0 <= i < len(mnist.x_test) else None
        for i in indices
    ], None
