"""The Deployment agrees with the image as built, not only with the Dockerfile's text: its user,
port, command, name and settings against what `buildah inspect` says the image has.

Marked `image`: `make image-test` builds the image and runs these; without buildah or the image
they skip (in CI they fail instead, see tests/container_image.py).
"""

from __future__ import annotations

import pytest
from container_image import IMAGE, image_config
from project_files import container, container_env, pod_spec, pyproject

from app.settings import Settings

pytestmark = pytest.mark.image


def test_the_pod_runs_as_the_built_images_user() -> None:
    uid, _, gid = image_config().user.partition(":")
    assert uid.isdigit(), f"the image's user {uid!r} is not numeric: runAsNonRoot cannot check it"
    security = pod_spec()["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] == int(uid) != 0
    assert security["runAsGroup"] == int(gid or uid)


def test_the_container_port_is_the_one_the_built_image_exposes() -> None:
    (port,) = container()["ports"]
    assert image_config().exposed_ports == [f"{port['containerPort']}/{port['protocol'].lower()}"]


def test_the_pods_settings_are_the_images_where_both_set_them() -> None:
    """Kubernetes' env overrides the image's: a value the manifest repeats must be the image's,
    or one of the two files misleads its reader."""
    image_env, pod_env = image_config().env, container_env()
    differing = {
        name: (image_env[name], pod_env[name])
        for name in image_env.keys() & pod_env.keys()
        if image_env[name] != pod_env[name]
    }
    assert not differing, f"(image, manifest) values differ: {differing}"


def test_the_pods_whole_environment_serves_on_the_container_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The environment the container really gets, the image's with the manifest's over it,
    parses into settings that listen on every interface at the container port, training off."""
    environment = {**image_config().env, **container_env()}
    for name, value in environment.items():
        if name.startswith("DIGITS_"):
            monkeypatch.setenv(name, value)
    settings = Settings()
    (port,) = container()["ports"]
    assert (settings.host, settings.port) == ("0.0.0.0", port["containerPort"])
    assert settings.allow_training is False
    known = {f"DIGITS_{name.upper()}" for name in Settings.model_fields}
    assert {name for name in environment if name.startswith("DIGITS_")} <= known


def test_the_only_writable_mount_holds_what_the_image_writes() -> None:
    """The root filesystem is read-only: Keras's config, which it writes when imported, must go
    to the emptyDir at /tmp."""
    keras_home = image_config().env["KERAS_HOME"]
    mounts = [mount["mountPath"].rstrip("/") for mount in container()["volumeMounts"]]
    assert any(keras_home.startswith(f"{mount}/") for mount in mounts), (keras_home, mounts)


def test_the_container_runs_the_built_images_own_command() -> None:
    config = image_config()
    assert "command" not in container() and "args" not in container()
    assert config.entrypoint == []
    (program,) = config.cmd
    assert program in pyproject()["project"]["scripts"]


def test_the_manifests_image_is_the_built_one() -> None:
    name = container()["image"].rsplit("/", 1)[-1]
    assert name == IMAGE.rsplit("/", 1)[-1]
    labels = image_config().labels
    assert labels["org.opencontainers.image.title"] == name.partition(":")[0]
    assert labels["org.opencontainers.image.version"] == name.partition(":")[2]
