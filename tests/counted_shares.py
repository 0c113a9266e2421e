"""Comparing a share of images that a model card reports with the share measured now."""

from __future__ import annotations

from typing import Any

import pytest

# On another CPU an image whose score lies at a decision boundary or threshold may tip either
# way (float sums differ in their last digits): up to this many images either way are allowed.
IMAGES_THAT_MAY_TIP = 2


def same_count(share: float, count: int) -> Any:
    """`share` of `count` images as pytest.approx, within IMAGES_THAT_MAY_TIP images. Half an
    image more, since k/n and (k + 2)/n lie a hair over 2/n apart in floats."""
    return pytest.approx(share, abs=(IMAGES_THAT_MAY_TIP + 0.5) / count)
