"""Evaluate one architecture on a trained supernet, with batch-norm statistics recalibrated.

Single Path One-Shot (Guo et al. 2020, arXiv 1904.00420, section 3.3) notes that the running
batch-norm statistics of a supernet trained on random paths do not fit any single path; before a
candidate is scored its BN statistics are re-estimated on training data (the paper uses 20,000
training images; here the few training batches the caller passes). Every BN buffer is restored
afterwards so evaluating candidates never changes the supernet. The accuracy is
``supernas.accuracy.accuracy`` (``accuracy`` and ``device_of`` are importable from here too).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from supernas.accuracy import accuracy, device_of
from supernas.mutator import ChoiceMutator
from supernas.space import Choice

Batch = tuple[torch.Tensor, torch.Tensor]
__all__ = ["Batch", "KeepBatchNorm", "accuracy", "batch_norms", "device_of", "evaluate_path",
           "forward_with_batch_stats", "recalibrate_bn"]


def batch_norms(model: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """Every batch-norm layer of ``model`` that keeps running statistics."""
    return [m for m in model.modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]


class KeepBatchNorm:
    """Context manager: snapshot BN buffers/momenta and the training flag, restore on exit."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model

    def __enter__(self) -> None:
        self.training = self.model.training
        self.saved = [(m, m.momentum, {k: b.clone() for k, b in m.named_buffers(recurse=False)})
                      for m in batch_norms(self.model)]

    def __exit__(self, *exc: object) -> None:
        for m, momentum, buffers in self.saved:
            m.momentum = momentum
            for k, b in buffers.items():
                getattr(m, k).copy_(b)
        self.model.train(self.training)


def forward_with_batch_stats(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``model(x)`` with every BN normalising by the statistics of ``x``; BN buffers and the
    training flag are restored afterwards (SPOS, arXiv 1904.00420, sec. 3.3: running statistics
    of a supernet do not fit one path)."""
    with KeepBatchNorm(model):
        for bn in batch_norms(model):
            bn.train()
        return model(x)


@torch.no_grad()
def recalibrate_bn(model: nn.Module, batches: Sequence[Batch]) -> None:
    """Reset BN statistics and re-estimate them as a plain average over ``batches``."""
    if not batches:
        return
    norms = batch_norms(model)
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average: every batch counts equally
    model.train()
    device = device_of(model)
    for x, _ in batches:
        model(x.to(device))


def evaluate_path(space: nn.Module, mutator: ChoiceMutator, choices: Mapping[str, Choice],
                  calibration: Sequence[Batch], held_out: Sequence[Batch]) -> float:
    """Accuracy of ``choices`` run through ``space`` (its mutator ``mutator``) on ``held_out``,
    after recalibrating BN on ``calibration``; the supernet's BN state is left unchanged."""
    saved = dict(mutator.current)
    mutator.set_current(choices)
    try:
        with KeepBatchNorm(space):
            recalibrate_bn(space, calibration)
            return accuracy(space, held_out)
    finally:
        mutator.current = saved
