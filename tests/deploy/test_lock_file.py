"""requirements.lock, which the image installs from, pins what pyproject.toml asks for, each
package with its sha256. A dependency added or raised in pyproject.toml without `make lock`
fails here."""

from __future__ import annotations

import re

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from project_files import REPO_ROOT, dockerfile_values, pyproject

LOCK = REPO_ROOT / "requirements.lock"
# The image the lock is for: Linux on x86_64, Python 3.11 (the Dockerfile's base).
IMAGE_ENVIRONMENT = {
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "python_version": "3.11",
    "python_full_version": "3.11.0",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "os_name": "posix",
    "extra": "",
}


def locked() -> dict[str, tuple[str, list[str]]]:
    """name → (pinned version, its sha256 hashes), from the lock's `name==version \\` blocks."""
    text = LOCK.read_text(encoding="utf-8").replace("\\\n", " ")
    pins = {}
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==(\S+)(.*)$", line)
        if match:
            name, _, version, rest = match.groups()
            hashes = re.findall(r"--hash=sha256:([0-9a-f]{64})", rest)
            pins[canonicalize_name(name)] = (version, hashes)
    return pins


def image_dependencies() -> list[Requirement]:
    requirements = [Requirement(text) for text in pyproject()["project"]["dependencies"]]
    return [
        r for r in requirements
        if r.marker is None or Marker(str(r.marker)).evaluate(IMAGE_ENVIRONMENT)
    ]


def test_every_locked_package_is_pinned_with_its_sha256() -> None:
    pins = locked()
    assert len(pins) > 20  # TensorFlow alone brings in more than that
    unhashed = [name for name, (_, hashes) in pins.items() if not hashes]
    assert not unhashed, f"locked without a sha256: {unhashed}"


@pytest.mark.parametrize("requirement", image_dependencies(), ids=str)
def test_each_dependency_is_locked_at_a_version_pyproject_allows(requirement: Requirement) -> None:
    pins = locked()
    name = canonicalize_name(requirement.name)
    assert name in pins, f"{requirement.name} is not in requirements.lock: run `make lock`"
    version = pins[name][0]
    assert requirement.specifier.contains(version, prereleases=True), (
        f"requirements.lock pins {requirement.name}=={version}, outside {requirement.specifier}: "
        f"run `make lock`"
    )


def test_the_image_installs_from_the_lock_with_hashes_required() -> None:
    installs = [run for run in dockerfile_values("RUN") if "pip install" in run]
    assert any("--require-hashes" in run and "requirements.lock" in run for run in installs)
    # The project itself adds nothing unpinned: no dependencies, no build environment fetched.
    for run in installs:
        if "requirements.lock" not in run:
            assert "--no-deps" in run and "--no-build-isolation" in run, run
