"""The manifests, the Dockerfile and the app say the same things: ports, probes, image, user,
settings. Change one without the others and one of these fails."""

from __future__ import annotations

import fnmatch

import pytest
from project_files import (
    DOCKERIGNORE,
    container,
    container_env,
    dockerfile_cmd,
    dockerfile_key_values,
    dockerfile_values,
    only,
    pod_spec,
    pyproject,
)
from pydantic import ValidationError

from app.main import create_app
from app.metrics import router as metrics_router
from app.settings import Settings

PROBES = ("startupProbe", "readinessProbe", "livenessProbe")


def named_port(name_or_number: str | int) -> int:
    """A probe's or the Service's port, which may name a container port."""
    if isinstance(name_or_number, int):
        return name_or_number
    ports = {port["name"]: port["containerPort"] for port in container()["ports"]}
    assert name_or_number in ports, f"no container port is named {name_or_number!r}"
    return ports[name_or_number]


def exposed_port() -> int:
    exposed = dockerfile_values("EXPOSE")
    assert len(exposed) == 1, "the Dockerfile should EXPOSE one port"
    return int(exposed[0].split("/")[0])


# --- ports and probes --------------------------------------------------------------------------


def test_the_container_port_is_the_one_the_image_exposes_and_serves_on() -> None:
    (port,) = container()["ports"]
    assert port["containerPort"] == exposed_port()
    assert int(dockerfile_key_values("ENV")["DIGITS_PORT"]) == exposed_port()
    assert int(container_env()["DIGITS_PORT"]) == exposed_port()
    # Inside a pod the server must listen on every interface, not only loopback.
    assert container_env()["DIGITS_HOST"] == "0.0.0.0"


@pytest.mark.parametrize("probe", PROBES)
def test_each_probe_asks_the_health_route_on_the_served_port(probe: str) -> None:
    check = container()[probe]["httpGet"]
    assert check["path"] == "/healthz"
    assert named_port(check["port"]) == exposed_port()


def test_the_health_route_exists_in_the_app() -> None:
    paths = create_app(Settings()).openapi()["paths"]
    assert "get" in paths["/healthz"]


def test_the_start_up_allowance_outlasts_loading_tensorflow() -> None:
    """Start-up takes ~5 s on an idle 2-core machine and ~20 s on a busy one (docs/deployment.md);
    liveness only begins after the startup probe has passed."""
    startup = container()["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 60


def test_the_scrape_annotations_point_at_the_metrics_route() -> None:
    annotations = only("Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == exposed_port()
    assert annotations["prometheus.io/path"] in {route.path for route in metrics_router.routes}


def test_the_service_sends_traffic_to_the_container_port() -> None:
    service = only("Service")["spec"]
    (port,) = service["ports"]
    assert named_port(port["targetPort"]) == exposed_port()


def test_the_service_keeps_a_client_on_one_replica() -> None:
    """Models trained from the page live in one replica's memory (docs/deployment.md)."""
    service = only("Service")["spec"]
    assert service["sessionAffinity"] == "ClientIP"


def test_every_selector_picks_the_deployments_pods() -> None:
    pod_labels = only("Deployment")["spec"]["template"]["metadata"]["labels"]
    selectors = {
        "Deployment": only("Deployment")["spec"]["selector"]["matchLabels"],
        "Service": only("Service")["spec"]["selector"],
        "PodDisruptionBudget": only("PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
    }
    for kind, selector in selectors.items():
        assert selector.items() <= pod_labels.items(), f"the {kind}'s selector misses the pods"


def test_the_autoscaler_scales_this_deployment_on_cpu() -> None:
    deployment, hpa = only("Deployment"), only("HorizontalPodAutoscaler")
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    assert hpa["spec"]["minReplicas"] <= deployment["spec"]["replicas"]
    # CPU utilisation is a share of the request: without one the autoscaler cannot act.
    assert "cpu" in container()["resources"]["requests"]


def test_a_disruption_leaves_a_replica_serving() -> None:
    budget = only("PodDisruptionBudget")["spec"]
    assert 1 <= budget["minAvailable"] < only("Deployment")["spec"]["replicas"]


# --- image, user, file system ------------------------------------------------------------------


def test_the_image_is_the_one_the_dockerfile_builds() -> None:
    labels = dockerfile_key_values("LABEL")
    name, _, tag = container()["image"].rpartition(":")
    assert name.rsplit("/", 1)[-1] == labels["org.opencontainers.image.title"]
    assert tag == labels["org.opencontainers.image.version"] == pyproject()["project"]["version"]


def test_the_container_runs_the_images_own_command() -> None:
    assert "command" not in container() and "args" not in container()
    (program,) = dockerfile_cmd()
    assert program in pyproject()["project"]["scripts"]


def test_the_pod_runs_as_the_images_non_root_user() -> None:
    (user,) = dockerfile_values("USER")
    uid, _, gid = user.partition(":")
    assert uid.isdigit(), "a numeric USER lets runAsNonRoot verify the image"
    security = pod_spec()["securityContext"]
    assert security["runAsNonRoot"] is True
    assert security["runAsUser"] == int(uid) != 0
    assert security["runAsGroup"] == int(gid or uid)


def test_the_container_cannot_gain_privileges_or_write_its_image() -> None:
    security = container()["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    assert "add" not in security["capabilities"]


def test_the_only_writable_places_are_empty_dirs_under_tmp() -> None:
    volumes = {volume["name"]: volume for volume in pod_spec()["volumes"]}
    for mount in container()["volumeMounts"]:
        assert "emptyDir" in volumes[mount["name"]], f"{mount['mountPath']} is not an emptyDir"
        assert mount["mountPath"] == "/tmp" or mount["mountPath"].startswith("/tmp/")
    # Keras writes its config file when imported: the image points it at /tmp too.
    assert dockerfile_key_values("ENV")["KERAS_HOME"].startswith("/tmp/")


def test_resources_are_requested_and_limited_within_the_limits() -> None:
    resources = container()["resources"]
    for resource in ("cpu", "memory", "ephemeral-storage"):
        request = _quantity(resources["requests"][resource])
        limit = _quantity(resources["limits"][resource])
        assert 0 < request <= limit, resource


def _quantity(text: str) -> float:
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


# --- settings ----------------------------------------------------------------------------------


def test_every_digits_variable_is_a_real_setting() -> None:
    known = {f"DIGITS_{name.upper()}" for name in Settings.model_fields}
    named = {name for name in container_env() if name.startswith("DIGITS_")}
    assert named, "the Deployment sets no DIGITS_* setting"
    assert named <= known, f"not settings of app/settings.py: {sorted(named - known)}"


def test_the_settings_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in container_env().items():
        if name.startswith("DIGITS_"):
            monkeypatch.setenv(name, value)
    try:
        settings = Settings()
    except ValidationError as error:
        pytest.fail(f"the Deployment's settings do not parse: {error}")
    assert settings.workers == int(container_env()["DIGITS_WORKERS"])


def test_a_public_deployment_turns_training_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGITS_ALLOW_TRAINING", container_env()["DIGITS_ALLOW_TRAINING"])
    assert Settings().allow_training is False


# --- the image's build context -----------------------------------------------------------------


def dockerignore_patterns() -> list[str]:
    lines = DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize(
    "path",
    ["tests", "deploy", "benchmarks", ".venv", ".git", "data", "mnist.npz",
     "train-images-idx3-ubyte.gz", "app/__pycache__", ".pytest_cache", ".hypothesis"],
)
def test_the_build_context_leaves_out(path: str) -> None:
    assert _ignored(path), f".dockerignore lets {path} into the image"


def test_the_build_context_keeps_what_the_dockerfile_copies() -> None:
    sources = [
        part for arguments in dockerfile_values("COPY") for part in arguments.split()[:-1]
    ]
    assert sources
    for source in sources:
        assert not _ignored(source), f".dockerignore drops {source}, which the Dockerfile copies"


def _ignored(path: str) -> bool:
    """Docker's rule: the last pattern that matches decides; `!` lets a path back in."""
    ignored = False
    for pattern in dockerignore_patterns():
        keep = pattern.startswith("!")
        pattern = pattern.removeprefix("!")
        if pattern.startswith("**/"):  # at any depth
            matches = any(
                fnmatch.fnmatch("/".join(path.split("/")[start:]), pattern[3:])
                for start in range(path.count("/") + 1)
            )
        else:  # from the root of the context
            matches = fnmatch.fnmatch(path, pattern)
        if matches:
            ignored = not keep
    return ignored


# --- who may reach the pods --------------------------------------------------------------------


def test_the_network_policy_denies_all_but_the_ingress_and_prometheus_on_the_app_port() -> None:
    policy = only("NetworkPolicy")["spec"]
    assert policy["podSelector"]["matchLabels"] == pod_template_labels()
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]
    assert policy["egress"] == []  # nothing out
    (rule,) = policy["ingress"]
    assert [named_port(port["port"]) for port in rule["ports"]] == [exposed_port()]
    sources = [peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
               for peer in rule["from"]]
    assert sorted(sources) == ["ingress-nginx", "prometheus"]


def test_the_probes_and_scrapes_by_pod_ip_are_allowed_hosts() -> None:
    env = container()["env"]
    names = [item["name"] for item in env]
    pod_ip = next(item for item in env if item["name"] == "POD_IP")
    assert pod_ip["valueFrom"]["fieldRef"]["fieldPath"] == "status.podIP"
    # Kubernetes expands $(POD_IP) only from a variable defined before it.
    assert names.index("POD_IP") < names.index("DIGITS_ALLOWED_HOSTS")
    hosts = container_env()["DIGITS_ALLOWED_HOSTS"].split(",")
    assert "$(POD_IP)" in hosts and only("Service")["metadata"]["name"] in hosts


def pod_template_labels() -> dict[str, str]:
    return only("Deployment")["spec"]["template"]["metadata"]["labels"]
