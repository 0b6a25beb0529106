"""``ArrayData``: a data set held in memory as tensors (what every ``DATA`` loader returns)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


@dataclass
class ArrayData:
    """Train pool and test set. ``x``: [N, C, H, W] or [N, C, L] (uint8 or float), ``y``: [N]."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    mean: Sequence[float] | None = None  # applied to uint8 images after scaling to [0, 1]
    std: Sequence[float] | None = None
    augment: bool = False  # crop + flip for training images

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])
