"""The digit atlas: a fixed sample of MNIST's test digits, and what a network's layers make of it.

The atlas is a few thousand test digits (uint8 28×28, their labels and their indices in MNIST's
test set) saved once beside the models (``model_store/mnist-test-atlas.npz``, written by
training/atlas.py). For one model, every layer's activations on the atlas digits of its classes
give that layer's map:

- its two principal axes (PCA: the two directions along which the digits' activations vary
  most), onto which the digits, and later any drawing, are projected exactly the same way;
- its separation: how often a digit's 5 nearest atlas neighbours in the layer's full space
  (not the 2-D map) vote for its own class, leaving the digit itself out. A number that grows
  as the classes pull apart layer by layer.

A layer's map is made the first time it is asked for (``LayerMaps``), not with the model's
atlas: a server loads only the file at start-up, and a layer nobody looks at costs nothing.

Nothing here knows about HTTP; the layers' activations come from core/network.py's own pass.
Every layer's output is read flattened, row by row, so a conv layer's (h, w, c) maps are one
vector of h·w·c numbers, as /predict sends them.

Over 300 lines because the atlas file, the PCA map, the neighbour vote and a unit's favourite
digits all read the same activations, and are followed best one after the other.
"""

from __future__ import annotations

import threading
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from core.network import Layer, as_network_input

ATLAS_FILE = "mnist-test-atlas.npz"
DIGITS_PER_CLASS = 200  # 2,000 digits: see docs/api.md for why not 5,000
ATLAS_SEED = 24
CREDIT = (
    "A sample of the MNIST test set (Yann LeCun, Corinna Cortes and Christopher J. C. Burges, "
    "http://yann.lecun.com/exdb/mnist/), licensed CC BY-SA 3.0; indices are positions in its "
    "10,000 test digits."
)
INPUT_LAYER = "input"  # the map of the pixels themselves
NEIGHBOURS_VOTING = 5  # k of the separation's k-nearest-neighbour vote
# Principal axes by subspace iteration: 2 axes plus this many more, refined this many times.
_OVERSAMPLE = 8
_ITERATIONS = 6
_BLOCK = 256  # rows of the distance matrix computed at once (256 × 2,000 floats)


class AtlasError(ValueError):
    """The atlas file is missing, unreadable or not an atlas; the message says what to do."""


@dataclass(frozen=True)
class Atlas:
    """MNIST test digits: images (n, 28, 28) uint8 white ink on black, labels (n,) uint8, and
    each one's index in MNIST's test set (n,)."""

    images: np.ndarray
    labels: np.ndarray
    indices: np.ndarray

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def of_digits(self, digits: list[int]) -> Atlas:
        """Only the digits whose label is one of ``digits``, in the same order."""
        keep = np.isin(self.labels, digits)
        return Atlas(self.images[keep], self.labels[keep], self.indices[keep])

    def pixels(self) -> np.ndarray:
        """(n, 784) float32 in [0, 1], as the network takes them (and /predict's pixels)."""
        return self.images.reshape(len(self), -1).astype(np.float32) / np.float32(255.0)


def sample_atlas(
    x_test: np.ndarray, y_test: np.ndarray, per_class: int = DIGITS_PER_CLASS,
    seed: int = ATLAS_SEED,
) -> Atlas:
    """``per_class`` test digits of each class (all of a class that has fewer), chosen at
    random with ``seed``, in the order of their MNIST index: the same sample for the same test
    set, on any machine."""
    rng = np.random.default_rng(seed)
    chosen = []
    for digit in np.unique(y_test):
        of_digit = np.flatnonzero(y_test == digit)
        chosen.append(rng.choice(of_digit, size=min(per_class, len(of_digit)), replace=False))
    indices = np.sort(np.concatenate(chosen))
    return Atlas(
        images=np.ascontiguousarray(x_test[indices], dtype=np.uint8),
        labels=np.asarray(y_test[indices], dtype=np.uint8),
        indices=indices.astype(np.int32),
    )


def save_atlas(atlas: Atlas, path: Path) -> bool:
    """Write ``atlas`` to ``path`` (compressed, with MNIST's credit inside), unless the file
    there already holds the same digits: a zip records when it was written, so writing the
    same sample again would change the committed file for nothing. True if it was written."""
    if path.is_file():
        try:
            if _same(load_atlas(path), atlas):
                return False
        except AtlasError:
            pass  # a broken file is replaced
    staging = path.with_name(f".{path.name}.saving")
    with staging.open("wb") as file:
        np.savez_compressed(
            file, images=atlas.images, labels=atlas.labels, indices=atlas.indices,
            credit=np.array(CREDIT),
        )
    staging.replace(path)
    return True


def _same(one: Atlas, other: Atlas) -> bool:
    return all(
        np.array_equal(getattr(one, name), getattr(other, name))
        for name in ("images", "labels", "indices")
    )


def load_atlas(path: Path) -> Atlas:
    """The atlas at ``path``, checked: arrays of the right kinds and shapes, nothing pickled."""
    try:
        with path.open("rb") as file, np.load(file, allow_pickle=False) as archive:
            images, labels, indices = (archive[key] for key in ("images", "labels", "indices"))
    except FileNotFoundError:
        raise AtlasError(f"{path}: missing") from None
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise AtlasError(
            f"{path}: not a digit atlas ({type(error).__name__}); write it again with "
            f"`python -m training.atlas --data DIR`"
        ) from None
    n = labels.shape[0] if labels.ndim == 1 else -1
    if (
        images.dtype != np.uint8 or images.shape != (n, 28, 28) or labels.dtype != np.uint8
        or indices.shape != (n,) or not np.issubdtype(indices.dtype, np.integer) or n < 2
        or labels.max() > 9
    ):
        raise AtlasError(
            f"{path}: expected uint8 images (n, 28, 28), uint8 labels 0–9 (n,) and integer "
            f"indices (n,); write it again with `python -m training.atlas --data DIR`"
        )
    return Atlas(images, labels, indices.astype(np.int32))


# --- one layer's map ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Projection:
    """The two principal axes of a layer's activations: a point's position on the map is
    (a − mean) · axesᵀ, for the atlas digits and any drawing alike."""

    mean: np.ndarray  # (d,)
    axes: np.ndarray  # (2, d), unit length, orthogonal
    explained_variance: tuple[float, float]  # the share of the total variance along each axis

    def project(self, activations: np.ndarray) -> np.ndarray:
        """(…, d) → (…, 2)."""
        return (activations - self.mean) @ self.axes.T


def principal_axes(activations: np.ndarray, seed: int = 0) -> Projection:
    """PCA of (n, d) activations by subspace iteration: a random block of 2 + _OVERSAMPLE
    directions, sent through XᵀX a few times, converges onto the directions of largest
    variance, and a small SVD inside that block gives the two axes. It costs a few passes over
    the data (n·d each) rather than an SVD of all of it, which for a conv layer's thousands of
    numbers per digit would take seconds. When d is small, the block spans the whole space
    and the answer is exact. Each axis's sign is fixed (its largest loading positive), so the
    map does not flip between machines."""
    mean = activations.mean(axis=0, dtype=np.float64)
    centred = (activations - mean).astype(np.float32)  # float32 halves the products' cost
    n, d = centred.shape
    total = float(np.sum(np.square(centred, dtype=np.float64)))
    width = min(2 + _OVERSAMPLE, d, n)
    start = np.random.default_rng(seed).standard_normal((d, width)).astype(np.float32)
    block = np.linalg.qr(centred @ start)[0]
    for _ in range(_ITERATIONS if width < d else 0):
        block = np.linalg.qr(centred.T @ block)[0]
        block = np.linalg.qr(centred @ block)[0]
    _, spread, directions = np.linalg.svd(
        (block.T @ centred).astype(np.float64), full_matrices=False
    )
    axes = np.zeros((2, d))
    count = min(2, directions.shape[0])
    axes[:count] = directions[:count]
    for axis in axes:
        if axis[np.argmax(np.abs(axis))] < 0:
            axis *= -1.0
    shares = [float(s * s / total) if total > 0 else 0.0 for s in spread[:count]]
    shares += [0.0] * (2 - count)
    return Projection(
        mean=mean.astype(np.float32), axes=axes.astype(np.float32),
        explained_variance=(shares[0], shares[1]),
    )


def squared_distances(queries: np.ndarray, points: np.ndarray, point_norms: np.ndarray) -> (
    np.ndarray
):
    """‖q − p‖² for every query (rows) and point (columns), as ‖q‖² − 2q·p + ‖p‖²: one matrix
    product. Cancellation can leave tiny negatives where q = p; they are clipped to 0."""
    query_norms = np.einsum("ij,ij->i", queries, queries)
    squared = query_norms[:, None] - 2.0 * (queries @ points.T) + point_norms[None, :]
    return np.maximum(squared, 0.0, out=squared)


def knn_separation(
    activations: np.ndarray, labels: np.ndarray, k: int = NEIGHBOURS_VOTING
) -> float:
    """Leave-one-out k-nearest-neighbour accuracy in the full space: the share of digits whose
    k nearest other digits vote for the digit's own class (a tie goes to the class of the
    nearer neighbours). 1.0: the classes are apart; 1/classes: mixed as by chance."""
    points = activations.astype(np.float32, copy=False)
    norms = np.einsum("ij,ij->i", points, points)
    classes = int(labels.max()) + 1
    # The nearest of the k counts a little more, so that a tie goes to the nearer side.
    weights = 1.0 + 1e-3 * np.arange(k, 0, -1)
    right = 0
    for start in range(0, len(points), _BLOCK):
        stop = min(start + _BLOCK, len(points))
        squared = squared_distances(points[start:stop], points, norms)
        squared[np.arange(stop - start), np.arange(start, stop)] = np.inf  # leave itself out
        nearest = np.argpartition(squared, k, axis=1)[:, :k]
        order = np.argsort(np.take_along_axis(squared, nearest, axis=1), axis=1)
        nearest = np.take_along_axis(nearest, order, axis=1)
        votes = np.zeros((stop - start, classes))
        np.add.at(votes, (np.arange(stop - start)[:, None], labels[nearest]), weights)
        right += int(np.sum(np.argmax(votes, axis=1) == labels[start:stop]))
    return right / len(points)


@dataclass
class LayerMap:
    """One layer as the atlas sees it: every atlas digit's activations (flattened), their
    principal axes and positions, and (computed on first use, then kept) the separation."""

    name: str
    activations: np.ndarray  # (n, d) float32
    projection: Projection
    points: np.ndarray  # (n, 2) float32
    labels: np.ndarray  # (n,) class indices of the model, for the vote
    _norms: np.ndarray = field(repr=False)
    _separation: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def of(cls, name: str, activations: np.ndarray, labels: np.ndarray) -> LayerMap:
        activations = np.ascontiguousarray(activations.reshape(len(labels), -1), np.float32)
        projection = principal_axes(activations)
        return cls(
            name=name, activations=activations, projection=projection,
            points=projection.project(activations).astype(np.float32), labels=labels,
            _norms=np.einsum("ij,ij->i", activations, activations),
        )

    @property
    def units(self) -> int:
        return int(self.activations.shape[1])

    @property
    def separation(self) -> float:
        """The k-NN vote accuracy (``knn_separation``), computed once: for 2,000 digits and a
        layer of a few hundred units, a few tenths of a second."""
        with self._lock:
            if self._separation is None:
                self._separation = knn_separation(self.activations, self.labels)
            return self._separation

    def nearest(self, activation: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``count`` atlas digits nearest to ``activation`` (d,) in the full space, nearest
        first: their positions in the atlas and their distances. Candidates come from the
        one-product formula; their distances are then computed exactly, as ‖a − p‖, so that a
        digit of the atlas finds itself at distance ~0, not at the formula's rounding."""
        query = activation.reshape(1, -1).astype(np.float32)
        squared = squared_distances(query, self.activations, self._norms)[0]
        candidates = min(len(squared), count * 4)
        shortlist = np.argpartition(squared, candidates - 1)[:candidates]
        distances = np.linalg.norm(
            self.activations[shortlist].astype(np.float64) - query.astype(np.float64), axis=1
        )
        order = np.argsort(distances, kind="stable")[:count]
        return shortlist[order], distances[order]


@dataclass(frozen=True)
class UnitProfile:
    """What one unit does over the atlas: the digits that drive it most and least, and its
    activation per class."""

    top: np.ndarray  # positions in the atlas, highest activation first
    bottom: np.ndarray  # lowest first
    activations: np.ndarray  # (n,) the unit's activation on every atlas digit
    class_means: np.ndarray  # (classes,)
    class_spreads: np.ndarray  # (classes,) standard deviations
    class_counts: np.ndarray  # (classes,)


def unit_profile(layer_map: LayerMap, unit: int, count: int = 9) -> UnitProfile:
    """The unit's ``count`` favourite and least favourite atlas digits (ties by atlas order)
    and its mean and standard deviation per class."""
    values = layer_map.activations[:, unit].astype(np.float64)
    order = np.argsort(-values, kind="stable")
    classes = int(layer_map.labels.max()) + 1
    counts = np.bincount(layer_map.labels, minlength=classes)
    sums = np.bincount(layer_map.labels, weights=values, minlength=classes)
    means = sums / np.maximum(counts, 1)
    squares = np.bincount(
        layer_map.labels, weights=(values - means[layer_map.labels]) ** 2, minlength=classes
    )
    return UnitProfile(
        top=order[:count],
        bottom=np.argsort(values, kind="stable")[:count],
        activations=values,
        class_means=means,
        class_spreads=np.sqrt(squares / np.maximum(counts, 1)),
        class_counts=counts,
    )


def highest_activation(layer_map: LayerMap, unit: int) -> float:
    """The unit's highest activation over the atlas's test digits: how high MNIST drives it
    (for comparing a dreamt image's activation with real digits' ones)."""
    return float(layer_map.activations[:, unit].max())


# --- one model's atlas ------------------------------------------------------------------------


class LayerMaps(Mapping[str, LayerMap]):
    """Every layer's map of one model's atlas digits by layer name, the input's first, then each
    layer's in order (so the last is the output's). Each map is made the first time it is asked
    for and then kept: the forward pass runs only as far as that layer, keeping no earlier
    layer's activations. That first request is the slow one: for the 16/32/64 CNN one to two and
    a half seconds per layer (the pass through its conv layers on 2,000 digits, then the PCA of
    up to 12,544 numbers per digit), for a dense network's layers a few hundredths of one.
    Listing the names or asking whether one is there computes nothing. Requests run on a thread
    pool: a lock per layer makes two first requests for one layer compute it once."""

    def __init__(
        self, atlas: Atlas, layers: tuple[Layer, ...], class_indices: np.ndarray
    ) -> None:
        self._atlas = atlas
        self._layers = layers
        self._class_indices = class_indices
        self._names = [INPUT_LAYER, *(layer.name for layer in layers)]
        self._locks = {name: threading.Lock() for name in self._names}
        self._made: dict[str, LayerMap] = {}

    def __getitem__(self, name: str) -> LayerMap:
        with self._locks[name]:  # an unknown name: KeyError, so .get() answers None
            if name not in self._made:
                self._made[name] = self._map_of(name)
            return self._made[name]

    def __contains__(self, name: object) -> bool:
        return name in self._locks

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def computed(self) -> list[str]:
        """The layers whose map has been made so far."""
        return [name for name in self._names if name in self._made]

    def _map_of(self, name: str) -> LayerMap:
        a = self._atlas.pixels()
        if name != INPUT_LAYER:
            a = as_network_input(self._layers, a)
            for layer in self._layers[: self._names.index(name)]:  # up to and with ``name``
                a = layer.forward(a).a
        return LayerMap.of(name, a, self._class_indices)


@dataclass(frozen=True)
class ModelAtlas:
    """The atlas digits of one model's classes, and every layer's map of them (``LayerMaps``:
    the input's first, then each layer's in order, each made on first use)."""

    atlas: Atlas
    class_indices: np.ndarray  # (n,) each digit's class index in the model
    maps: LayerMaps

    @property
    def layer_names(self) -> list[str]:
        return list(self.maps)

    def default_layer(self) -> str:
        """The last hidden layer: the one just before the output (the input if none)."""
        names = self.layer_names
        return names[-2] if len(names) > 2 else names[0]


def build_model_atlas(
    atlas: Atlas, layers: tuple[Layer, ...], classes: tuple[str, ...]
) -> ModelAtlas | None:
    """The atlas digits of the model's ``classes`` and their maps, each layer's made on first
    use (``LayerMaps``), so this itself is quick; None when the classes are not digits of the
    atlas (nothing to map)."""
    if not all(name.isdigit() and int(name) <= 9 for name in classes):
        return None
    digits = [int(name) for name in classes]
    own = atlas.of_digits(digits)
    if len(own) < 2:
        return None
    class_indices = np.array([digits.index(int(label)) for label in own.labels], dtype=np.int64)
    maps = LayerMaps(own, layers, class_indices)
    return ModelAtlas(atlas=own, class_indices=class_indices, maps=maps)
