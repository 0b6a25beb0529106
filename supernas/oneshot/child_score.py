"""What a found architecture is worth: its child, frozen from the shared weights, scored.

A supernet's own accuracy (DARTS mixture, a sampled path with running statistics) says little
about one discrete child: with near-uniform DARTS weights every child of the mixture scores
about the same, and the running batch-norm statistics of a supernet fit no single path (SPOS,
Guo et al. 2020, arXiv 1904.00420, Sec. 3.3). ``score_child`` therefore

1. freezes the child from the shared weights (a copy: the supernet is left unchanged);
2. re-estimates its batch-norm statistics on training batches and scores it on held-out
   batches: ``recalibrated``, the zero-training proxy;
3. fine-tunes it for ``steps`` SGD steps on the training batches (cosine from ``lr`` to 0,
   momentum, weight decay, gradient clipping) and scores it again: ``finetuned``.

The fine-tune starts from the inherited weights, as weight-sharing methods that score
subnetworks after a short fine-tune do (e.g. Once-for-All, Cai et al. 2020, arXiv 1908.09791,
Sec. 3.3); the default of 200 steps is ours (the README's whole digits job, which scores the
child after each of its 10 epochs, took 42 s on 2 cores; the cost on other data is not yet
benchmarked). The optimiser defaults
are the DARTS weight optimiser's (arXiv 1806.09055, Sec. A.1.1). ``steps=0`` scores the
recalibrated child only. Retraining from scratch (``supernas train``) stays the final word.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from supernas.accuracy import device_of, hits
from supernas.errors import bad_value
from supernas.freeze import freeze
from supernas.oneshot.supernet_eval import Batch, recalibrate_bn
from supernas.space import Choice


@dataclass(frozen=True)
class FinetuneSettings:
    """How the found child is fine-tuned before it is scored (see the module docstring)."""

    steps: int = 200
    lr: float = 0.025
    momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float = 5.0
    bn_batches: int = 20  # training batches for the batch-norm re-estimate

    def __post_init__(self) -> None:
        for name in ("steps", "bn_batches"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise bad_value(f"finetune_{name}", value, "an integer >= 0")
        for name in ("lr", "momentum", "weight_decay", "grad_clip"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value < 0:
                raise bad_value(f"finetune_{name}", value, "a finite number >= 0")


@dataclass(frozen=True)
class ChildScore:
    """Accuracy of the found child on held-out data: recalibrated only, and fine-tuned."""

    recalibrated: float
    finetuned: float
    loss: float  # mean cross-entropy of the scored (fine-tuned) child on the held-out batches
    steps: int


def score_child(space: nn.Module, choices: Mapping[str, Choice], train: Sequence[Batch],
                held_out: Sequence[Batch], settings: FinetuneSettings = FinetuneSettings()) -> ChildScore:
    """Score ``choices`` on ``held_out`` after BN recalibration and after a short fine-tune on
    ``train`` (cycled as needed); ``space`` and its weights are not changed."""
    with torch.inference_mode(False):
        child = freeze(space, dict(choices))
        recalibrate_bn(child, list(train[: settings.bn_batches]) or list(train))
        recalibrated, loss = evaluate(child, held_out)
        if settings.steps == 0 or not train:
            return ChildScore(recalibrated, recalibrated, loss, 0)
        finetune(child, train, settings)
        finetuned, loss = evaluate(child, held_out)
        return ChildScore(recalibrated, finetuned, loss, settings.steps)


@torch.no_grad()
def evaluate(model: nn.Module, batches: Sequence[Batch]) -> tuple[float, float]:
    """(top-1 accuracy, mean cross-entropy) of ``model`` in eval mode over ``batches``."""
    model.eval()
    device = device_of(model)
    correct, loss, total = 0, 0.0, 0
    for x, y in batches:
        logits = model(x.to(device))  # [B, classes]
        y = y.to(device)
        correct += hits(logits, y)
        loss += float(nn.functional.cross_entropy(logits, y, reduction="sum"))
        total += int(y.numel())
    return correct / max(total, 1), loss / max(total, 1)


def finetune(child: nn.Module, train: Sequence[Batch], settings: FinetuneSettings) -> None:
    """``settings.steps`` SGD steps on ``train`` (cycled), cosine-annealed learning rate."""
    params = [p for p in child.parameters() if p.requires_grad]
    if not params:
        return
    opt = torch.optim.SGD(params, lr=settings.lr, momentum=settings.momentum,
                          weight_decay=settings.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, settings.steps)
    loss_fn, device = nn.CrossEntropyLoss(), device_of(child)
    child.train()
    with torch.enable_grad():
        for step in range(settings.steps):
            x, y = train[step % len(train)]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(child(x.to(device)), y.to(device))
            loss.backward()
            if settings.grad_clip > 0:
                nn.utils.clip_grad_norm_(params, settings.grad_clip)
            opt.step()
            sched.step()
