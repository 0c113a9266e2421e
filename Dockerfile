# The app with its bundled models:
#   docker build -t digit-lens:0.1.0 . && docker run -p 8000:8000 digit-lens:0.1.0
# It runs as a non-root user and writes nothing outside /tmp at run time, so it also runs with a
# read-only root filesystem (deploy/kubernetes/ mounts an emptyDir at /tmp).
FROM python:3.11-slim

# The name and version deploy/kubernetes/deployment.yaml runs (tests/deploy checks they agree).
LABEL org.opencontainers.image.title="digit-lens" \
      org.opencontainers.image.version="0.1.0"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    KERAS_HOME=/tmp/.keras

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

# A numeric user, so that Kubernetes' runAsNonRoot can check it is not root.
RUN groupadd --gid 10001 digits \
    && useradd --create-home --uid 10001 --gid 10001 digits
USER 10001:10001

# Settings come from the environment (see app/settings.py and the README).
ENV DIGITS_HOST=0.0.0.0 \
    DIGITS_PORT=8000 \
    DIGITS_WORKERS=1
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('DIGITS_PORT', '8000')}/healthz\", timeout=4)"]

# The same serve command as `make run` and the tests: uvicorn serving app.main:app.
CMD ["digits-serve"]
