"""The FastAPI app: `uvicorn app.main:app` from the project's root.

The models are loaded once, in the lifespan, before the server accepts any request.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path
from threadpoolctl import threadpool_limits

from app.errors import add_error_handlers
from app.metrics import add_metrics
from app.middleware import (
    BodySizeLimitMiddleware,
    OneLineStartupErrors,
    SecurityHeadersMiddleware,
    TrustedHosts,
    size_text,
)
from app.model_atlases import load_atlases
from app.model_registry import load_registry
from app.routers import (
    adversarial,
    atlas,
    dream,
    gradients,
    health,
    models,
    notebook,
    pages,
    predict,
)
from app.routers.training import add_training
from app.settings import STATIC_DIR, Settings, get_settings, trusted_hosts

logger = logging.getLogger("app")

DESCRIPTION = """
Draw a digit, and a small dense network trained on MNIST says what it is — and shows what
every layer did.

`POST /predict` takes a canvas drawing (data URL or bare base64), an image file (multipart
field `file`), or 28×28 MNIST pixels, and answers with the class probabilities, every layer's
activations and pre-activations, and the 28×28 input the network saw.
"""


def limits_description(settings: Settings) -> str:
    side = settings.max_image_side
    return f"""
**Limits** (set by environment variables when the server starts):

- request body: at most {size_text(settings.max_body_bytes)} (`DIGITS_MAX_BODY_BYTES`);
  a larger body gets 413 as soon as that is known, from its Content-Length or while it streams;
- image: at most {side}×{side} pixels (`DIGITS_MAX_IMAGE_SIDE`); a larger one gets 413,
  decided from its header before any pixel is decoded;
- at most {settings.max_concurrent_predictions} images are decoded at once
  (`DIGITS_MAX_CONCURRENT_PREDICTIONS`); more wait their turn;
- formats: PNG, JPEG, WebP, GIF or BMP; any other file, or a truncated or corrupt one,
  gets 415; a malformed request (bad JSON or base64, pixels that are not 28×28 numbers in
  [0, 1], an empty drawing) gets 422.

Every error is JSON, `{{"detail": "<what is wrong and what to fix>"}}`.
"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    app.state.registry = load_registry(settings.model_dir, settings.default_model)
    app.state.atlases = load_atlases(settings.model_dir, app.state.registry)
    app.state.model_details = {}  # GET /models/{name} answers, formatted on first request
    # Bounds the memory a burst of large images can take while they are read and decoded
    # (app/dependencies.py); made here, on the server's event loop.
    app.state.image_decoding_slots = asyncio.Semaphore(settings.max_concurrent_predictions)
    logger.info("serving models: %s", ", ".join(app.state.registry.models))
    # What start-up made lives as long as the server (~335,000 objects, TensorFlow's and Keras's
    # most of them): frozen, the garbage collector's full passes leave it out, which otherwise
    # stall every request for a tenth of a second or more (docs/api.md), as one does after each
    # training run (app/training_leftovers.py).
    gc.collect()
    gc.freeze()
    try:
        # A request's forward pass is one row through small layers: BLAS threads would only
        # wake, spin and take the core that decodes the next drawing. Requests run in parallel
        # as workers.
        with threadpool_limits(limits=1, user_api="blas"):
            yield
    finally:
        gc.unfreeze()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="Digit lens",
        summary="Watch a small MNIST network think",
        description=DESCRIPTION + limits_description(settings),
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served below from the installed Swagger UI: /docs works offline
        redoc_url=None,
    )
    app.state.settings = settings
    app.include_router(predict.router)
    app.include_router(gradients.router)
    app.include_router(adversarial.router)
    app.include_router(dream.router)
    app.include_router(atlas.router)
    app.include_router(models.router)
    app.include_router(notebook.router)
    app.include_router(health.router)
    app.include_router(pages.router)
    add_training(app)  # WebSocket /train, its temporary models and their download
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    add_offline_docs(app)
    add_error_handlers(app)
    # The last added runs first: start-up errors, then security headers (on every answer,
    # 413s included), then the body limit.
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_body_bytes=settings.max_body_bytes,
        body_timeout_s=settings.body_timeout_s,
    )
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(OneLineStartupErrors)
    # Before any route: a Host this server is not reached by is a DNS-rebinding page's.
    app.add_middleware(TrustedHosts, allowed_hosts=trusted_hosts(settings))
    add_metrics(app)  # GET /metrics; added last, so its timing covers every layer above
    return app


def add_offline_docs(app: FastAPI) -> None:
    """Swagger UI at /docs from the swagger-ui-bundle package, not from a CDN."""
    app.mount("/docs-static", StaticFiles(directory=str(swagger_ui_path)), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} — API",
            swagger_js_url="/docs-static/swagger-ui-bundle.js",
            swagger_css_url="/docs-static/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )


app = create_app()
