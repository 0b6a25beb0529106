"""Reseeding helpers: every epoch starts from a random state fixed by (seed, epoch), so a run
resumed from an epoch-end checkpoint draws the same random numbers as one that never stopped."""
from __future__ import annotations

import math
import random
from collections.abc import Mapping

import numpy as np
import torch

from supernas.errors import SupernasError


def reseed(seed: int, epoch: int) -> None:
    """Seed Python, NumPy and torch (all devices) from ``(seed, epoch)``."""
    value = (seed * 1_000_003 + epoch) % (2**32)
    random.seed(value)
    np.random.seed(value)
    torch.manual_seed(value)


def check_finite(metrics: Mapping[str, float], phase: str, epoch: int, batch: int) -> None:
    """Stop with a clear message when a phase returns a NaN or infinite metric (e.g. the loss)."""
    for name, value in metrics.items():
        if not math.isfinite(float(value)):
            raise SupernasError(
                f"{phase} phase: {name}={value} at epoch {epoch}, batch {batch}; training diverged. "
                "Lower the learning rate (--set lr=... / --lr), raise the temperature, or check the data."
            )
