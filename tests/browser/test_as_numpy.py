""""As NumPy" (real Chromium, the real server): the current model's forward pass for the drawing as
a copyable NumPy script with this network's real shapes, and in Teach it the backward pass for
the chosen target; the script, run by Python beside the model's .keras file, reproduces the
page's answer and loss (its own asserts); the model's download and its notebook linked beside
it; by keyboard, on a phone, axe-clean.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from page_actions import (
    ANSWER_TIMEOUT_MS,
    ONE,
    draw_with_mouse,
    expect,
    expect_prediction,
    open_app_and_draw,
    open_section,
    tap,
)
from project_paths import MODEL_STORE

pytestmark = pytest.mark.browser

SCRIPT_TIMEOUT_S = 300  # importing Keras takes seconds, more on a busy machine


def script_text(page: Any) -> str:
    return page.locator("#as-numpy-code").text_content()


def run_script(script: str, model: str, folder: Path) -> str:
    """Run the page's script with this venv's Python beside a copy of the model's .keras file
    (what the download holds); fails with its output if any of its checks fails."""
    shutil.copy(MODEL_STORE / f"{model}.keras", folder / f"{model}.keras")
    (folder / "forward.py").write_text(script, encoding="utf-8")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "OPENBLAS_NUM_THREADS": "1"}
    ran = subprocess.run(
        [sys.executable, "forward.py"], cwd=folder, env=env, capture_output=True, text=True,
        timeout=SCRIPT_TIMEOUT_S, check=False,
    )
    assert ran.returncode == 0, f"the page's script failed:\n{script}\n{ran.stdout}\n{ran.stderr}"
    return ran.stdout


def choose_target(page: Any, label: str) -> None:
    page.locator(f'#teach-panel .class-button[data-class="{label}"]').click()
    expect(page.locator("#as-numpy-code")).to_contain_text(
        f"The backward pass for “{label}”", timeout=ANSWER_TIMEOUT_MS
    )


def test_the_forward_pass_as_numpy_reproduces_the_pages_answer(
    page: Any, assert_accessible: Any, tmp_path: Path
) -> None:
    open_app_and_draw(page, ONE, "1")
    code = page.locator("#as-numpy-code")
    expect(code).to_contain_text("np.testing.assert_allclose(a3")
    script = script_text(page)
    for line in (
        "W1, b1 = dense[0].get_weights()  # (784, 25), (25,)",
        "W3, b3 = dense[2].get_weights()  # (15, 1), (1,)",
        "# (1, 784) @ (784, 25) + (25,) → (1, 25)",
        "# (1, 15) @ (15, 1) + (1,) → (1, 1)",
        "a2 = sigmoid(z2)",
    ):
        assert line in script, script
    assert "backward" not in script
    run_script(script, "digits-0-1", tmp_path)

    download = page.locator("#model-download")
    expect(download).to_have_attribute("href", "/models/digits-0-1/download")
    notebook = page.locator("#model-notebook")
    expect(notebook).to_have_attribute("href", "/models/digits-0-1/notebook")
    answer = page.request.get(notebook.get_attribute("href"))
    assert answer.status == 200 and answer.headers["content-type"] == "application/x-ipynb+json"
    assert_accessible(page, "As NumPy after a drawn 1")


def test_teach_it_adds_the_backward_pass_for_the_target(page: Any, tmp_path: Path) -> None:
    open_app_and_draw(page, ONE, "1")
    open_section(page, "teach")
    choose_target(page, "0")
    script = script_text(page)
    for line in (
        "y = np.array([[0.0]], dtype=np.float32)",
        "d2 = (d3 @ W3.T) * a2 * (1 - a2)",
        "dW1 = x.T @ d1",
        "# (784, 1) @ (1, 25) → (784, 25), like W1",
    ):
        assert line in script, script
    run_script(script, "digits-0-1", tmp_path)

    page.locator("#teach-forward").click()
    expect(page.locator("#as-numpy-code")).not_to_contain_text("backward pass")


def test_the_ten_digit_model_softmax_and_relu(page: Any, tmp_path: Path) -> None:
    page.goto("/#teach?model=digits-0-9")
    # The ten-digit model's diagram, not the default model's drawn before it arrived.
    expect(page.locator('#network-diagram g.unit[data-layer="2"][data-unit="9"]')).to_be_attached()
    draw_with_mouse(page, ONE)
    expect_prediction(page, "1")
    choose_target(page, "7")
    script = script_text(page)
    for line in ("def softmax(z):", "a1 = relu(z1)", "d2 = (d3 @ W3.T) * (z2 > 0)", "log_p ="):
        assert line in script, script
    run_script(script, "digits-0-9", tmp_path)


def test_copy_by_keyboard(page: Any) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_app_and_draw(page, ONE, "1")
    page.locator("#model-notebook").focus()
    page.keyboard.press("Tab")
    expect(page.locator("#as-numpy-copy")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#as-numpy-copied")).to_have_text("Copied.")
    assert page.evaluate("navigator.clipboard.readText()") == script_text(page)
    page.keyboard.press("Tab")
    expect(page.locator(".as-numpy-script")).to_be_focused()  # the script scrolls by keyboard


def test_as_numpy_on_a_phone(phone_page: Any, assert_accessible: Any) -> None:
    page = phone_page
    open_app_and_draw(page, ONE, "1", touch=True)
    expect(page.locator("#as-numpy-code")).to_contain_text("assert_allclose")
    tap(page.locator("#as-numpy-copy"))
    expect(page.locator("#as-numpy-copied")).not_to_be_empty()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the script makes the page scroll sideways ({width} px)"
    assert_accessible(page, "As NumPy on a phone")
