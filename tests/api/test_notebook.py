"""GET /models/{name}/notebook: a valid .ipynb for each served dense model, whose code is the
model's and compiles; unknown names and models it cannot rebuild get 404 with the reason.

That the notebooks run top to bottom, checks passing, is test_notebook_runs.py (slow)."""

from __future__ import annotations

import ast
import dataclasses
import json

import nbformat
import numpy as np
import pytest
from fastapi.testclient import TestClient
from project_paths import MODEL_STORE

from app.model_notebook import NotebookUnavailableError, model_notebook
from app.model_registry import LoadedModel
from core.network import Conv2DLayer, DenseLayer

# The notebook rebuilds the shipped MLPs; the shipped CNN gets 404 (tests/api/test_conv_models.py).
SHIPPED_MODELS = sorted(
    path.stem for path in MODEL_STORE.glob("*.json")
    if not json.loads(path.read_text(encoding="utf-8"))["training"].get("conv")
)


def _notebook(client: TestClient, name: str) -> nbformat.NotebookNode:
    answer = client.get(f"/models/{name}/notebook")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/x-ipynb+json"
    assert answer.headers["content-disposition"] == f'attachment; filename="{name}.ipynb"'
    notebook = nbformat.reads(answer.text, as_version=4)
    nbformat.validate(notebook)
    return notebook


def _code(notebook: nbformat.NotebookNode) -> list[str]:
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


@pytest.mark.parametrize("name", SHIPPED_MODELS)
def test_each_shipped_model_has_a_notebook_whose_code_compiles(
    client: TestClient, name: str
) -> None:
    for source in _code(_notebook(client, name)):
        ast.parse(source)  # a SyntaxError names the cell's line


@pytest.mark.parametrize("name", SHIPPED_MODELS)
def test_the_notebook_opens_the_models_own_file_and_digits(client: TestClient, name: str) -> None:
    settings = _code(_notebook(client, name))[0]
    classes = client.get(f"/models/{name}").json()["classes"]
    assert f'MODEL_FILE = "{name}.keras"' in settings
    assert f"DIGITS = {[int(label) for label in classes]}" in settings
    assert 'os.environ.get("DIGITS_DATA_DIR")' in settings


def test_the_notebook_imports_only_what_a_learner_has(client: TestClient) -> None:
    imported = set()
    for source in _code(_notebook(client, "digits-0-1")):
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                imported.add((node.module or "").split(".")[0])
    assert imported == {"gzip", "os", "time", "pathlib", "keras", "numpy", "tensorflow"}


def test_every_step_has_maths_and_shapes_in_markdown(client: TestClient) -> None:
    cells = _notebook(client, "digits-0-1").cells
    assert cells[0].cell_type == "markdown"
    # Code cells never follow one another: each step is explained first.
    kinds = [cell.cell_type for cell in cells]
    assert all(kinds[i] != kinds[i + 1] for i in range(len(kinds) - 1)), kinds
    markdown = "\n".join(cell.source for cell in cells if cell.cell_type == "markdown")
    assert "(1, 784) → (1, 25) → (1, 15) → (1, 1)" in markdown
    assert "(m, 784) → (m, 25) → (m, 15) → (m, 1)" in markdown
    assert "| hidden_1 | (784, 25) | (25,) | sigmoid |" in markdown
    assert "(25, 784), units × inputs: Keras's $W$ transposed" in markdown
    for step in ("tf.GradientTape", "mini-batch gradient descent", "one row per drawing"):
        assert step in markdown


def test_the_last_cell_prints_the_test_accuracy(client: TestClient) -> None:
    last = _code(_notebook(client, "digits-0-9"))[-1]
    assert last.splitlines()[-1].startswith('print(f"test accuracy: ')


def test_a_model_trained_elsewhere_gets_its_own_architecture(
    two_model_client: TestClient,
) -> None:
    notebook = _notebook(two_model_client, "digits-2-5-7")
    assert "DIGITS = [2, 5, 7]" in _code(notebook)[0]
    markdown = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert "784 → 12 (relu) → 3 (softmax)" in markdown
    assert "(1, 784) → (1, 12) → (1, 3)" in markdown


@pytest.mark.parametrize("name", ["digits-0-2", "x" * 5000, "%00", "digits-0-1.keras"])
def test_an_unknown_model_gets_404_naming_the_known_ones(client: TestClient, name: str) -> None:
    answer = client.get(f"/models/{name}/notebook")
    assert answer.status_code == 404
    assert "known models: digits-0-1, digits-0-9" in answer.json()["detail"]


def test_a_path_out_of_the_models_gets_404(client: TestClient) -> None:
    answer = client.get("/models/..%2F..%2Fetc%2Fpasswd/notebook")
    assert answer.status_code == 404
    assert "root:" not in answer.text


def _shipped(client: TestClient, name: str) -> LoadedModel:
    return client.app.state.registry.get(name)  # type: ignore[attr-defined]


def test_a_convolutional_layer_is_refused_with_its_kind(client: TestClient) -> None:
    model = _shipped(client, "digits-0-1")
    convolution = Conv2DLayer(
        name="conv_1",
        activation="relu",
        weights=np.zeros((3, 3, 1, 4), np.float32),
        biases=np.zeros(4, np.float32),
        strides=(1, 1),
        padding="valid",
        input_shape=(28, 28, 1),
    )
    convolutional = dataclasses.replace(model, layers=(convolution, *model.layers[1:]))
    with pytest.raises(NotebookUnavailableError, match=r"dense networks \(MLPs\) only.*conv2d"):
        model_notebook(convolutional)


def test_an_output_without_a_cross_entropy_is_refused(client: TestClient) -> None:
    model = _shipped(client, "digits-0-9")
    output = model.layers[-1]
    linear = DenseLayer(output.name, "linear", output.weights, output.biases)
    with pytest.raises(NotebookUnavailableError, match="one sigmoid output unit or a softmax"):
        model_notebook(dataclasses.replace(model, layers=(*model.layers[:-1], linear)))


def test_classes_that_are_not_digits_are_refused(client: TestClient) -> None:
    model = _shipped(client, "digits-0-1")
    with pytest.raises(NotebookUnavailableError, match="trains on MNIST digits"):
        model_notebook(dataclasses.replace(model, classes=("cat", "dog")))
