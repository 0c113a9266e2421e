"""Every setting of the server in one typed object, read from DIGITS_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STATIC_DIR = PROJECT_ROOT / "static"
TEMPLATES_DIR = PROJECT_ROOT / "templates"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DIGITS_", frozen=True)

    model_dir: Path = Field(
        PROJECT_ROOT / "model_store",
        description="Folder of NAME.keras models, each beside its model card NAME.json.",
    )
    default_model: str = Field(
        "digits-0-1", description="The model used when a request names none."
    )
    max_body_bytes: int = Field(
        2 * 1024 * 1024,
        gt=0,
        description="DIGITS_MAX_BODY_BYTES: the largest request body accepted, in bytes "
        "(default 2 MiB). A larger one gets 413 at once: from its Content-Length before any of "
        "it is read, or, sent in chunks, as soon as the count passes the limit.",
    )
    header_timeout_s: float = Field(
        10.0,
        gt=0,
        description="DIGITS_HEADER_TIMEOUT_S: under `digits-serve`, a request's headers must "
        "have arrived this long after its first byte, or the connection is closed (default "
        "10 s); a client trickling its headers cannot hold a connection for long.",
    )
    body_timeout_s: float = Field(
        30.0,
        gt=0,
        description="DIGITS_BODY_TIMEOUT_S: a request body must have arrived this long after "
        "the app began to read it, or the request gets 408 (default 30 s: 2 MiB at ~0.6 "
        "Mbit/s); a client sending a byte at a time cannot hold a slot for long.",
    )
    max_image_side: int = Field(
        4096,
        gt=0,
        description="DIGITS_MAX_IMAGE_SIDE: the largest image width or height accepted, in "
        "pixels (default 4096). A larger image gets 413, decided from its header before any "
        "pixel is decoded.",
    )
    max_concurrent_predictions: int = Field(
        4,
        gt=0,
        description="DIGITS_MAX_CONCURRENT_PREDICTIONS: images decoded at once per worker "
        "(more wait their turn); decoding a 4096×4096 image takes ~110 MB, so this bounds the "
        "memory a burst can take.",
    )
    allow_training: bool = Field(
        True,
        description="DIGITS_ALLOW_TRAINING: whether visitors may train a network from the page "
        "(\"Train your own\", WebSocket /train). A public deployment sets it to false "
        "(deploy/kubernetes/ does) so that no visitor can spend the server's CPU on training runs.",
    )
    # "Train your own" (WebSocket /train, app/training_runs.py).
    data_dir: Path | None = Field(
        None,
        description="DIGITS_DATA_DIR: the MNIST the page's training runs learn from, a folder of "
        "the four IDX files or mnist.npz (as the training script's --data). Without it, Keras's "
        "cache (~/.keras/datasets/mnist.npz) if it holds MNIST; with neither, the page explains "
        "how to provide it instead of offering training.",
    )
    max_training_jobs: int = Field(
        1,
        gt=0,
        description="DIGITS_MAX_TRAINING_JOBS: training runs at once per worker; one more is "
        "told the server is busy (WebSocket close code 1013).",
    )
    max_training_s: float = Field(
        120.0,
        gt=0,
        description="DIGITS_MAX_TRAINING_S: a training run's longest wall-clock time, pauses "
        "included (so a paused run cannot hold its place for ever); then it ends as stopped.",
    )
    max_trained_models: int = Field(
        8,
        gt=0,
        description="DIGITS_MAX_TRAINED_MODELS: models trained from the page kept in memory; "
        "the oldest is dropped first (each is also dropped 30 minutes after its last use).",
    )
    training_origins: str = Field(
        "",
        description="DIGITS_TRAINING_ORIGINS: comma-separated origins (https://example.org) "
        "besides this server's own whose pages may open WebSocket /train.",
    )
    allowed_hosts: str = Field(
        "",
        description="DIGITS_ALLOWED_HOSTS: comma-separated host names (or *.example.org) that "
        "requests may name in their Host header, besides localhost, 127.0.0.1 and ::1; any "
        "other gets 400, so that a page elsewhere cannot reach a local server by DNS "
        "rebinding. A deployment lists the names it is reached by ('*' allows any).",
    )
    # How `digits-serve` (make run, the Docker image) serves the app.
    host: str = Field("127.0.0.1", description="DIGITS_HOST: the address to listen on.")
    port: int = Field(8000, gt=0, lt=65536, description="DIGITS_PORT: the port to listen on.")
    workers: int = Field(
        1, gt=0, description="DIGITS_WORKERS: worker processes; each loads the models (~550 MB)."
    )
    max_connections: int = Field(
        200,
        gt=0,
        description="DIGITS_MAX_CONNECTIONS: open connections (and requests in progress) a "
        "worker takes at once; past it, new requests get 503 at once rather than queueing "
        "without end (uvicorn's limit_concurrency).",
    )


LOCAL_HOSTS = ("localhost", "127.0.0.1", "[::1]", "::1")


def trusted_hosts(settings: Settings) -> list[str]:
    """The Host names requests may use: this machine's own, and the ones the settings add."""
    extra = [host.strip() for host in settings.allowed_hosts.split(",") if host.strip()]
    return [*LOCAL_HOSTS, *extra]


@lru_cache
def get_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        # One line naming the variable, not a traceback from deep inside the import.
        problems = "; ".join(
            f"DIGITS_{'_'.join(map(str, item['loc'])).upper()}: {item['msg']}"
            for item in error.errors(include_url=False)
        )
        raise SystemExit(f"cannot start: bad setting: {problems}") from None
