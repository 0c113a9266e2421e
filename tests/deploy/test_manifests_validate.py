"""Every Kubernetes manifest validates against the Kubernetes API's own schemas, offline.

kubernetes-validate ships the OpenAPI-derived JSON schemas of each Kubernetes release inside
the package; strict mode also refuses fields the API does not know (a misspelt key would
otherwise be dropped by the API server without a word). The network is cut off while it runs.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import kubernetes_validate
import pytest
from project_files import manifest_files, manifests

# The oldest release whose schemas the package ships, and its newest: every API version used
# (apps/v1, v1, autoscaling/v2, policy/v1, networking.k8s.io/v1) is served by both.
KUBERNETES_VERSIONS = ("1.25", kubernetes_validate.latest_version())
EXPECTED_KINDS = {
    "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy",
}


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Validation must work on a machine without a network (CI, a plane)."""

    def refuse(*_: Any, **__: Any) -> None:
        raise AssertionError("kubernetes-validate tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    yield


def test_the_manifest_folder_holds_the_five_objects() -> None:
    assert manifest_files(), "deploy/kubernetes/ holds no .yaml file"
    assert sorted(m["kind"] for m in manifests()) == sorted(EXPECTED_KINDS)


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("kind", sorted(EXPECTED_KINDS))
def test_each_object_validates_strictly(kind: str, version: str) -> None:
    document = next(m for m in manifests() if m["kind"] == kind)
    try:
        kubernetes_validate.validate(document, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        where = ".".join(str(part) for part in error.path)
        pytest.fail(f"{kind} does not validate against Kubernetes {version}: {where}: {error}")


def test_strict_validation_catches_a_misspelt_field() -> None:
    """The check above can fail: a probe with a typo in its name is refused."""
    deployment = next(m for m in manifests() if m["kind"] == "Deployment")
    container = dict(deployment["spec"]["template"]["spec"]["containers"][0])
    container["readinesProbe"] = container.pop("readinessProbe")
    broken = {
        **deployment,
        "spec": {
            **deployment["spec"],
            "template": {
                **deployment["spec"]["template"],
                "spec": {**deployment["spec"]["template"]["spec"], "containers": [container]},
            },
        },
    }
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[-1], strict=True)


def test_schema_validation_catches_a_wrong_type() -> None:
    service = next(m for m in manifests() if m["kind"] == "Service")
    broken = {**service, "spec": {**service["spec"], "ports": [{"port": "eighty"}]}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[-1], strict=True)
