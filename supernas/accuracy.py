"""Top-1 accuracy: the one helper every search, selection and evaluation uses.

``hits`` counts correct top-1 predictions of logits ``[B, classes]`` against labels ``[B]``;
``batch_accuracy`` is their fraction on one batch (a float32 mean, as logged per training step);
``accuracy`` runs a model in eval mode over batches and divides the hits by the samples (the
model's training flag is restored afterwards).
"""
from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

Batch = tuple[torch.Tensor, torch.Tensor]


def hits(logits: torch.Tensor, y: torch.Tensor) -> int:
    """How many rows of ``logits`` ([B, classes]) have their largest value at label ``y`` ([B])."""
    return int((logits.argmax(dim=-1) == y).sum())


def batch_accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    """The fraction of correct top-1 predictions in one batch (float32 mean)."""
    return float((logits.detach().argmax(dim=-1) == y).float().mean())


def device_of(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (CPU for a parameter-free model)."""
    first = next(model.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


@torch.no_grad()
def accuracy(model: nn.Module, batches: Iterable[Batch]) -> float:
    """Top-1 accuracy of ``model`` in eval mode over ``batches`` (moved to the model's device);
    the training flag is restored afterwards."""
    was_training = model.training
    model.eval()
    device = device_of(model)
    correct = total = 0
    for x, y in batches:
        correct += hits(model(x.to(device)), y.to(device))  # logits: [B, classes]
        total += int(y.numel())
    model.train(was_training)
    return correct / max(total, 1)
