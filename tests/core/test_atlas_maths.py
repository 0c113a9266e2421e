"""core/atlas.py's pure pieces: the sample, its file, PCA by subspace iteration against an
exact SVD, the k-nearest-neighbour separation on data whose answer is known, a unit's extremes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.atlas import (
    AtlasError,
    LayerMap,
    knn_separation,
    load_atlas,
    principal_axes,
    sample_atlas,
    save_atlas,
    unit_profile,
)


def _test_set(n: int = 600) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), np.arange(n, dtype=np.uint8) % 10


def test_the_sample_is_the_same_for_the_same_test_set_and_balanced() -> None:
    images, labels = _test_set()
    one, other = sample_atlas(images, labels, per_class=20), sample_atlas(images, labels, 20)
    np.testing.assert_array_equal(one.indices, other.indices)
    assert np.all(np.diff(one.indices) > 0)
    assert np.all(np.bincount(one.labels) == 20)
    np.testing.assert_array_equal(one.images, images[one.indices])


def test_saving_the_same_sample_again_leaves_the_file_alone(tmp_path: Path) -> None:
    atlas = sample_atlas(*_test_set(), per_class=5)
    path = tmp_path / "atlas.npz"
    assert save_atlas(atlas, path)
    written = path.read_bytes()
    assert not save_atlas(atlas, path)
    assert path.read_bytes() == written
    loaded = load_atlas(path)
    np.testing.assert_array_equal(loaded.images, atlas.images)
    np.testing.assert_array_equal(loaded.indices, atlas.indices)


def test_a_file_of_the_wrong_shapes_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "atlas.npz"
    np.savez(path, images=np.zeros((3, 28, 27), np.uint8), labels=np.zeros(3, np.uint8),
             indices=np.arange(3))
    with pytest.raises(AtlasError, match="expected uint8 images"):
        load_atlas(path)


@pytest.mark.parametrize("d", [1, 2, 5, 40, 300])
def test_principal_axes_match_an_exact_svd(d: int) -> None:
    rng = np.random.default_rng(d)
    scales = 10.0 / (1.0 + np.arange(d))  # variance falling as a layer's does, 1/i²
    data = (rng.standard_normal((500, d)) * scales) @ np.linalg.qr(rng.standard_normal((d, d)))[0]
    projection = principal_axes(data.astype(np.float32))
    centred = data - data.mean(axis=0)
    _, spread, directions = np.linalg.svd(centred, full_matrices=False)
    for axis in range(min(2, d)):
        assert abs(float(projection.axes[axis] @ directions[axis])) == pytest.approx(1.0, abs=1e-4)
        share = spread[axis] ** 2 / np.sum(spread**2)
        assert projection.explained_variance[axis] == pytest.approx(share, rel=1e-4)
    if d == 1:
        assert projection.explained_variance[1] == 0.0
        assert not np.any(projection.axes[1])


def test_separation_is_one_for_far_apart_classes_and_near_chance_for_mixed_ones() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 100)
    apart = rng.standard_normal((400, 6)) * 0.1 + labels[:, None] * 10.0
    assert knn_separation(apart, labels) == 1.0
    mixed = rng.standard_normal((400, 6))
    assert knn_separation(mixed, labels) < 0.45


def test_separation_leaves_each_point_out() -> None:
    """Two points per class, far from the others: with itself left out, each point's nearest
    is its twin; k = 1 must then be right for all."""
    points = np.array([[0.0], [0.1], [5.0], [5.1]])
    labels = np.array([0, 0, 1, 1])
    assert knn_separation(points, labels, k=1) == 1.0


def test_a_unit_profile_lists_its_extremes_and_class_means() -> None:
    activations = np.array([[0.5], [2.0], [-1.0], [3.0]], dtype=np.float32)
    labels = np.array([0, 1, 0, 1])
    profile = unit_profile(LayerMap.of("layer", activations, labels), 0, count=2)
    assert profile.top.tolist() == [3, 1]
    assert profile.bottom.tolist() == [2, 0]
    np.testing.assert_allclose(profile.class_means, [-0.25, 2.5])
    np.testing.assert_allclose(profile.class_spreads, [0.75, 0.5])
