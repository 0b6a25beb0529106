"""DARTS with temperature: ``ALGORITHMS`` name ``darts``.

Implements DARTS (Liu et al., ICLR 2019, arXiv 1806.09055), first order (``order=1``: the
architecture gradient is taken at the current weights) and second order (``order=2``: unrolled
one virtual step, exact Hessian-vector product; see ``supernas.oneshot.unrolled``), with
temperature regularisation (BATS, Bulat et al., ECCV 2020, arXiv 2003.01711, Sec. 3.2): mixing
weights are ``softmax(alpha / T)``. ``temperature=1, temperature_schedule="constant"`` is plain
DARTS. A *constant* T is only a change of the architecture learning rate: Adam is invariant to
the gradient's scale, so training alpha under ``softmax(alpha / T)`` with (lr, weight decay, init)
follows training ``alpha / T`` under ``softmax`` with (lr / T, weight decay * T^2, init / T).
What a temperature adds is a *schedule*: the default anneals T exponentially from 1 to 0.1 over
the search (the annealed relaxations of SNAS, Xie et al. 2019, arXiv 1812.09926, T 1 -> 0.03, and
FBNet, Wu et al. 2019, arXiv 1812.03443, T 5 * exp(-0.045 epoch); GDAS anneals 10 -> 0.1,
arXiv 1910.04465), so the mixture the weights train in sharpens towards the derived child and
the architecture decides within short budgets.

Two guards keep the search off the parameter-free cells that DARTS collapses to (NAS-Bench-201,
Dong & Yang 2020, arXiv 2001.00326: DARTS ends at the all-skip cell):

* ``warmup_epochs``: the first epochs train the weights only (PC-DARTS, Xu et al. 2020, arXiv
  1907.05737, warms up 15 of 50 epochs), so convolutions are trained before the architecture
  starts to compare them with parameter-free ops; the default (``None``) is a fifth of the
  search, rounded down (2 of the usual 10 epochs; none in a 2-epoch smoke run, which therefore
  still takes architecture steps);
* ``aux_skip``: the auxiliary skip connection of DARTS- (Chu et al., ICLR 2021, arXiv 2009.01027):
  every shape-preserving edge adds ``beta * x`` to its mixture, which takes away the skip op's
  advantage as a residual path. DARTS- decays beta linearly to 0 (``aux_skip_schedule="linear"``);
  at the budgets this project is benchmarked on the decay handed the last epochs back to
  parameter-free ops (NB201/CIFAR-10 seed 0, two stopped runs in BENCHMARKS.md's ablation), so
  the default keeps beta = 1 (``"constant"``); ``tests/test_darts_decide.py`` checks that the
  constant guard keeps a skip-favouring toy off the skips. The derived
  child never has the auxiliary path: it is scored after a fine-tune (``child_score``).

``mixing="dirichlet"`` replaces the softmax by DrNAS's Dirichlet draws (Chen et al., ICLR 2021,
arXiv 2006.10355; ``supernas.oneshot.dirichlet``), a guard that leaves the skip op its advantage;
it is off by default because at the benchmarked budget it did not decide (strength 0.30-0.36,
NB201 reduced budget, BENCHMARKS.md section 2, row ``darts-dir``).

Defaults otherwise are DARTS's CIFAR-10 search settings (paper Sec. A.1.1 and the reference code
``cnn/train_search.py``): weights SGD lr 0.025 with cosine annealing (to 0.001, the code's
``learning_rate_min``), momentum 0.9, weight decay 3e-4; gradient norm clipped at 5 (code);
architecture Adam betas (0.5, 0.999), weight decay 1e-3 (paper); alpha initialised to
1e-3 * N(0, 1) (code). The architecture learning rate is ours: DARTS's 3e-4 moves an Adam
coordinate by at most about lr per step, i.e. alpha by at most 0.23 in the 780 steps of the
benchmark's reduced budget (largest probability ~0.21 everywhere: no decision); with 2e-2 and
the annealed temperature the search decides there (0.88-0.90) and on the README's digits job
(0.62); at T = 1 the same rate reaches 0.46-0.58 (BENCHMARKS.md, section 2).
The virtual-step learning rate ``xi`` defaults to the weights' current learning rate (reference
code).

Driver order (see ``supernas.oneshot.base``): ``arch_step(val_batch, opts, backward,
train_batch=...)`` then ``weight_step(train_batch, opts, backward)``. Second order needs the
training batch inside the architecture step: pass it as ``train_batch``; when it is left out the
batch of the previous ``weight_step`` is used (or the validation batch on the very first step).
Second order computes its gradients with ``torch.autograd.grad`` (not the driver's ``backward``);
first order uses the driver's ``backward``.

Less arithmetic, same maths (values as without it): the first-order architecture pass runs with
the supernet weights' ``requires_grad`` off (restored afterwards, also on error), so autograd
skips every weight-gradient kernel and ``backward(loss)`` fills only the alpha gradients; the
weight pass runs with the alphas' ``requires_grad`` off (mixing weights are constants there);
each forward computes every shared key's softmax once, and ``none`` candidates are not run
(``supernas.oneshot.darts_mutator``). Drivers that move the model to another device should
register ``arch_parameters()`` (e.g. in an ``nn.ParameterList``) so the alphas move with it.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from supernas.errors import bad_value
from supernas.oneshot.base import Backward, Batch, OneShotAlgorithm, plain_backward, register_algorithm
from supernas.oneshot.beta_decay import add_beta_decay_grads, weight_at
from supernas.oneshot.darts_mutator import DartsMutator
from supernas.oneshot.dirichlet import MIXINGS, concentration
from supernas.oneshot.temperature import SCHEDULES, TemperatureSchedule
from supernas.oneshot.unrolled import grads_off, unrolled_arch_grads
from supernas.settings import Settings, check_seed, choice, is_number, number, with_settings
from supernas.space import Choice

ORDERS = {1: 1, 2: 2, "first": 1, "second": 2}
TEMPERATURE_END = 0.1  # exponential 1 -> 0.1 (module docstring)
TEMPERATURE_SCHEDULE = "exponential"
ARCH_LR = 2e-2  # ours, see the module docstring; DARTS used 3e-4
WARMUP_EPOCHS: int | None = None  # None: a fifth of the search (2 of 10 epochs), weights only
WARMUP_SHARE = 5  # warm-up = max_epochs // WARMUP_SHARE when warmup_epochs is None
AUX_SKIP = 1.0  # DARTS- auxiliary skip coefficient
AUX_SCHEDULES = ("constant", "linear")
AUX_SKIP_SCHEDULE = "constant"
BETA_DECAY = 0.0  # beta-DARTS regulariser's final lambda (off by default)
MIXING = "softmax"  # or "dirichlet" (DrNAS, supernas.oneshot.dirichlet)


def check_positive(field: str, value: Any, allow_zero: bool = False) -> float:
    """``value`` as float if it is a finite number > 0 (>= 0 with ``allow_zero``)."""
    number(field, value, low=0.0, low_open=not allow_zero)
    return float(value)


@dataclass(frozen=True)
class DartsSettings(Settings):
    """Settings of ``darts`` (sources in the module docstring; BATS extends them)."""

    temperature: float = 1.0  # start of the schedule; T = 1 is plain DARTS
    temperature_end: float | None = TEMPERATURE_END  # 1 -> 0.1 annealing (SNAS, FBNet, GDAS)
    temperature_schedule: str = TEMPERATURE_SCHEDULE  # supernas.oneshot.temperature.SCHEDULES
    order: int | str = 1  # DARTS first order; 2 / "second": unrolled (DARTS Sec. 2.3)
    weight_lr: float = 0.025  # DARTS cnn/train_search.py learning_rate
    weight_lr_min: float = 0.001  # DARTS code learning_rate_min (cosine annealing)
    weight_momentum: float = 0.9  # DARTS code momentum
    weight_decay: float = 3e-4  # DARTS code weight_decay
    arch_lr: float = ARCH_LR  # ours (module docstring); DARTS used 3e-4
    arch_betas: tuple[float, float] = (0.5, 0.999)  # DARTS paper Sec. A.1.1
    arch_weight_decay: float = 1e-3  # DARTS paper Sec. A.1.1
    grad_clip: float = 5.0  # DARTS code grad_clip; 0: no clipping
    unrolled_lr: float | None = None  # None: the weights' current lr (DARTS code)
    alpha_init: float = 1e-3  # DARTS code: 1e-3 * N(0, 1)
    seed: int = 0
    warmup_epochs: int | None = WARMUP_EPOCHS  # PC-DARTS warm-up; None: a fifth of the epochs
    aux_skip: float = AUX_SKIP  # DARTS- (arXiv 2009.01027) auxiliary skip beta
    aux_skip_schedule: str = AUX_SKIP_SCHEDULE  # DARTS- decays linearly; ours keeps it constant
    beta_decay: float = BETA_DECAY  # beta-DARTS regulariser (off)
    mixing: str = MIXING  # softmax, or dirichlet (DrNAS, arXiv 2006.10355)

    def validate(self) -> None:
        choice("temperature_schedule", self.temperature_schedule, SCHEDULES)
        number("temperature", self.temperature, low=0.0, low_open=True)
        number("temperature_end", self.temperature_end, low=0.0, low_open=True, none_ok=True)
        choice("order", self.order, ORDERS, allowed="1 or 'first', 2 or 'second'")
        for name in ("weight_lr", "arch_lr"):
            number(name, getattr(self, name), low=0.0, low_open=True)
        for name in ("weight_lr_min", "weight_momentum", "weight_decay", "arch_weight_decay",
                     "grad_clip", "alpha_init", "aux_skip", "beta_decay"):
            number(name, getattr(self, name), low=0.0)
        check_betas(self.arch_betas)
        number("unrolled_lr", self.unrolled_lr, low=0.0, low_open=True, none_ok=True)
        check_seed("seed", self.seed)
        if not (self.warmup_epochs is None or isinstance(self.warmup_epochs, int)
                and not isinstance(self.warmup_epochs, bool) and self.warmup_epochs >= 0):
            raise bad_value("warmup_epochs", self.warmup_epochs,
                            "an integer >= 0, or None (a fifth of the epochs)")
        choice("aux_skip_schedule", self.aux_skip_schedule, AUX_SCHEDULES)
        choice("mixing", self.mixing, MIXINGS)


def check_betas(value: Any) -> tuple[float, float]:
    """Adam betas: two numbers in [0, 1)."""
    if not isinstance(value, (list, tuple)) or len(value) != 2 \
            or not all(is_number(b) and 0 <= b < 1 for b in value):
        raise bad_value("arch_betas", value, "two numbers in [0, 1), e.g. (0.5, 0.999)")
    return float(value[0]), float(value[1])


@register_algorithm("darts")
@with_settings(DartsSettings)
class DartsSearch(OneShotAlgorithm):
    """DARTS (1st/2nd order) with temperature ``softmax(alpha / T)``; see the module docstring."""

    settings: DartsSettings
    settings_class: type[DartsSettings]
    mutator: DartsMutator

    def __init__(self, space: nn.Module, **settings: Any) -> None:
        super().__init__(space)
        self.settings = s = self.settings_class.build(settings)
        self.schedule = TemperatureSchedule(s.temperature, s.temperature_end, s.temperature_schedule)
        self.order = ORDERS[s.order]
        self.weight_lr, self.weight_lr_min = s.weight_lr, s.weight_lr_min
        self.weight_momentum, self.weight_decay = s.weight_momentum, s.weight_decay
        self.arch_lr, self.arch_betas = s.arch_lr, check_betas(s.arch_betas)
        self.arch_weight_decay, self.grad_clip = s.arch_weight_decay, s.grad_clip  # 0: no clipping
        self.unrolled_lr = s.unrolled_lr
        self.warmup_epochs = s.warmup_epochs
        self._warmup = s.warmup_epochs or 0
        self.aux_skip, self.aux_skip_schedule = s.aux_skip, s.aux_skip_schedule
        self.beta_decay = s.beta_decay
        self._beta_weight = 0.0
        self.mutator = DartsMutator(self.schedule.start, s.alpha_init, s.seed, s.mixing)
        self.mutator.bind(space)
        self._weights_opt: torch.optim.Optimizer | None = None
        self._last_train: Batch | None = None
        self._epoch = 0

    # ----------------------------------------------------------------- parameters, optimisers
    @property
    def temperature(self) -> float:
        return self.mutator.temperature

    def arch_parameters(self) -> list[nn.Parameter]:
        return self.mutator.arch_parameters()

    def weight_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.space.parameters() if p.requires_grad]

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        self._weights_opt = torch.optim.SGD(self.weight_parameters(), lr=self.weight_lr,
                                            momentum=self.weight_momentum,
                                            weight_decay=self.weight_decay)
        arch = torch.optim.Adam(self.arch_parameters(), lr=self.arch_lr, betas=self.arch_betas,
                                weight_decay=self.arch_weight_decay)
        return {"weights": self._weights_opt, "arch": arch}

    def on_epoch_start(self, epoch: int, max_epochs: int) -> None:
        """Temperature from the schedule; weight lr by cosine annealing (DARTS); the DARTS-
        auxiliary skip's coefficient decays linearly from ``aux_skip`` to 0 at the last epoch."""
        self._epoch = epoch
        self._warmup = self.warmup_epochs if self.warmup_epochs is not None else max_epochs // WARMUP_SHARE
        self.mutator.temperature = self.schedule.value(epoch, max_epochs)
        decay = 1.0 if self.aux_skip_schedule == "constant" else \
            (1 - epoch / (max_epochs - 1) if max_epochs > 1 else 0.0)
        self.mutator.aux_skip = self.aux_skip * decay
        self._beta_weight = weight_at(self.beta_decay, epoch, max_epochs)
        if self._weights_opt is not None:
            for group in self._weights_opt.param_groups:
                group["lr"] = self.cosine_lr(epoch, max_epochs)

    def cosine_lr(self, epoch: int, max_epochs: int) -> float:
        frac = min(max(epoch / max(max_epochs, 1), 0.0), 1.0)
        return self.weight_lr_min + 0.5 * (self.weight_lr - self.weight_lr_min) * (1 + math.cos(math.pi * frac))

    # ----------------------------------------------------------------------------- steps
    def loss(self, batch: Batch) -> torch.Tensor:
        """Cross-entropy of the supernet (mixing) on ``batch``."""
        x, y = batch
        with self.mutator.once_per_pass():
            return self.criterion(self.space(x), y)

    def weight_loss(self, batch: Batch) -> torch.Tensor:
        """Loss of the weight phase (BATS adds distillation here)."""
        return self.loss(batch)

    def weight_step(self, batch: Batch, optimizers: Mapping[str, torch.optim.Optimizer],
                    backward: Backward = plain_backward) -> dict[str, float]:
        opt = optimizers["weights"]
        opt.zero_grad()
        with grads_off(self.arch_parameters()), self.mutator.once_per_pass():
            loss = self.weight_loss(batch)  # mixing weights are constants in this phase
            backward(loss)
        if self.grad_clip > 0:
            nn.utils.clip_grad_norm_(self.weight_parameters(), self.grad_clip)
        opt.step()
        self._last_train = batch
        return {"train_loss": float(loss.detach())}

    def arch_step(self, batch: Batch, optimizers: Mapping[str, torch.optim.Optimizer],
                  backward: Backward = plain_backward,
                  train_batch: Batch | None = None) -> dict[str, float]:
        if self._epoch < self._warmup:  # weights only while warming up
            return {"temperature": self.temperature}
        opt = optimizers["arch"]
        opt.zero_grad()
        if self.order == 1:
            with grads_off(self.weight_parameters()):  # only alpha gradients are needed
                loss = self.loss(batch)
                backward(loss)
        else:
            loss = self._second_order(batch, train_batch or self._last_train or batch)
        add_beta_decay_grads(self.arch_parameters(), self._beta_weight)
        opt.step()
        return {"val_loss": float(loss.detach()), "temperature": self.temperature}

    def _second_order(self, val_batch: Batch, train_batch: Batch) -> torch.Tensor:
        xi = self.unrolled_lr if self.unrolled_lr is not None else self._current_lr()
        alphas = self.arch_parameters()
        loss, grads = unrolled_arch_grads(self.loss, self.weight_parameters(), alphas,
                                          train_batch, val_batch, xi)
        for a, g in zip(alphas, grads):
            a.grad = g.detach() if a.grad is None else a.grad + g.detach()
        return loss

    def _current_lr(self) -> float:
        if self._weights_opt is None:
            return self.weight_lr
        return float(self._weights_opt.param_groups[0]["lr"])

    # ---------------------------------------------------------------------- results, state
    def derive(self) -> dict[str, Choice]:
        return self.mutator.derive()

    def arch_summary(self) -> dict[str, dict[str, float]]:
        """Layer decisions: softmax(alpha/T) per op; input decisions: normalised edge strengths."""
        out: dict[str, dict[str, float]] = {}
        for d in self.mutator.decisions:
            if d.kind == "layer":
                probs = self.mutator.layer_weights(d.key).detach().tolist()
                out[d.key] = dict(zip(d.choices, probs))
            else:
                s = self.mutator.input_strengths(d.key)
                out[d.key] = {str(i): v / sum(s) for i, v in enumerate(s)}
        return out

    def arch_extras(self) -> dict[str, Any]:
        """The temperature, and ``softmax(alpha)`` (T = 1) per layer decision beside the
        effective ``softmax(alpha / T)`` of ``arch_summary``: a constant T only rescales alpha,
        so probabilities are comparable across temperatures only at T = 1."""
        plain = {d.key: dict(zip(d.choices, self._plain_probabilities(d.key).tolist()))
                 for d in self.mutator.decisions if d.kind == "layer"}
        return {"temperature": self.temperature, "probabilities_t1": plain,
                "aux_skip": self.mutator.aux_skip}

    def _plain_probabilities(self, key: str) -> torch.Tensor:
        """``softmax(alpha)``, or the unsharpened Dirichlet mean with ``mixing="dirichlet"``."""
        alpha = self.mutator.alpha[key].detach()
        if self.mutator.mixing == "dirichlet":
            conc = concentration(alpha)
            return conc / conc.sum()
        return torch.softmax(alpha, -1)

    def state_dict(self) -> dict[str, Any]:
        return {"alpha": {k: v.detach().clone() for k, v in self.mutator.alpha.items()},
                "temperature": self.mutator.temperature}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        with torch.no_grad():
            for k, v in state["alpha"].items():
                self.mutator.alpha[k].copy_(torch.as_tensor(v))
        self.mutator.temperature = float(state["temperature"])
