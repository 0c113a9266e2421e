"""The documented `curl` examples for POST /predict (docs/api.md's three, and the README's one)
run as pasted, against a real server (curl needs one), from a folder holding a `digit.png`, as a
reader would run them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from live_server import RunningServer, running_server
from PIL import Image, ImageDraw
from project_paths import REPO_ROOT

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(300),
    pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed"),
]

DOCUMENTED_ADDRESS = "localhost:8000"


def first_sh_block(document: str, heading: str) -> str:
    """The first sh block under ``heading`` in README.md or docs/."""
    section = (REPO_ROOT / document).read_text(encoding="utf-8").split(heading, 1)[1]
    return section.split("```sh\n", 1)[1].split("```", 1)[0]


def predict_examples() -> list[str]:
    """docs/api.md's commands under "## POST /predict", one per numbered comment."""
    block = first_sh_block("docs/api.md", "## POST /predict")
    examples = re.split(r"^# \d\. .*\n(?:#.*\n)*", block, flags=re.MULTILINE)
    return [example.strip() for example in examples if example.strip()]


def run_as_pasted(command: str, server: RunningServer, folder: Path) -> tuple[Any, str]:
    """Run a documented command in ``folder`` against ``server`` (in place of the documented
    address); its JSON answer and its output as printed."""
    assert DOCUMENTED_ADDRESS in command
    run = subprocess.run(
        ["bash", "-c", command.replace(DOCUMENTED_ADDRESS, f"{server.host}:{server.port}")],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout), run.stdout


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    with running_server() as running:
        yield running


@pytest.fixture(scope="module")
def folder_with_a_digit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("reader")
    image = Image.new("RGB", (280, 280), "white")
    ImageDraw.Draw(image).line([(150, 45), (132, 235)], fill=(17, 24, 39), width=21)
    image.save(folder / "digit.png")
    return folder


def test_the_api_page_shows_three_examples() -> None:
    assert len(predict_examples()) == 3


def test_the_readme_example_is_one_of_them() -> None:
    """So that running the three runs the README's too."""
    assert first_sh_block("README.md", "## The API").strip() in predict_examples()


@pytest.mark.parametrize("number", [1, 2, 3])
def test_each_example_runs_as_pasted(
    server: RunningServer, folder_with_a_digit: Path, number: int
) -> None:
    command = predict_examples()[number - 1]
    answer, stdout = run_as_pasted(command, server, folder_with_a_digit)
    assert answer["prediction"] == 1, stdout[:500]
    assert sum(answer["probabilities"].values()) == pytest.approx(1.0, abs=1e-6)


def test_the_adversarial_example_runs_as_pasted(server: RunningServer, tmp_path: Path) -> None:
    """docs/api.md's POST /adversarial example: the bar it sends ends up read as a 0."""
    command = first_sh_block("docs/api.md", "## POST /adversarial").strip()
    answer, stdout = run_as_pasted(command, server, tmp_path)
    assert answer["original"]["label"] == "1", stdout[:500]
    assert answer["reached"] and answer["label"] == "0", stdout[:500]


def test_the_dream_example_runs_as_pasted(server: RunningServer, tmp_path: Path) -> None:
    """docs/api.md's POST /dream example: unit 3 of the first hidden layer, dreamt."""
    command = first_sh_block("docs/api.md", "## POST /dream").strip()
    answer, stdout = run_as_pasted(command, server, tmp_path)
    assert (answer["layer"], answer["unit"]) == ("hidden_1", 3), stdout[:500]
    assert len(answer["image"]) == 28
