"""Read MNIST from the files it is published as, with errors that say what to fix.

Two layouts are understood, chosen by what the folder holds:
- the four IDX files of LeCun et al. (``train-images-idx3-ubyte`` …, gzipped or not);
- Keras's ``mnist.npz`` (``x_train``, ``y_train``, ``x_test``, ``y_test``).

IDX format (http://yann.lecun.com/exdb/mnist/): a big-endian header of two zero bytes, a type
byte (0x08 = unsigned byte), a byte giving the number of dimensions, then one uint32 per
dimension, then the data in C order.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGE_SIDE = 28
IDX_UBYTE = 0x08

# Each split's two files, as published; some mirrors write "images.idx3" with a dot.
IDX_FILES = {
    "x_train": ("train-images-idx3-ubyte", "train-images.idx3-ubyte"),
    "y_train": ("train-labels-idx1-ubyte", "train-labels.idx1-ubyte"),
    "x_test": ("t10k-images-idx3-ubyte", "t10k-images.idx3-ubyte"),
    "y_test": ("t10k-labels-idx1-ubyte", "t10k-labels.idx1-ubyte"),
}
NPZ_NAME = "mnist.npz"
MNIST_NAME = "MNIST (LeCun, Cortes and Burges)"
NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


class DataError(Exception):
    """The data set is missing or malformed; the message says what to fix."""


@dataclass(frozen=True)
class Mnist:
    """MNIST as loaded: images (n, 28, 28) uint8 with white ink on black, labels (n,) uint8."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    # The data set's name, for the model card: which folder of which machine held it is nobody
    # else's business (the card is served with the model); `format` and the files' sha256 say
    # exactly which copy it was.
    source: str
    format: str  # "idx", "npz" or "keras"

    def sha256(self) -> dict[str, str]:
        """The sha256 of each array's raw bytes (as listed in the data set's README)."""
        return {
            key: hashlib.sha256(np.ascontiguousarray(getattr(self, key)).tobytes()).hexdigest()
            for key in NPZ_KEYS
        }


def load_mnist(path: Path | None) -> Mnist:
    """Load MNIST from a folder (IDX files or mnist.npz), an .npz file, or Keras's downloader."""
    if path is None:
        return _download_with_keras()
    if not path.exists():
        raise DataError(f"{path} does not exist: pass --data a folder holding MNIST")
    if path.is_file():
        if _is_npz(path):
            return load_npz(path)
        raise DataError(
            f"{path} is not an .npz archive: pass --data a folder of the four IDX files "
            f"or a Keras-layout mnist.npz"
        )
    idx_paths = {key: _find_idx_file(path, names) for key, names in IDX_FILES.items()}
    if all(idx_paths.values()):
        return load_idx_folder(idx_paths)  # type: ignore[arg-type]
    if (path / NPZ_NAME).is_file():
        return load_npz(path / NPZ_NAME)
    found = [key for key, p in idx_paths.items() if p]
    if found:
        missing = [IDX_FILES[key][0] for key, p in idx_paths.items() if not p]
        raise DataError(f"{path} has only some of the IDX files: missing {', '.join(missing)}")
    raise DataError(
        f"{path} holds no MNIST: expected the four IDX files "
        f"(train-images-idx3-ubyte[.gz], …) or {NPZ_NAME}"
    )


def load_idx_folder(paths: dict[str, Path]) -> Mnist:
    arrays = {key: read_idx(p) for key, p in paths.items()}
    for split in ("train", "test"):
        _check_pair(arrays[f"x_{split}"], arrays[f"y_{split}"], split, paths[f"x_{split}"].parent)
    return Mnist(**arrays, source=MNIST_NAME, format="idx")


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (gzipped or not) into an array of its declared shape."""
    raw = _read_maybe_gzipped(path)
    if len(raw) < 4:
        raise DataError(f"{path.name} is too short to be an IDX file ({len(raw)} bytes)")
    zero1, zero2, dtype_code, ndim = raw[0], raw[1], raw[2], raw[3]
    if zero1 != 0 or zero2 != 0 or dtype_code != IDX_UBYTE or ndim == 0:
        raise DataError(
            f"{path.name} has a wrong IDX magic number {raw[:4].hex()}: "
            f"expected 00000801 (labels) or 00000803 (images) for unsigned bytes"
        )
    header_end = 4 + 4 * ndim
    if len(raw) < header_end:
        raise DataError(f"{path.name} is truncated inside its IDX header")
    shape = struct.unpack(f">{ndim}I", raw[4:header_end])
    expected = int(np.prod(shape, dtype=np.int64))
    body = len(raw) - header_end
    if body != expected:
        raise DataError(
            f"{path.name} declares shape {shape} ({expected} bytes) but holds {body} bytes of data"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_end).reshape(shape)


def load_npz(path: Path) -> Mnist:
    try:
        # Opened here, not by np.load, which leaves the file open when the archive is damaged.
        with path.open("rb") as handle, np.load(handle, allow_pickle=False) as archive:
            missing = [key for key in NPZ_KEYS if key not in archive.files]
            if missing:
                raise DataError(
                    f"{path.name} lacks {', '.join(missing)}: a Keras-layout mnist.npz "
                    f"holds x_train, y_train, x_test and y_test"
                )
            arrays = {key: archive[key] for key in NPZ_KEYS}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, zlib.error) as error:
        raise DataError(f"{path.name} is not a readable .npz archive ({error})") from None
    for key, value in arrays.items():
        # A member that is not .npy comes back as bytes; floats would be cast to uint8 silently.
        if not isinstance(value, np.ndarray) or not np.issubdtype(value.dtype, np.integer):
            raise DataError(f"{path.name}: {key} is not an array of whole numbers 0-255")
        if value.size and (int(value.min()) < 0 or int(value.max()) > 255):
            raise DataError(f"{path.name}: {key} holds values outside 0-255")
    for split in ("train", "test"):
        _check_pair(arrays[f"x_{split}"], arrays[f"y_{split}"], split, path)
    arrays = {key: np.asarray(value, dtype=np.uint8) for key, value in arrays.items()}
    return Mnist(**arrays, source=MNIST_NAME, format="npz")


def _download_with_keras() -> Mnist:
    import keras  # imported here: loading local files should not pay for Keras

    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as error:
        raise DataError(
            f"could not download MNIST with Keras ({error}): pass --data a folder holding it"
        ) from None
    return Mnist(x_train, y_train, x_test, y_test, source=MNIST_NAME, format="keras")


def _check_pair(images: np.ndarray, labels: np.ndarray, split: str, where: Path) -> None:
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise DataError(f"{where}: {split} images have shape {images.shape}, expected (n, 28, 28)")
    if labels.ndim != 1:
        raise DataError(f"{where}: {split} labels have shape {labels.shape}, expected (n,)")
    if len(images) != len(labels):
        raise DataError(
            f"{where}: {len(images)} {split} images but {len(labels)} {split} labels; "
            f"they must have the same count"
        )
    if len(labels) and int(labels.max()) > 9:
        raise DataError(f"{where}: {split} labels hold {int(labels.max())}, expected digits 0-9")


def _find_idx_file(folder: Path, names: tuple[str, ...]) -> Path | None:
    for name in names:
        for candidate in (folder / name, folder / f"{name}.gz"):
            if candidate.is_file():
                return candidate
    return None


def _read_maybe_gzipped(path: Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip's magic number, whatever the file is called
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as error:
            raise DataError(f"{path.name} is a broken gzip file ({error})") from None
    return raw


def _is_npz(path: Path) -> bool:
    return zipfile.is_zipfile(path)
