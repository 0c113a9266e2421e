"""GET /: the page where a person draws and watches the network think."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

from app.dependencies import RegistryDep
from app.model_registry import LoadedModel
from app.settings import STATIC_DIR, TEMPLATES_DIR
from app.training_runs import RunRequest

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=TEMPLATES_DIR)

MODEL_TITLES = {("0", "1"): "0 vs 1", tuple(str(d) for d in range(10)): "All ten digits"}


def _static_version() -> str:
    """A short hash of the static files, so browsers fetch them again after a change."""
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


STATIC_VERSION = _static_version()
# The settings the "Train your own" form starts from: the socket's defaults, by its names.
QUICK_RUN_MESSAGE = RunRequest().as_message()


@router.get("/", response_class=HTMLResponse)
def index(request: Request, registry: RegistryDep) -> HTMLResponse:
    models = [
        {
            "name": name,
            "classes": list(model.classes),
            "title": _title(model),
        }
        for name, model in registry.models.items()
    ]
    return templates.TemplateResponse(
        request,
        "index.html",
        {
            "default_model": registry.default_name,
            "models": models,
            "quick_run": QUICK_RUN_MESSAGE,
            "static_version": STATIC_VERSION,
        },
    )


def _title(model: LoadedModel) -> str:
    """The model switch's label: its classes, and "CNN" for a convolutional network (whose
    classes may be another model's)."""
    title = MODEL_TITLES.get(model.classes, " / ".join(model.classes))
    if any(layer.kind == "conv2d" for layer in model.layers):
        title += " · CNN"
    return title


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")
