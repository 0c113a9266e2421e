# The app with its bundled models: docker build -t digit-lens . && docker run -p 8000:8000 digit-lens
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2

WORKDIR /srv/digit-lens

# Dependencies first, in their own layer: pyproject.toml picks tensorflow-cpu on Linux.
# Empty package stubs let the editable install resolve now; the code is copied over them below.
COPY pyproject.toml README.md ./
RUN mkdir core app training \
    && touch core/__init__.py app/__init__.py training/__init__.py \
    && pip install -e .

COPY core ./core
COPY app ./app
COPY training ./training
COPY static ./static
COPY templates ./templates
COPY model_store ./model_store

RUN useradd --create-home --uid 10001 digits
USER digits

# Settings come from the environment (see app/settings.py and the README).
ENV DIGITS_HOST=0.0.0.0 \
    DIGITS_PORT=8000 \
    DIGITS_WORKERS=1
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('DIGITS_PORT', '8000')}/healthz\", timeout=4)"]

# The same serve command as `make run` and the tests: uvicorn serving app.main:app.
CMD ["digits-serve"]
