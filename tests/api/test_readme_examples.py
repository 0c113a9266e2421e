"""The README's three `curl` examples for POST /predict run as pasted, against a real server (curl
needs one), from a folder holding a `digit.png`, as a reader would run them."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from live_server import RunningServer, running_server
from PIL import Image, ImageDraw

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(300),
    pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed"),
]

README = Path(__file__).resolve().parents[2] / "README.md"
DOCUMENTED_ADDRESS = "localhost:8000"


def rest_api_examples() -> list[str]:
    """The commands of the sh block under "## The REST API", one per numbered comment."""
    section = README.read_text(encoding="utf-8").split("## The REST API", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    examples = re.split(r"^# \d\. .*\n(?:#.*\n)*", block, flags=re.MULTILINE)
    return [example.strip() for example in examples if example.strip()]


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


def test_the_readme_shows_three_examples() -> None:
    assert len(rest_api_examples()) == 3


@pytest.mark.parametrize("number", [1, 2, 3])
def test_each_readme_example_runs_as_pasted(
    server: RunningServer, folder_with_a_digit: Path, number: int
) -> None:
    command = rest_api_examples()[number - 1]
    assert DOCUMENTED_ADDRESS in command
    run = subprocess.run(
        ["bash", "-c", command.replace(DOCUMENTED_ADDRESS, f"{server.host}:{server.port}")],
        cwd=folder_with_a_digit,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)
    assert answer["prediction"] == 1, run.stdout[:500]
    assert sum(answer["probabilities"].values()) == pytest.approx(1.0, abs=1e-6)
