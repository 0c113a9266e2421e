"""Every error is JSON with a `detail` that says what to fix."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.preprocessing import (
    EmptyDrawingError,
    ImageDecodeError,
    ImageTooLargeError,
    PixelsError,
    PreprocessingError,
)

# The most specific class wins: ImageDecodeError is "not an image we can read" (415),
# an empty drawing or bad pixels are a well-formed request we cannot classify (422).
STATUS_OF_PREPROCESSING_ERROR: list[tuple[type[PreprocessingError], int]] = [
    (ImageTooLargeError, 413),
    (ImageDecodeError, 415),
    (EmptyDrawingError, 422),
    (PixelsError, 422),
    (PreprocessingError, 422),
]


async def preprocessing_error_handler(request: Request, error: Exception) -> JSONResponse:
    status = next(
        code for kind, code in STATUS_OF_PREPROCESSING_ERROR if isinstance(error, kind)
    )
    return JSONResponse({"detail": str(error)}, status_code=status)


def add_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PreprocessingError, preprocessing_error_handler)
