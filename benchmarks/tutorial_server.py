"""What a user would otherwise pick: the tutorial way to serve a Keras digit model.

The same model file as ours, loaded at import; per request: decode the data URL, PIL open →
paste on white paper (a canvas export is transparent) → convert("L") → resize((28, 28)) →
invert → / 255 → ``model.predict(x)``. Started by the
benchmark as its own uvicorn process (one worker):

    uvicorn benchmarks.tutorial_server:app --port 8001

``BENCH_TUTORIAL_MODEL`` names the .keras file (default: model_store/digits-0-1.keras).
"""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import keras
import numpy as np
from fastapi import FastAPI
from PIL import Image
from pydantic import BaseModel

MODEL_PATH = Path(
    os.environ.get(
        "BENCH_TUTORIAL_MODEL",
        Path(__file__).resolve().parent.parent / "model_store" / "digits-0-1.keras",
    )
)

model = keras.saving.load_model(MODEL_PATH)
app = FastAPI(title="Tutorial-style digit server")


class PredictRequest(BaseModel):
    image: str


@app.get("/")
def ready() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/predict")
def predict(request: PredictRequest) -> dict[str, float | int]:
    data = base64.b64decode(request.image.split(",")[-1])
    drawing = Image.open(io.BytesIO(data)).convert("RGBA")
    paper = Image.new("RGBA", drawing.size, "white")
    image = Image.alpha_composite(paper, drawing).convert("L").resize((28, 28))
    x = (255.0 - np.asarray(image, dtype=np.float32)) / 255.0
    p1 = float(model.predict(x.reshape(1, 784), verbose=0)[0, 0])
    return {"prediction": int(p1 > 0.5), "probability": p1}
