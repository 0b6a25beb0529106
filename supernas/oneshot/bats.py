"""BATS search: ``ALGORITHMS`` name ``bats``.

BATS (Bulat, Martinez and Tzimiropoulos, ECCV 2020, arXiv 2003.01711) searches a binary cell
space with DARTS under temperature regularisation. Implemented variant:

* the space's binary convolutions run with binary activations and real weights during the
  search (``supernas.binarize`` mode ``"activations"``), BATS's search strategy;
* the architecture is relaxed with ``softmax(alpha / T)``, ``T < 1`` (BATS Sec. 3.2), with the
  DARTS bilevel updates of ``supernas.oneshot.darts`` (first order by default, second order
  available); every DARTS setting is accepted, with the DARTS default;
* optional distillation from a real-valued ``teacher`` in the weight phase: the loss is
  ``(1 - w) * CE(student, y) + w * tau^2 * KL(softmax(teacher / tau) || softmax(student / tau))``
  (Hinton et al. 2015, arXiv 1503.02531), ``w = distill_weight``, ``tau = distill_temperature``.
  The architecture phase uses plain cross-entropy. The teacher runs in eval mode without
  gradients and must live on the same device as the space.

Temperature. The stored copies of the paper this project can search (ar5iv, the ECCV page)
return its abstract and opening only, and the authors' code for the search is not public
(``1adrianb/binary-nas`` holds a README saying "Code will be added soon"); no value or
schedule of T can be traced to the paper, so the earlier constant ``T = 0.2`` is gone. A
constant T is in any case only a change of the architecture learning rate (Adam is invariant to
the gradient's scale: alpha under ``softmax(alpha / T)`` with lr follows ``alpha / T`` under
``softmax`` with ``lr / T``; see ``supernas.oneshot.darts``). ``bats`` therefore uses the
``darts`` defaults: T annealed exponentially from 1 to 0.1 over the search, architecture
learning rate 2e-2, two weight-only warm-up epochs, the DARTS- auxiliary skip with beta = 1.
Measured on the README's BATS job (``supernas search --algorithm bats``: digits, ``bats``
space with 8 channels and 3 cells, 10 epochs, seed 0, one thread): with the former settings
(T = 0.2 constant, arch lr 3e-4, no warm-up, no auxiliary skip, and the former op order) the
decision strength at the last epoch was 0.175 against 0.169 for uniform probabilities (op
decisions alone 0.131 against 0.125: 120 Adam steps of about 3e-4 each hardly move an alpha);
with these defaults it is 0.673 (op decisions 0.741), with ``aux_skip=0`` 0.702, and with the
annealed T but arch lr 3e-4 only 0.197: the learning rate, not the temperature, was what held
the search still.

Defaults that are ours rather than the paper's: ``distill_weight = 0.5`` and
``distill_temperature = 1.0`` (used only when a teacher is given).

The two-stage evaluation of the found architecture, with the Real-to-Binary distillation, lives
in ``supernas.two_stage``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from supernas.binarize import binary_convs, set_binary_mode
from supernas.errors import SpaceError, bad_value
from supernas.oneshot.base import Batch, register_algorithm
from supernas.oneshot.darts import DartsSearch, DartsSettings
from supernas.settings import number, with_settings

BATS_TEMPERATURE = 1.0  # start of the DARTS schedule, 1 -> TEMPERATURE_END (module docstring)


@dataclass(frozen=True)
class BatsSettings(DartsSettings):
    """Every DARTS setting with the DARTS default, and the distillation of the weight phase."""

    temperature: float = BATS_TEMPERATURE  # module docstring: no traceable value in the paper
    distill_weight: float = 0.5  # ours (module docstring); used only with a teacher
    distill_temperature: float = 1.0  # ours; Hinton et al. 2015's tau

    def validate(self) -> None:
        super().validate()
        number("distill_weight", self.distill_weight, low=0.0, high=1.0)
        number("distill_temperature", self.distill_temperature, low=0.0, low_open=True)


@register_algorithm("bats")
@with_settings(BatsSettings, extra={"teacher": None})
class BatsSearch(DartsSearch):
    """DARTS-T on a binary space with binary activations and real weights; optional teacher."""

    settings: BatsSettings

    def __init__(self, space: nn.Module, teacher: nn.Module | None = None, **settings: Any) -> None:
        if not binary_convs(space):
            name = getattr(space, "space_name", type(space).__name__)
            raise SpaceError(f"bats cannot drive space {name!r}: it has no binary convolutions; "
                             "allowed: a space built from supernas.ops.binary ops (e.g. 'bats')")
        super().__init__(space, **settings)
        if teacher is not None and not isinstance(teacher, nn.Module):
            raise bad_value("teacher", teacher, "a torch.nn.Module (real-valued network) or None")
        self.distill_weight = self.settings.distill_weight
        self.distill_temperature = self.settings.distill_temperature
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
