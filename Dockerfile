# The app with its bundled models. With Docker, anywhere a registry answers:
#   docker build -t digit-lens:0.1.0 . && docker run -p 8000:8000 digit-lens:0.1.0
# With buildah and a Debian base made locally by debootstrap (no registry needed):
#   make image      (deploy/container/build.sh; docs/deployment.md)
# It runs as a non-root user and writes nothing outside /tmp at run time, so it also runs with a
# read-only root filesystem (deploy/kubernetes/ mounts an emptyDir at /tmp).

# Any Debian-like image with Python 3.11 and its venv module: the official one by default;
# deploy/container/build.sh passes the bookworm base it made with debootstrap.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

# The app lives in its own virtual environment: the same on the official image and on Debian's
# python3 (whose system pip refuses to install packages, PEP 668).
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    KERAS_HOME=/tmp/.keras \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

WORKDIR /srv/digit-lens

# Dependencies first, in their own layer, exactly as locked: every package pinned and checked
# against its sha256 (requirements.lock, made from pyproject.toml by `make lock`). Only a change
# to the lock file rebuilds this layer.
# A network whose proxy re-signs TLS: pass its CA bundle as the secret `ca-bundle`
# (build.sh passes the build machine's); without it, pip trusts its own certificates.
COPY requirements.lock ./
RUN --mount=type=secret,id=ca-bundle \
    if [ -s /run/secrets/ca-bundle ]; then export PIP_CERT=/run/secrets/ca-bundle; fi \
    && python3 -m venv "$VIRTUAL_ENV" \
    && pip install --require-hashes --no-deps -r requirements.lock

# A numeric user, so that Kubernetes' runAsNonRoot can check it is not root.
RUN groupadd --gid 10001 digits \
    && useradd --create-home --uid 10001 --gid 10001 digits

# Owned by root and not writable by the app's user: the code, the page and the models.
COPY pyproject.toml README.md ./
COPY core ./core
COPY app ./app
COPY training ./training
COPY static ./static
COPY templates ./templates
COPY model_store ./model_store
# The project itself (its `digits-serve` command), with nothing more fetched: the locked
# setuptools builds it.
RUN pip install --no-deps --no-build-isolation -e .

USER 10001:10001

# Settings come from the environment (see app/settings.py and the README).
ENV DIGITS_HOST=0.0.0.0 \
    DIGITS_PORT=8000 \
    DIGITS_WORKERS=1 \
    DIGITS_ALLOW_TRAINING=false
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('DIGITS_PORT', '8000')}/healthz\", timeout=4)"]

# Labels last: changing them rebuilds no layer above.
# The name and version deploy/kubernetes/deployment.yaml runs (tests/deploy checks they agree).
LABEL org.opencontainers.image.title="digit-lens" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.description="Draw a digit and watch a small MNIST network think"

# The same serve command as `make run` and the tests: uvicorn serving app.main:app.
CMD ["digits-serve"]
