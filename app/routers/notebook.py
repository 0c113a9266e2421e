"""GET /models/{name}/notebook: a Jupyter notebook that rebuilds the model in NumPy.

The notebook (app/model_notebook.py) is opened beside the model's `.keras` file, which
GET /models/{name}/download gives. Convolutional models and others the notebook cannot rebuild
get 422 with the reason.
"""

from __future__ import annotations

import nbformat
from fastapi import APIRouter, HTTPException, Request, Response

from app.dependencies import find_model
from app.model_notebook import NotebookUnavailableError, model_notebook
from app.schemas import ErrorResponse

router = APIRouter(tags=["models"])

NOTEBOOK_MEDIA_TYPE = "application/x-ipynb+json"


@router.get(
    "/models/{name}/notebook",
    summary="A Jupyter notebook that rebuilds the model in NumPy and trains it from scratch",
    response_class=Response,
    responses={
        200: {"content": {NOTEBOOK_MEDIA_TYPE: {}}, "description": "The notebook (.ipynb)"},
        404: {
            "model": ErrorResponse,
            "description": "Unknown model name, or a model the notebook cannot rebuild (a CNN)",
        },
    },
)
def notebook(name: str, request: Request) -> Response:
    """Open it beside `NAME.keras` (from GET /models/{name}/download): it loads the weights,
    runs the forward pass in NumPy and checks it against Keras, derives the backward pass by
    hand and checks it against `tf.GradientTape`, then trains the same architecture from
    scratch on MNIST (from `DIGITS_DATA_DIR`, else `keras.datasets.mnist`) and prints
    `test accuracy: <fraction>`."""
    state = request.app.state
    model = find_model(state.registry, name, state.temporary_models)
    try:
        document = model_notebook(model)
    except NotebookUnavailableError as error:
        # The request is valid; there is no notebook of this model (as for an unknown name).
        raise HTTPException(404, str(error)) from None
    return Response(
        nbformat.writes(document),
        media_type=NOTEBOOK_MEDIA_TYPE,
        headers={"content-disposition": f'attachment; filename="{model.name}.ipynb"'},
    )
