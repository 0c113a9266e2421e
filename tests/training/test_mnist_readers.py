"""The IDX and npz readers: what they accept, and the one clear error for each broken input.

Over 300 lines: one test per kind of broken input, each with the error it must give.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from core.mnist_data import MNIST_NAME, DataError, load_mnist, load_npz, read_idx

if TYPE_CHECKING:
    from tiny_mnist import MnistFiles

SPLIT_KEYS = ("x_train", "y_train", "x_test", "y_test")


def assert_same_arrays(loaded: object, expected: dict[str, np.ndarray]) -> None:
    for key in SPLIT_KEYS:
        array = getattr(loaded, key)
        assert array.dtype == np.uint8, key
        np.testing.assert_array_equal(array, expected[key], err_msg=key)


# --- read_idx: one file ---------------------------------------------------------------------


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    array=arrays(np.uint8, array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=6)),
    gzipped=st.booleans(),
)
def test_read_idx_round_trips_any_unsigned_byte_array(
    tmp_path: Path, mnist_files: MnistFiles, array: np.ndarray, gzipped: bool
) -> None:
    content = mnist_files.idx_bytes(array)
    path = tmp_path / "some.idx"
    path.write_bytes(gzip.compress(content) if gzipped else content)

    loaded = read_idx(path)

    assert loaded.shape == array.shape
    np.testing.assert_array_equal(loaded, array)


@pytest.mark.parametrize(
    ("file_name", "gzipped"),
    [
        ("labels-idx1-ubyte", False),
        ("labels-idx1-ubyte.gz", True),
        ("labels-idx1-ubyte.gz", False),  # named .gz but stored plain
        ("labels-idx1-ubyte", True),  # gzipped but named without .gz
    ],
)
def test_read_idx_tells_gzip_by_its_content_not_its_name(
    tmp_path: Path, mnist_files: MnistFiles, file_name: str, gzipped: bool
) -> None:
    labels = np.array([3, 1, 4, 1, 5, 9], dtype=np.uint8)
    content = mnist_files.idx_bytes(labels)
    path = tmp_path / file_name
    path.write_bytes(gzip.compress(content) if gzipped else content)

    np.testing.assert_array_equal(read_idx(path), labels)


def replace_header(header: bytes) -> Callable[[bytes], bytes]:
    return lambda good: header + good[len(header) :]


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        pytest.param(lambda good: b"", "too short to be an IDX file (0 bytes)", id="empty"),
        pytest.param(lambda good: good[:3], "too short to be an IDX file (3 bytes)", id="3 bytes"),
        pytest.param(
            lambda good: b"hello, world\n" * 10, "wrong IDX magic number 68656c6c", id="text"
        ),
        pytest.param(replace_header(b"\x00\x00\x0d\x03"), "00000d03", id="float type"),
        pytest.param(replace_header(b"\x01\x00\x08\x03"), "01000803", id="nonzero"),
        pytest.param(replace_header(b"\x00\x00\x08\x00"), "00000800", id="rank 0"),
        pytest.param(lambda good: good[:10], "truncated inside its IDX header", id="short header"),
        pytest.param(
            lambda good: good[:-1],
            "declares shape (2, 28, 28) (1568 bytes) but holds 1567 bytes",
            id="truncated body",
        ),
        pytest.param(
            lambda good: good + b"\x00",
            "declares shape (2, 28, 28) (1568 bytes) but holds 1569 bytes",
            id="trailing bytes",
        ),
        pytest.param(
            replace_header(b"\x00\x00\x08\x03" + struct.pack(">3I", 3, 28, 28)),
            "declares shape (3, 28, 28) (2352 bytes) but holds 1568 bytes",
            id="count too big",
        ),
    ],
)
@pytest.mark.parametrize("gzipped", [False, True], ids=["plain", "gzipped"])
def test_read_idx_rejects_a_broken_file_naming_it(
    tmp_path: Path,
    mnist_files: MnistFiles,
    damage: Callable[[bytes], bytes],
    message: str,
    gzipped: bool,
) -> None:
    good = mnist_files.idx_bytes(np.zeros((2, 28, 28), dtype=np.uint8))
    content = damage(good)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(gzip.compress(content) if gzipped else content)

    with pytest.raises(DataError) as caught:
        read_idx(path)

    assert message in str(caught.value)
    assert str(caught.value).startswith("train-images-idx3-ubyte ")


def corrupt_deflate(data: bytes) -> bytes:
    broken = bytearray(data)
    for i in range(12, min(60, len(broken) - 8)):
        broken[i] ^= 0xFF
    return bytes(broken)


def flip_crc(data: bytes) -> bytes:
    broken = bytearray(data)
    broken[-8] ^= 0x01  # the CRC32 of the uncompressed data sits in the last 8 bytes
    return bytes(broken)


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda gz: gz[: len(gz) // 2], id="truncated"),
        pytest.param(corrupt_deflate, id="corrupt deflate stream"),
        pytest.param(flip_crc, id="wrong crc"),
        pytest.param(lambda gz: gz[:5], id="header only"),
    ],
)
def test_read_idx_rejects_a_broken_gzip_file(
    tmp_path: Path, mnist_files: MnistFiles, damage: Callable[[bytes], bytes]
) -> None:
    noisy = np.random.default_rng(1).integers(0, 256, (4, 28, 28), dtype=np.uint8)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(damage(gzip.compress(mnist_files.idx_bytes(noisy))))

    with pytest.raises(DataError, match=r"^t10k-images-idx3-ubyte\.gz is a broken gzip file"):
        read_idx(path)


# --- load_mnist: a folder of IDX files ------------------------------------------------------


@pytest.mark.parametrize("spelling", [0, 1], ids=["idx3-ubyte", "dotted .idx3-ubyte"])
@pytest.mark.parametrize("gzipped", [True, False], ids=["gzipped", "plain"])
def test_load_mnist_reads_an_idx_folder(
    mnist_files: MnistFiles, tiny_mnist: dict[str, np.ndarray], gzipped: bool, spelling: int
) -> None:
    folder = mnist_files.idx_folder(gzipped=gzipped, spelling=spelling)

    mnist = load_mnist(folder)

    assert mnist.format == "idx"
    assert mnist.source == MNIST_NAME  # no folder of this machine in a card
    assert_same_arrays(mnist, tiny_mnist)


def test_load_mnist_accepts_gzipped_and_plain_idx_files_side_by_side(
    mnist_files: MnistFiles, tiny_mnist: dict[str, np.ndarray]
) -> None:
    folder = mnist_files.idx_folder(gzipped=True, omit=["x_test", "y_train"])
    (folder / "t10k-images-idx3-ubyte").write_bytes(mnist_files.idx_bytes(tiny_mnist["x_test"]))
    (folder / "train-labels.idx1-ubyte").write_bytes(mnist_files.idx_bytes(tiny_mnist["y_train"]))

    assert_same_arrays(load_mnist(folder), tiny_mnist)


def test_sha256_is_the_hash_of_each_arrays_raw_bytes(
    mnist_files: MnistFiles, tiny_mnist: dict[str, np.ndarray]
) -> None:
    mnist = load_mnist(mnist_files.idx_folder())

    assert mnist.sha256() == {
        key: hashlib.sha256(tiny_mnist[key].tobytes()).hexdigest() for key in SPLIT_KEYS
    }


# --- load_mnist: npz ------------------------------------------------------------------------


@pytest.mark.parametrize("compressed", [False, True], ids=["savez", "savez_compressed"])
@pytest.mark.parametrize("point_at", ["file", "folder"])
def test_load_mnist_reads_a_keras_layout_npz(
    mnist_files: MnistFiles, tiny_mnist: dict[str, np.ndarray], compressed: bool, point_at: str
) -> None:
    path = mnist_files.npz("data/mnist.npz", compressed=compressed)

    mnist = load_mnist(path if point_at == "file" else path.parent)

    assert mnist.format == "npz"
    assert mnist.source == MNIST_NAME
    assert_same_arrays(mnist, tiny_mnist)


def test_load_mnist_reads_an_npz_file_of_any_name(
    mnist_files: MnistFiles, tiny_mnist: dict[str, np.ndarray]
) -> None:
    assert_same_arrays(load_mnist(mnist_files.npz("digits-copy.npz")), tiny_mnist)


def test_idx_and_npz_readers_give_the_same_arrays_and_hashes(mnist_files: MnistFiles) -> None:
    from_idx = load_mnist(mnist_files.idx_folder())
    from_npz = load_mnist(mnist_files.npz())

    assert_same_arrays(from_npz, {key: getattr(from_idx, key) for key in SPLIT_KEYS})
    assert from_idx.sha256() == from_npz.sha256()


def test_a_folder_with_both_layouts_is_read_as_idx(mnist_files: MnistFiles) -> None:
    folder = mnist_files.idx_folder("both")
    mnist_files.npz("both/mnist.npz", arrays={"y_test": np.zeros(22, dtype=np.uint8)})

    assert load_mnist(folder).format == "idx"


def test_a_folder_of_npz_only_ignores_stray_idx_free_files(
    mnist_files: MnistFiles, tiny_mnist: dict[str, np.ndarray]
) -> None:
    path = mnist_files.npz("mixed/mnist.npz")
    mnist_files.text_file("mixed/README.md")

    assert_same_arrays(load_mnist(path.parent), tiny_mnist)


# --- load_mnist: each error, one clear message ----------------------------------------------


def broken_images(shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    return {"x_train": np.zeros(shape, dtype=np.uint8)}


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        pytest.param(
            broken_images((60, 28, 27)),
            "train images have shape (60, 28, 27), expected (n, 28, 28)",
            id="images 28x27",
        ),
        pytest.param(
            broken_images((60, 784)),
            "train images have shape (60, 784), expected (n, 28, 28)",
            id="images flat",
        ),
        pytest.param(
            {"y_test": np.zeros((22, 1), dtype=np.uint8)},
            "test labels have shape (22, 1), expected (n,)",
            id="labels 2-d",
        ),
        pytest.param(
            broken_images((59, 28, 28)),
            "59 train images but 60 train labels; they must have the same count",
            id="train count mismatch",
        ),
        pytest.param(
            {"y_test": np.zeros(23, dtype=np.uint8)},
            "22 test images but 23 test labels; they must have the same count",
            id="test count mismatch",
        ),
        pytest.param(
            {"y_train": np.full(60, 10, dtype=np.uint8)},
            "train labels hold 10, expected digits 0-9",
            id="label 10",
        ),
    ],
)
@pytest.mark.parametrize("layout", ["idx", "npz"])
def test_load_mnist_rejects_inconsistent_arrays(
    mnist_files: MnistFiles, arrays: dict[str, np.ndarray], message: str, layout: str
) -> None:
    path = (
        mnist_files.idx_folder(arrays=arrays) if layout == "idx" else mnist_files.npz(arrays=arrays)
    )

    with pytest.raises(DataError) as caught:
        load_mnist(path)

    assert message in str(caught.value)


@pytest.mark.parametrize(
    "omit", [["y_test"], ["x_train", "x_test"]], ids=["y_test", "x_train and x_test"]
)
def test_load_mnist_rejects_an_npz_missing_a_key(mnist_files: MnistFiles, omit: list[str]) -> None:
    path = mnist_files.npz(omit=omit)

    with pytest.raises(DataError, match=f"^mnist.npz lacks {', '.join(omit)}: a Keras-layout"):
        load_mnist(path)


def truncated_npz(files: MnistFiles) -> Path:
    path = files.npz()
    path.write_bytes(path.read_bytes()[:-200])
    return path


def corrupt_compressed_npz(files: MnistFiles) -> Path:
    path = files.npz(compressed=True)
    content = bytearray(path.read_bytes())
    for i in range(200, 400):
        content[i] ^= 0x55
    path.write_bytes(bytes(content))
    return path


def zip_of_text(files: MnistFiles) -> Path:
    path = files.root / "mnist.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for key in SPLIT_KEYS:
            archive.writestr(f"{key}.npy", "not an array")
    return path


@pytest.mark.parametrize(
    ("make_path", "message"),
    [
        pytest.param(
            lambda files: files.root / "no-such-folder",
            "no-such-folder does not exist: pass --data a folder holding MNIST",
            id="missing path",
        ),
        pytest.param(
            lambda files: files.text_file("notes.txt"),
            "notes.txt is not an .npz archive",
            id="a text file",
        ),
        pytest.param(
            lambda files: files.text_file("empty/.keep").parent,
            "holds no MNIST: expected the four IDX files",
            id="a folder without MNIST",
        ),
        pytest.param(
            lambda files: files.idx_folder(omit=["y_test"]),
            "has only some of the IDX files: missing t10k-labels-idx1-ubyte",
            id="only three IDX files",
        ),
        pytest.param(
            lambda files: files.idx_folder(raw={"x_train": b"images, honest!\n" * 50}),
            "train-images-idx3-ubyte.gz has a wrong IDX magic number",
            id="a text file named as IDX",
        ),
        pytest.param(
            lambda files: files.idx_folder(
                gzipped=False, raw={"y_train": b"\x00\x00\x08\x01" + struct.pack(">I", 60)}
            ),
            "train-labels-idx1-ubyte declares shape (60,) (60 bytes) but holds 0 bytes",
            id="IDX body missing",
        ),
        pytest.param(
            lambda files: files.text_file("data/mnist.npz").parent,
            "mnist.npz is not a readable .npz archive",
            id="a text file named mnist.npz",
        ),
        pytest.param(
            lambda files: truncated_npz(files).parent,
            "mnist.npz is not a readable .npz archive",
            id="cut npz in a folder",
        ),
        pytest.param(truncated_npz, "mnist.npz is not an .npz archive", id="cut npz file"),
        pytest.param(
            corrupt_compressed_npz, "mnist.npz is not a readable .npz archive", id="corrupt npz"
        ),
        pytest.param(
            zip_of_text, "mnist.npz: x_train is not an array of whole numbers", id="zip of text"
        ),
        pytest.param(
            lambda files: files.npz(arrays={"x_test": files.arrays["x_test"] / 255.0}),
            "mnist.npz: x_test is not an array of whole numbers 0-255",
            id="float pixels in [0,1]",
        ),
        pytest.param(
            lambda files: files.npz(arrays={"y_train": files.arrays["y_train"] - 1.0}),
            "mnist.npz: y_train is not an array of whole numbers 0-255",
            id="float labels",
        ),
        pytest.param(
            lambda files: files.npz(
                arrays={"y_train": files.arrays["y_train"].astype(np.int64) - 1}
            ),
            "mnist.npz: y_train holds values outside 0-255",
            id="negative labels",
        ),
        pytest.param(
            lambda files: files.npz(
                arrays={"x_train": files.arrays["x_train"].astype(np.int32) * 2}
            ),
            "mnist.npz: x_train holds values outside 0-255",
            id="pixels above 255",
        ),
    ],
)
def test_load_mnist_rejects_what_is_not_mnist(
    mnist_files: MnistFiles, make_path: Callable[[MnistFiles], Path], message: str
) -> None:
    with pytest.raises(DataError) as caught:
        load_mnist(make_path(mnist_files))

    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_load_npz_checks_the_archive_it_is_given(mnist_files: MnistFiles) -> None:
    with pytest.raises(DataError, match="lacks x_test"):
        load_npz(mnist_files.npz(omit=["x_test"]))
