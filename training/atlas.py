"""Write the digit atlas (core/atlas.py) into the model store: a fixed, seeded sample of
MNIST's test digits that the app maps through every model's layers.

    python -m training.atlas --data ../shared/data            # → model_store/mnist-test-atlas.npz

training/train.py writes it too, after every model it saves; this command writes it for a model
store that already holds its models, without training anything. The sample depends only on
MNIST's test set and the seed, so writing it again leaves the file as it was.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.atlas import ATLAS_FILE, DIGITS_PER_CLASS, sample_atlas, save_atlas
from core.mnist_data import DataError, Mnist, load_mnist


def write_atlas(mnist: Mnist, out_dir: Path) -> Path:
    """Sample the atlas from ``mnist``'s test set and save it in ``out_dir``; says what it did."""
    atlas = sample_atlas(mnist.x_test, mnist.y_test)
    path = out_dir / ATLAS_FILE
    written = save_atlas(atlas, path)
    size = path.stat().st_size / 1e6
    print(
        f"atlas: {path} {'written' if written else 'already holds this sample'} "
        f"({len(atlas)} test digits, {size:.1f} MB)",
        flush=True,
    )
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.atlas",
        description=f"Write {DIGITS_PER_CLASS} MNIST test digits per class into the model "
        f"store as {ATLAS_FILE}.",
    )
    parser.add_argument("--data", type=Path, required=True,
                        help="MNIST: a folder of the four IDX files or mnist.npz")
    parser.add_argument("--out", type=Path, default=Path("model_store"),
                        help="the model store (default: model_store)")
    args = parser.parse_args(argv)
    try:
        if not args.out.is_dir():
            raise DataError(f"{args.out} is not a folder: pass --out the model store")
        write_atlas(load_mnist(args.data), args.out)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
