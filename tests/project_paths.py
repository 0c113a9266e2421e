"""Where the suite finds the project and the data beside it: one definition for every test.

MNIST lives in ../shared/data beside the project's root (not committed); tests that need it skip
when it is absent, except in CI, which has it.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
MODEL_STORE = REPO_ROOT / "model_store"
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
SHARED_MNIST_NPZ = SHARED_DATA / "mnist.npz"
