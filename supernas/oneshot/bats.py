"""BATS search: ``ALGORITHMS`` name ``bats``.

BATS (Bulat, Martinez and Tzimiropoulos, ECCV 2020, arXiv 2003.01711) searches a binary cell
space with DARTS under temperature regularisation. Implemented variant:

* the space's binary convolutions run with binary activations and real weights during the
  search (``supernas.binarize`` mode ``"activations"``), BATS's search strategy;
* the architecture is relaxed with ``softmax(alpha / T)``, ``T < 1`` (BATS Sec. 3.2), with the
  DARTS bilevel updates of ``supernas.oneshot.darts`` (first order by default, second order
  available); every DARTS setting is accepted with the same default, except ``temperature``;
* optional distillation from a real-valued ``teacher`` in the weight phase: the loss is
  ``(1 - w) * CE(student, y) + w * tau^2 * KL(softmax(teacher / tau) || softmax(student / tau))``
  (Hinton et al. 2015, arXiv 1503.02531), ``w = distill_weight``, ``tau = distill_temperature``.
  The architecture phase uses plain cross-entropy. The teacher runs in eval mode without
  gradients and must live on the same device as the space.

The DARTS guards (``warmup_epochs``, ``aux_skip``) and the annealed temperature that
``darts`` uses by default are available here but off: they have not yet been measured on binary
cells, so ``bats`` keeps the settings below until they are.

Defaults that are ours rather than the paper's: ``temperature = 0.2`` (the paper argues for
``T < 1``; this value has not been checked against its tables), ``distill_weight = 0.5`` and
``distill_temperature = 1.0`` (used only when a teacher is given).

The two-stage evaluation of the found architecture lives in ``supernas.two_stage``.
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from supernas.binarize import binary_convs, set_binary_mode
from supernas.errors import SpaceError, bad_value
from supernas.oneshot.base import Batch, register_algorithm
from supernas.oneshot.darts import DartsSearch, check_positive

BATS_TEMPERATURE = 0.2  # ours; BATS Sec. 3.2 only requires T < 1 (see module docstring)


@register_algorithm("bats")
class BatsSearch(DartsSearch):
    """DARTS-T on a binary space with binary activations and real weights; optional teacher."""

    def __init__(self, space: nn.Module, temperature: float = BATS_TEMPERATURE,
                 temperature_end: float | None = None, temperature_schedule: str = "constant",
                 order: int | str = 1, weight_lr: float = 0.025, weight_lr_min: float = 0.001,
                 weight_momentum: float = 0.9, weight_decay: float = 3e-4,
                 arch_lr: float = 3e-4, arch_betas: Sequence[float] = (0.5, 0.999),
                 arch_weight_decay: float = 1e-3, grad_clip: float = 5.0,
                 unrolled_lr: float | None = None, alpha_init: float = 1e-3, seed: int = 0,
                 teacher: nn.Module | None = None, distill_weight: float = 0.5,
                 distill_temperature: float = 1.0, warmup_epochs: int = 0,
                 aux_skip: float = 0.0, aux_skip_schedule: str = "constant") -> None:
        if not binary_convs(space):
            name = getattr(space, "space_name", type(space).__name__)
            raise SpaceError(f"bats cannot drive space {name!r}: it has no binary convolutions; "
                             "allowed: a space built from supernas.ops.binary ops (e.g. 'bats')")
        super().__init__(space, temperature, temperature_end, temperature_schedule, order,
                         weight_lr, weight_lr_min, weight_momentum, weight_decay, arch_lr,
                         arch_betas, arch_weight_decay, grad_clip, unrolled_lr, alpha_init, seed,
                         warmup_epochs=warmup_epochs, aux_skip=aux_skip,
                         aux_skip_schedule=aux_skip_schedule)
        if teacher is not None and not isinstance(teacher, nn.Module):
            raise bad_value("teacher", teacher, "a torch.nn.Module (real-valued network) or None")
        w = check_positive("distill_weight", distill_weight, allow_zero=True)
        if w > 1:
            raise bad_value("distill_weight", distill_weight, "a number in [0, 1]")
        self.distill_weight = w
        self.distill_temperature = check_positive("distill_temperature", distill_temperature)
        self.teacher = teacher
        set_binary_mode(space, "activations")

    def weight_loss(self, batch: Batch) -> torch.Tensor:
        """Cross-entropy, mixed with the teacher's KL term when a teacher is set."""
        if self.teacher is None or self.distill_weight == 0:
            return self.loss(batch)
        x, y = batch
        logits = self.space(x)  # [B, classes]
        self.teacher.eval()
        with torch.no_grad():
            target = self.teacher(x)  # [B, classes]
        kd = distillation_loss(logits, target, self.distill_temperature)
        return (1 - self.distill_weight) * self.criterion(logits, y) + self.distill_weight * kd


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor, tau: float) -> torch.Tensor:
    """``tau^2 * KL(softmax(teacher/tau) || softmax(student/tau))``, batch mean. [B, K] -> []."""
    log_p = F.log_softmax(student / tau, dim=-1)
    q = F.softmax(teacher / tau, dim=-1)
    return F.kl_div(log_p, q, reduction="batchmean") * tau * tau
