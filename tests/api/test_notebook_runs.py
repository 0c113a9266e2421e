"""The exported notebooks run top to bottom in a fresh Jupyter kernel (nbclient + ipykernel), as
a learner runs them: beside the model's unzipped download, MNIST from DIGITS_DATA_DIR
(../shared/data). Every check in them passes (a failing `assert_allclose` fails the run), and
the network each trains from scratch in NumPy reads the test digits: the 0/1 one at least 99%.
"""

from __future__ import annotations

import io
import re
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from fastapi.testclient import TestClient
from nbclient import NotebookClient
from project_paths import SHARED_DATA, SHARED_MNIST_NPZ

# The floors the from-scratch networks must reach on their digits' MNIST test images: 0 and 1
# are an easy pair; the ten-digit one trains for only a few epochs of plain gradient descent;
# the three-class one learns 2, 5 and 7 apart with one hidden layer of 12.
FLOORS = {"digits-0-1": 0.99, "digits-0-9": 0.95, "digits-2-5-7": 0.9}
CELL_TIMEOUT_S = 900

pytestmark = [
    pytest.mark.slow,
    pytest.mark.full_mnist,
    pytest.mark.skipif(not SHARED_MNIST_NPZ.is_file(), reason=f"needs {SHARED_MNIST_NPZ}"),
    pytest.mark.timeout(1800),
]


def _run_notebook(
    client: TestClient, name: str, folder: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, float]:
    """Save the notebook beside the model's unzipped download and run it in a fresh kernel;
    its printed output, and how long it ran."""
    download = client.get(f"/models/{name}/download")
    assert download.status_code == 200
    zipfile.ZipFile(io.BytesIO(download.content)).extractall(folder)
    answer = client.get(f"/models/{name}/notebook")
    assert answer.status_code == 200
    notebook = nbformat.reads(answer.text, as_version=4)
    monkeypatch.setenv("DIGITS_DATA_DIR", str(SHARED_DATA))
    # NumPy's BLAS on one thread in the kernel: beside other busy processes (the rest of a test
    # run, other suites on a shared machine) its two spinning threads slowed the ten-digit
    # training tenfold here (615 s against 56 s at a load average of 12-15).
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    started = time.perf_counter()
    NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
    ).execute()
    seconds = time.perf_counter() - started
    nbformat.write(notebook, folder / f"{name}.ipynb")  # with its outputs, to read if it fails
    printed = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.get("output_type") == "stream" and output.get("name") == "stdout"
    )
    return printed, seconds


def _check(printed: str, name: str, seconds: float) -> None:
    print(f"{name}: the notebook ran in {seconds:.0f} s\n{printed}")
    assert "NumPy's forward pass matches Keras's" in printed
    assert "every gradient matches the tape's" in printed
    found = re.findall(r"^test accuracy: (\d\.\d+)$", printed, flags=re.MULTILINE)
    assert found, printed
    assert printed.rstrip().endswith(f"test accuracy: {found[-1]}")
    assert float(found[-1]) >= FLOORS[name], printed


@pytest.mark.parametrize("name", ["digits-0-1", "digits-0-9"])
def test_the_notebook_of_each_shipped_model_runs_and_learns(
    client: TestClient, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    printed, seconds = _run_notebook(client, name, tmp_path, monkeypatch)
    _check(printed, name, seconds)


def test_the_notebook_of_another_architecture_runs_and_learns(
    two_model_client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    printed, seconds = _run_notebook(two_model_client, "digits-2-5-7", tmp_path, monkeypatch)
    _check(printed, "digits-2-5-7", seconds)
