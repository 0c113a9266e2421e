"""The container image that `make image` builds (deploy/container/build.sh), as buildah has it:
its configuration read from `buildah inspect`, and a container of it serving the app.

Tests that use it are marked `image`: `make image-test` builds the image and runs them; `make
test` leaves them out. Without buildah or the image they skip, saying how to get them, except in
CI (CI set), where an image test that skipped would have tested nothing: there they fail.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tomllib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from live_server import RunningServer, running_server, server_env
from project_paths import REPO_ROOT

VERSION = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
    "version"
]
IMAGE = f"localhost/digit-lens:{VERSION}"  # what build.sh tags
BUILDAH_TIMEOUT_S = 60


@dataclass(frozen=True)
class ImageConfig:
    """The parts of the built image's OCI configuration that a runtime acts on."""

    user: str
    exposed_ports: list[str]
    env: dict[str, str]
    cmd: list[str]
    entrypoint: list[str]
    labels: dict[str, str]


def require_image() -> None:
    """Skips the test (fails it in CI) unless buildah is here and has the built image."""
    if shutil.which("buildah") is None:
        _unavailable("buildah is not installed (apt-get install buildah debootstrap)")
    found = _run("buildah", "inspect", "--type", "image", IMAGE)
    if found.returncode != 0:
        _unavailable(f"buildah has no image {IMAGE}: {found.stderr.strip()}")


def _unavailable(reason: str) -> None:
    message = f"{reason}; `make image-test` builds the image and runs these tests"
    if os.environ.get("CI"):
        pytest.fail(f"in CI the image tests must run: {message}")
    pytest.skip(message)


def image_config() -> ImageConfig:
    """`buildah inspect` of the built image: what a container of it really starts with."""
    require_image()
    inspected = json.loads(_buildah("inspect", "--type", "image", IMAGE))
    config: dict[str, Any] = inspected["OCIv1"]["config"]
    return ImageConfig(
        user=config.get("User", ""),
        exposed_ports=sorted(config.get("ExposedPorts", {})),
        env=dict(item.split("=", 1) for item in config.get("Env", [])),
        cmd=config.get("Cmd") or [],
        entrypoint=config.get("Entrypoint") or [],
        labels=config.get("Labels") or {},
    )


@contextmanager
def image_container() -> Iterator[str]:
    """A working container of the image (its name), removed when the block ends."""
    require_image()
    name = f"digit-lens-test-{uuid.uuid4().hex[:12]}"
    _buildah("from", "--quiet", "--name", name, IMAGE)
    try:
        yield name
    finally:
        _buildah("rm", name)


def run_in(container: str, *command: str) -> subprocess.CompletedProcess[str]:
    """Runs a command in the container as the image's user, in its working directory."""
    return _run("buildah", "run", "--isolation", "chroot", container, "--", *command)


@contextmanager
def serving_container(container: str) -> Iterator[RunningServer]:
    """The image's own command serving in the container until the block ends. buildah's chroot
    isolation shares the host's network, so the server listens on a free loopback port of this
    machine (DIGITS_HOST and DIGITS_PORT are the only settings changed from the image's)."""
    config = image_config()

    def command(port: int) -> list[str]:
        return [
            "buildah", "run", "--isolation", "chroot",
            "--env", "DIGITS_HOST=127.0.0.1", "--env", f"DIGITS_PORT={port}",
            container, "--", *config.entrypoint, *config.cmd,
        ]

    with running_server(command=command, env=server_env()) as server:
        yield server


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, capture_output=True, text=True, timeout=BUILDAH_TIMEOUT_S, check=False
    )


def _buildah(*arguments: str) -> str:
    """buildah's output; a failure fails the test with buildah's own words."""
    done = _run("buildah", *arguments)
    if done.returncode != 0:
        pytest.fail(f"buildah {' '.join(arguments)} failed: {done.stderr.strip()}")
    return done.stdout
