"""A tiny conv search space and synthetic 8x8 data for the SPOS / zero-shot tests."""
from __future__ import annotations

import torch
from torch import nn

from supernas.mutables import LayerChoice

CHANNELS = 8
CLASSES = 4


def conv_block(kernel: int, channels: int = CHANNELS) -> nn.Module:
    """Conv(k x k) -> BN -> ReLU, ``[B, C, H, W] -> [B, C, H, W]``."""
    return nn.Sequential(nn.Conv2d(channels, channels, kernel, padding=kernel // 2, bias=False),
                         nn.BatchNorm2d(channels), nn.ReLU())


class TinySpace(nn.Module):
    """Stem -> two searched blocks (skip / conv1 / conv3 / conv5) -> GAP -> linear: 16 archs."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, CHANNELS, 3, padding=1, bias=False), nn.BatchNorm2d(CHANNELS), nn.ReLU())
        self.b1 = LayerChoice(self._options(), key="b1")
        self.b2 = LayerChoice(self._options(), key="b2")
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(CHANNELS, CLASSES))

    @staticmethod
    def _options() -> dict[str, nn.Module]:
        return {"skip": nn.Identity(), "conv1": conv_block(1), "conv3": conv_block(3),
                "conv5": conv_block(5)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, 1, 8, 8] -> [B, CLASSES]
        return self.head(self.b2(self.b1(self.stem(x))))


def synthetic_batches(n_batches: int, batch_size: int = 32, seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Class ``c`` lights quadrant ``c`` of an 8x8 image, plus Gaussian noise."""
    gen = torch.Generator().manual_seed(seed)
    y = torch.randint(0, CLASSES, (n_batches * batch_size,), generator=gen)
    x = 0.5 * torch.randn(len(y), 1, 8, 8, generator=gen)
    for c in range(CLASSES):
        r, q = divmod(c, 2)
        x[y == c, :, 4 * r:4 * r + 4, 4 * q:4 * q + 4] += 1.5
    return [(x[i:i + batch_size], y[i:i + batch_size]) for i in range(0, len(y), batch_size)]
