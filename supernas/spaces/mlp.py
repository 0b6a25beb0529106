"""``mlp``: a small dense search space (activation x hidden units), for tests and tabular data.

Decisions: ``hidden`` (``h10``/``h20``/``h30`` hidden units) and ``activation`` (``relu`` or
``sigmoid``): 6 architectures. The candidates for ``activation`` are shared-weight-free modules;
``hidden`` candidates are separate first layers, followed by one output layer per width.
"""
from __future__ import annotations

import torch
from torch import nn

from supernas.mutables import LayerChoice
from supernas.spaces.registry import register_space

WIDTHS = (10, 20, 30)


class _Hidden(nn.Module):
    """Linear(in, width) -> activation choice -> Linear(width, classes)."""

    def __init__(self, in_features: int, width: int, num_classes: int, act: LayerChoice) -> None:
        super().__init__()
        self.fc1 = nn.Linear(in_features, width)
        self.fc2 = nn.Linear(width, num_classes)
        self.act = act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))


class MlpSpace(nn.Module):
    """Flatten -> one hidden layer whose width and activation are searched -> logits."""

    def __init__(self, in_features: int, num_classes: int) -> None:
        super().__init__()
        hidden = {
            f"h{w}": _Hidden(in_features, w, num_classes, self._activation()) for w in WIDTHS
        }
        self.hidden = LayerChoice(hidden, key="hidden")

    @staticmethod
    def _activation() -> LayerChoice:
        return LayerChoice({"relu": nn.ReLU(), "sigmoid": nn.Sigmoid()}, key="activation",
                           shared=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: [B, *] -> [B, classes]
        return self.hidden(x.flatten(1))


@register_space("mlp")
def mlp(in_features: int = 64, num_classes: int = 10) -> nn.Module:
    """Dense space for flat inputs (default: the 8x8 scikit-learn digits)."""
    return MlpSpace(in_features, num_classes)
