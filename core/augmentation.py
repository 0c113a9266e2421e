"""Fresh variations of MNIST digits for training, and a harder set of them for testing.

Everything works on batches of 28×28 uint8 digits in MNIST form (white ink on black) and
returns the same: the digit is changed, then brought back to MNIST form the way
core/mnist_form.py brings a drawing there, with its constants (ink below 20% of the peak
dropped, the ink's box scaled so its longer side is 20 px, the strongest ink 255, the centre of
mass in the middle of the 28×28 field), so that what the network trains on looks like what the
app will show it. `to_mnist_form` is that form vectorised over a batch, in float and with
sub-pixel centring; tests/training/test_augmentation.py holds the two to a stated agreement.

The changes, each drawn per image from a named range (`Strengths`):
- writing styles MNIST has few of (core/writing_styles.py): 1s with a flag and a foot, 7s with
  a crossbar, 4s closed at the top;
- stroke thickness, thicker and thinner: grey-level dilation or erosion by a 2×2 square (one
  pixel of width per step), blended for fractions of a pixel;
- rotation, slant (a horizontal shear), scaling of width and height, and an elastic distortion
  (Simard, Steinkraus & Platt, ICDAR 2003: a smooth random displacement field, here bilinearly
  interpolated from a coarse grid of random knots), all in one bilinear resampling;
- blur: a Gaussian of random width, as a low-resolution scan looks after scaling up;
- after the MNIST form, small shifts and zooms, so the network does not rely on the exact
  centring.

Pure NumPy and vectorised over the batch: augment() does ~60,000 digits in a few seconds on one
core. Randomness comes only from the generator passed in, so a seed gives the same images.
(A little over 300 lines: the changes share their sampling and are read best side by side.)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from core import writing_styles
from core.mnist_form import DIGIT_BOX_SIDE, FIELD_SIDE, NOISE_FLOOR_FRACTION

_CANVAS = 34  # the warp draws onto a larger field, so a grown digit is not cut off
_CORE_PIXELS = 10  # MNIST's digits have at least this many pixels of full ink
_ELASTIC_KNOTS = 4  # knots per side of the coarse grid of random displacements


@dataclass(frozen=True)
class Strengths:
    """How strongly each change is drawn; each is uniform in ±value (or the range given)."""

    rotation_degrees: float = 12.0
    slant: float = 0.3  # horizontal shear: column offset per row, relative to the centre
    stretch: float = 0.15  # log-uniform scaling of width and of height, each ±15%
    thickness_px: tuple[float, float] = (-1.0, 2.0)  # thinner ... thicker, in pixels of width
    elastic_px: float = 1.2  # standard deviation of the knots' displacements
    blur_probability: float = 0.3
    blur_sigma_px: tuple[float, float] = (0.4, 1.0)
    shift_px: float = 1.0  # after the MNIST form: the centre of mass moved by up to this
    zoom: float = 0.08  # after the MNIST form: the 20 px box scaled by up to ±8%
    style_probability: float = 0.3  # share of 1s, 7s and 4s given a variant writing style

    def as_card(self) -> dict[str, object]:
        """The settings as the model card records them."""
        return {key: list(v) if isinstance(v, tuple) else v for key, v in asdict(self).items()}


# What the shipped models train with.
TRAINING = Strengths()
# The shifted test set: the same kinds of change, with ranges beyond training's (see
# shifted_test_set).
SHIFTED = replace(
    TRAINING,
    rotation_degrees=16.0,
    slant=0.4,
    stretch=0.2,
    thickness_px=(-1.0, 2.5),
    elastic_px=1.5,
    blur_probability=0.4,
    blur_sigma_px=(0.5, 1.3),
    shift_px=1.5,
    zoom=0.1,
    style_probability=0.4,
)
SHIFTED_TEST_SEED = 20_150
_SHIFTED_BLOCK = 1000


def augment(images: np.ndarray, labels: np.ndarray, rng: np.random.Generator,
            strengths: Strengths = TRAINING) -> np.ndarray:
    """A freshly changed copy of each digit (n, 28, 28) uint8, in MNIST form. `labels` are
    the digits shown (any other number: no writing-style variant). Meant for batches of up
    to a few thousand digits: it works on all of them at once."""
    _check_batch(images)
    n = len(images)
    x = images.astype(np.float32) * np.float32(1 / 255)
    x = writing_styles.add_variants(x, labels, rng, strengths.style_probability)
    low, high = strengths.thickness_px
    x = change_thickness(x, rng.uniform(low, high, n))
    x = warp(
        x,
        rotation_degrees=rng.uniform(-1, 1, n) * strengths.rotation_degrees,
        slant=rng.uniform(-1, 1, n) * strengths.slant,
        stretch_x=np.exp(rng.uniform(-1, 1, n) * np.log1p(strengths.stretch)),
        stretch_y=np.exp(rng.uniform(-1, 1, n) * np.log1p(strengths.stretch)),
        knots=rng.normal(0, strengths.elastic_px, (n, 2, _ELASTIC_KNOTS, _ELASTIC_KNOTS)),
    )
    blurred = np.flatnonzero(rng.random(n) < strengths.blur_probability)
    sigma = rng.uniform(*strengths.blur_sigma_px, n)
    if len(blurred):
        x[blurred] = blur(x[blurred], sigma[blurred])
    x = to_mnist_form(
        x,
        zoom=np.exp(rng.uniform(-1, 1, n) * np.log1p(strengths.zoom)),
        shift=rng.uniform(-1, 1, (n, 2)) * strengths.shift_px,
    )
    return as_uint8(x)


def shifted_test_set(images: np.ndarray, labels: np.ndarray,
                     seed: int = SHIFTED_TEST_SEED) -> np.ndarray:
    """MNIST test digits changed beyond training's ranges: the same images on every run.

    Every change is drawn from SHIFTED's wider ranges (rotation ±16° against training's ±12°,
    slant ±0.4 against ±0.3, strokes up to 2.5 px thicker against 2, ...), so most images
    carry at least one change stronger than any seen in training, yet stay readable (wider
    still, many 0s squashed and thickened into blobs that no reader would call a 0). Made in
    fixed blocks of _SHIFTED_BLOCK images, each with its own seeded generator, to bound the
    memory.
    """
    _check_batch(images)
    blocks = [
        augment(images[start : start + _SHIFTED_BLOCK], labels[start : start + _SHIFTED_BLOCK],
                np.random.default_rng([seed, start // _SHIFTED_BLOCK]), SHIFTED)
        for start in range(0, len(images), _SHIFTED_BLOCK)
    ]
    return np.concatenate(blocks) if blocks else images.copy()


def as_uint8(x: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(x, 0.0, 1.0) * 255).astype(np.uint8)


def _check_batch(images: np.ndarray) -> None:
    if images.ndim != 3 or images.shape[1:] != (FIELD_SIDE, FIELD_SIDE) or images.dtype != np.uint8:
        raise ValueError(
            f"augment expects uint8 digits of shape (n, 28, 28), got {images.dtype} "
            f"{images.shape}"
        )


# ---------------------------------------------------------------------------------------------
# The single changes: each takes float32 (n, h, w) in [0, 1] and one value per image.


def change_thickness(x: np.ndarray, pixels: np.ndarray) -> np.ndarray:
    """Strokes `pixels` wider (> 0) or narrower (< 0): whole steps of a 2×2 dilation or
    erosion, then a blend towards one more step for the fraction, and the strokes' cores
    brought back to full ink. Dilation alternates between growing down-right and up-left, so
    a thick stroke stays where it was."""
    pixels = np.asarray(pixels, dtype=np.float32)
    out = x.copy()
    for grow in (True, False):
        chosen = np.flatnonzero(pixels > 0 if grow else pixels < 0)
        if not len(chosen):
            continue
        amounts = np.abs(pixels[chosen])
        part = out[chosen]
        for step in range(int(np.ceil(amounts.max()))):
            amount = np.clip(amounts - step, 0.0, 1.0)[:, None, None]
            target = _dilate_2x2(part, up_left=step % 2 == 1) if grow else _erode_2x2(part)
            part += amount * (target - part)
        out[chosen] = part
    return _restore_contrast(out)


def _restore_contrast(x: np.ndarray) -> np.ndarray:
    """Stretch each image so its 10th-brightest pixel is full ink, as the cores of MNIST's
    strokes are: a thinned or blurred stroke keeps its width but not its paleness."""
    n = len(x)
    tenth = -np.partition(-x.reshape(n, -1), _CORE_PIXELS - 1, axis=1)[:, _CORE_PIXELS - 1]
    gain = 1.0 / np.maximum(tenth, 0.05)
    return np.minimum(x * gain[:, None, None], 1.0)


def _dilate_2x2(x: np.ndarray, up_left: bool) -> np.ndarray:
    padded = np.pad(x, ((0, 0), (1, 1), (1, 1)))
    o = 2 if up_left else 0  # which neighbours: the pixel and those below-right or above-left
    h, w = x.shape[1:]
    return np.maximum(
        np.maximum(padded[:, 1 : 1 + h, 1 : 1 + w], padded[:, o : o + h, 1 : 1 + w]),
        np.maximum(padded[:, 1 : 1 + h, o : o + w], padded[:, o : o + h, o : o + w]),
    )


def _erode_2x2(x: np.ndarray) -> np.ndarray:
    padded = np.pad(x, ((0, 0), (0, 1), (0, 1)))
    h, w = x.shape[1:]
    return np.minimum(
        np.minimum(padded[:, :h, :w], padded[:, 1:, :w]),
        np.minimum(padded[:, :h, 1:], padded[:, 1:, 1:]),
    )


def warp(x: np.ndarray, rotation_degrees: np.ndarray, slant: np.ndarray,
         stretch_x: np.ndarray, stretch_y: np.ndarray,
         knots: np.ndarray | None = None) -> np.ndarray:
    """Rotate (positive = anticlockwise as seen), slant (positive = top leans right), stretch,
    and displace by a smooth field, all about each digit's centre of mass, onto a 34×34 field
    with the centre of mass in its middle. `knots` (n, 2, k, k): row and column displacements
    in pixels at a k×k grid spanning the field."""
    n = len(x)
    centre_row, centre_col = _centre_of_mass(x)
    theta = np.radians(rotation_degrees)
    cos, sin = np.cos(theta), np.sin(theta)
    # Forward map (about the centre, rows down): stretch, then slant, then rotate.
    # Inverted for sampling: where in the source does each output pixel come from?
    forward = np.empty((n, 2, 2))
    forward[:, 0, 0], forward[:, 0, 1] = stretch_y, 0.0
    forward[:, 1, 0], forward[:, 1, 1] = -slant * stretch_y, stretch_x
    rotate = np.stack([np.stack([cos, -sin], -1), np.stack([sin, cos], -1)], 1)
    inverse = np.linalg.inv(rotate @ forward).astype(np.float32)

    half = (_CANVAS - 1) / 2
    grid = np.arange(_CANVAS, dtype=np.float32) - half
    out_rows, out_cols = np.meshgrid(grid, grid, indexing="ij")
    if knots is not None:
        out_rows = out_rows + _upsample_knots(knots[:, 0])
        out_cols = out_cols + _upsample_knots(knots[:, 1])
    else:
        out_rows, out_cols = out_rows[None], out_cols[None]
    src_rows = inverse[:, 0, 0, None, None] * out_rows + inverse[:, 0, 1, None, None] * out_cols
    src_cols = inverse[:, 1, 0, None, None] * out_rows + inverse[:, 1, 1, None, None] * out_cols
    src_rows += centre_row.astype(np.float32)[:, None, None]
    src_cols += centre_col.astype(np.float32)[:, None, None]
    return sample_bilinear(x, src_rows, src_cols)


def _upsample_knots(knots: np.ndarray) -> np.ndarray:
    """(n, k, k) displacements at knots spread over the field → (n, 34, 34), bilinearly."""
    k = knots.shape[-1]
    position = np.linspace(0, k - 1, _CANVAS)
    spread = np.maximum(1.0 - np.abs(position[:, None] - np.arange(k)[None]), 0.0)
    spread = spread.astype(np.float32)  # (34, k): each row the linear weights of its knots
    return spread @ knots.astype(np.float32) @ spread.T


def sample_bilinear(x: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """x (n, h, w) read at fractional (rows, cols) (n, H, W), pixel centres at whole numbers;
    outside the image is 0."""
    n, h, w = x.shape
    stride = w + 3  # one zero column before the image, two after: every read stays inside
    padded = np.pad(x, ((0, 0), (1, 2), (1, 2))).reshape(-1)
    rows = np.clip(rows, -1, h, dtype=np.float32)
    cols = np.clip(cols, -1, w, dtype=np.float32)
    row0, col0 = np.floor(rows), np.floor(cols)
    fr, fc = rows - row0, cols - col0
    # int32 indices: converting floats to them is ~15× faster than to int64 here.
    first = (np.arange(n, dtype=np.int32) * (h + 3) * stride + stride + 1)[:, None, None]
    index = first + row0.astype(np.int32) * np.int32(stride) + col0.astype(np.int32)
    # The four neighbours through `take` on shifted views: a third faster than indexing with
    # index + 1, index + stride, ... (the same values).
    top_left, top_right = padded.take(index), padded[1:].take(index)
    bottom_left, bottom_right = padded[stride:].take(index), padded[stride + 1 :].take(index)
    top = top_left + (top_right - top_left) * fc
    bottom = bottom_left + (bottom_right - bottom_left) * fc
    return top + (bottom - top) * fr


def blur(x: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """A Gaussian blur of `sigma` pixels per image (0 = unchanged), separable, radius 3."""
    sigma = np.asarray(sigma, dtype=np.float64)
    offsets = np.arange(-3, 4)
    weights = np.exp(-0.5 * (offsets / np.maximum(sigma, 1e-6)[:, None]) ** 2)
    weights = (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)
    h, w = x.shape[1:]
    padded = np.pad(x, ((0, 0), (3, 3), (0, 0)))
    x = sum(weights[:, i, None, None] * padded[:, i : i + h] for i in range(7))
    padded = np.pad(x, ((0, 0), (0, 0), (3, 3)))
    return sum(weights[:, i, None, None] * padded[:, :, i : i + w] for i in range(7))


def to_mnist_form(x: np.ndarray, zoom: np.ndarray | None = None,
                  shift: np.ndarray | None = None) -> np.ndarray:
    """(n, h, w) float → (n, 28, 28) in MNIST form, as the app makes it: ink below 20% of each
    image's peak dropped and the rest stretched to [0, 1], the ink's box scaled so its longer
    side is 20 px (× zoom), its centre of mass at (14, 14) + shift (MNIST's mean, where the
    app puts it too), the strongest ink 1. Images without ink come back black.

    Only scaling and moving: one resampling matrix per axis and image, with a triangle filter
    widened when shrinking, so a digit that grew in the warp is averaged rather than aliased."""
    n = len(x)
    peak = x.reshape(n, -1).max(axis=1)
    floor = (NOISE_FLOOR_FRACTION * peak)[:, None, None]
    span = np.maximum(peak[:, None, None] - floor, 1e-6)
    levels = np.clip((x - floor) / span, 0.0, 1.0)
    ink_rows, ink_cols = levels.max(axis=2) > 0, levels.max(axis=1) > 0
    height = x.shape[1] - ink_rows[:, ::-1].argmax(axis=1) - ink_rows.argmax(axis=1)
    width = x.shape[2] - ink_cols[:, ::-1].argmax(axis=1) - ink_cols.argmax(axis=1)
    scale = DIGIT_BOX_SIDE / np.maximum(np.maximum(height, width), 1)
    if zoom is not None:
        scale = scale * zoom
    centre_row, centre_col = _centre_of_mass(levels)
    target = np.full((n, 2), FIELD_SIDE / 2)
    if shift is not None:
        target = target + shift
    rows = _resampling(centre_row, target[:, 0], scale, x.shape[1])
    cols = _resampling(centre_col, target[:, 1], scale, x.shape[2])
    out = rows @ levels @ cols.transpose(0, 2, 1)
    strongest = out.reshape(n, -1).max(axis=1)[:, None, None]
    return np.where(strongest > 0, out / np.maximum(strongest, 1e-6), 0.0).astype(np.float32)


def _resampling(centre: np.ndarray, target: np.ndarray, scale: np.ndarray,
                in_size: int) -> np.ndarray:
    """(n, 28, in_size): output pixel o reads the source around centre + (o − target) / scale,
    weighted by a triangle as wide as one output pixel in the source (at least one source
    pixel, i.e. plain linear interpolation when enlarging), normalised to sum 1 as if the
    source went on beyond its edges (there it is 0)."""
    where = centre[:, None] + (np.arange(FIELD_SIDE)[None] - target[:, None]) / scale[:, None]
    where = where.astype(np.float32)
    reach = np.minimum(scale, 1.0).astype(np.float32)[:, None, None]
    margin = int(np.ceil(1 / reach.min())) + 1
    taps = np.arange(-margin, in_size + margin, dtype=np.float32)
    weights = np.maximum(1.0 - np.abs(where[:, :, None] - taps) * reach, 0.0)
    weights /= np.maximum(weights.sum(axis=2, keepdims=True), 1e-6)
    return np.ascontiguousarray(weights[:, :, margin : margin + in_size])


def _centre_of_mass(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of each image's intensity-weighted centre; the field's middle if empty."""
    mass = x.sum(axis=(1, 2), dtype=np.float64)
    safe = np.where(mass > 0, mass, 1.0)
    rows = x.sum(axis=2, dtype=np.float64) @ np.arange(x.shape[1]) / safe
    cols = x.sum(axis=1, dtype=np.float64) @ np.arange(x.shape[2]) / safe
    rows = np.where(mass > 0, rows, (x.shape[1] - 1) / 2)
    cols = np.where(mass > 0, cols, (x.shape[2] - 1) / 2)
    return rows, cols
