"""A tiny MNIST look-alike (three digits, crude strokes) and a writer of it to disk as IDX
files (gzipped or not, both file-name spellings) and Keras-layout npz, whole or deliberately
broken. The fixtures built on it are tests/training/conftest.py's.
"""

from __future__ import annotations

import gzip
import struct
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from core.mnist_data import IDX_FILES, NPZ_KEYS

# Digits per split in the tiny set. There are no 3s anywhere, for the "digit with no examples"
# errors, and the counts differ per digit so a mix-up of classes shows.
TINY_TRAIN_COUNTS = {0: 30, 1: 24, 2: 6}
TINY_TEST_COUNTS = {0: 10, 1: 8, 2: 4}

def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """An array as an IDX file: two zero bytes, a type byte, the rank, big-endian dims, data."""
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def draw_digits(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Crude, shifted, noisy 28×28 strokes (white on black) that a small net can tell apart."""
    rows, cols = np.mgrid[:28, :28]
    images = rng.integers(0, 20, size=(len(labels), 28, 28), dtype=np.uint8)
    for image, label in zip(images, labels, strict=True):
        dx, dy = rng.integers(-3, 4, size=2)
        x, y = cols - 14 - dx, rows - 14 - dy
        if label == 0:
            ink = np.abs(np.hypot(x, y / 1.3) - 7) < 1.5
        elif label == 1:
            ink = (np.abs(x) < 2) & (np.abs(y) < 10)
        else:
            ink = ((np.abs(y + 8) < 2) | (np.abs(y - 8) < 2) | (np.abs(x + y) < 2)) & (
                np.abs(x) < 8
            )
        image[ink] = rng.integers(170, 256, size=int(ink.sum()), dtype=np.uint8)
    return images


def make_tiny_mnist(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    arrays: dict[str, np.ndarray] = {}
    for split, counts in (("train", TINY_TRAIN_COUNTS), ("test", TINY_TEST_COUNTS)):
        labels = rng.permutation(np.repeat(list(counts), list(counts.values()))).astype(np.uint8)
        arrays[f"x_{split}"] = draw_digits(labels, rng)
        arrays[f"y_{split}"] = labels
    for array in arrays.values():
        array.flags.writeable = False  # shared by every test: nobody may change it
    return arrays


class MnistFiles:
    """Writes the tiny set, or a broken variant of it, into a test's tmp folder."""

    idx_bytes = staticmethod(idx_bytes)

    def __init__(self, root: Path, arrays: dict[str, np.ndarray]) -> None:
        self.root = root
        self.arrays = arrays

    def idx_folder(
        self,
        name: str = "idx",
        *,
        gzipped: bool = True,
        spelling: int = 0,
        arrays: dict[str, np.ndarray] | None = None,
        raw: dict[str, bytes] | None = None,
        omit: Iterable[str] = (),
    ) -> Path:
        """The four IDX files; ``spelling`` 0 is "train-images-idx3-ubyte", 1 the dotted
        "train-images.idx3-ubyte"; ``raw`` replaces a file's bytes (before gzipping)."""
        folder = self.root / name
        folder.mkdir(parents=True)
        arrays = {**self.arrays, **(arrays or {})}
        for key, names in IDX_FILES.items():
            if key in omit:
                continue
            content = (raw or {}).get(key, None)
            if content is None:
                content = idx_bytes(arrays[key])
            file_name = names[spelling] + (".gz" if gzipped else "")
            (folder / file_name).write_bytes(gzip.compress(content) if gzipped else content)
        return folder

    def npz(
        self,
        name: str = "mnist.npz",
        *,
        arrays: dict[str, np.ndarray] | None = None,
        omit: Iterable[str] = (),
        compressed: bool = False,
    ) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {**self.arrays, **(arrays or {})}
        kept = {key: arrays[key] for key in NPZ_KEYS if key not in omit}
        (np.savez_compressed if compressed else np.savez)(path, **kept)
        return path

    def text_file(self, name: str, text: str = "not MNIST, just some notes\n") -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path
