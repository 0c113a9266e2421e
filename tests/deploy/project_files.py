"""What tests/deploy compares: the Kubernetes manifests, the Dockerfile and pyproject.toml, read
the way their own tools read them (PyYAML, Dockerfile instructions with line continuations)."""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from project_paths import REPO_ROOT

MANIFEST_DIR = REPO_ROOT / "deploy" / "kubernetes"
DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
PYPROJECT = REPO_ROOT / "pyproject.toml"


def manifest_files() -> list[Path]:
    return sorted(MANIFEST_DIR.glob("*.yaml"))


def manifests() -> list[dict[str, Any]]:
    """Every object of every file in deploy/kubernetes/, as `kubectl apply -f` would send it."""
    return [
        document
        for path in manifest_files()
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8"))
        if document
    ]


def only(kind: str) -> dict[str, Any]:
    found = [m for m in manifests() if m["kind"] == kind]
    assert len(found) == 1, f"expected one {kind} in {MANIFEST_DIR}, found {len(found)}"
    return found[0]


def pod_spec() -> dict[str, Any]:
    return only("Deployment")["spec"]["template"]["spec"]


def container() -> dict[str, Any]:
    """The Deployment's one container."""
    containers = pod_spec()["containers"]
    assert len(containers) == 1
    return containers[0]


def container_env() -> dict[str, str]:
    """The container's plain variables (not those from the downward API, like POD_IP)."""
    return {item["name"]: item["value"] for item in container().get("env", []) if "value" in item}


@dataclass(frozen=True)
class Instruction:
    keyword: str
    arguments: str


def dockerfile_instructions() -> list[Instruction]:
    """The Dockerfile's instructions, continuation lines joined and comments dropped."""
    logical: list[str] = []
    pending = ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):  # a comment inside a continued instruction
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    instructions = []
    for text in logical:
        keyword, _, arguments = text.partition(" ")
        instructions.append(Instruction(keyword.upper(), arguments.strip()))
    return instructions


def dockerfile_values(keyword: str) -> list[str]:
    return [i.arguments for i in dockerfile_instructions() if i.keyword == keyword]


def dockerfile_key_values(keyword: str) -> dict[str, str]:
    """ENV and LABEL pairs, `KEY=value` or `KEY="value"`, over all such instructions."""
    pairs: dict[str, str] = {}
    for arguments in dockerfile_values(keyword):
        for key, quoted, bare in re.findall(r'([\w.\-]+)=(?:"([^"]*)"|(\S+))', arguments):
            pairs[key] = quoted or bare
    return pairs


def dockerfile_cmd() -> list[str]:
    commands = dockerfile_values("CMD")
    assert len(commands) == 1, f"the Dockerfile should have one CMD, has {len(commands)}"
    return list(json.loads(commands[0]))  # exec form: a JSON array


def pyproject() -> dict[str, Any]:
    return tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
