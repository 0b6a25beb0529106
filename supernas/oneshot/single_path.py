"""Uniform single-path supernet training, shared by ``spos`` and ``random`` (one-shot).

Each weight step draws one architecture uniformly (``UniformMutator``) and trains only that path,
as in Single Path One-Shot (Guo et al. 2020, arXiv 1904.00420, section 3.2) and random search
with weight sharing (Li & Talwalkar 2019, arXiv 1902.07638, section 4). Unused candidates get no
gradient (``zero_grad(set_to_none=True)``), so momentum and weight decay leave them untouched.

Optimiser defaults follow the SPOS supernet recipe (SGD, momentum 0.9, weight decay 4e-5, learning
rate decayed linearly to 0) with the paper's 0.5 for batch 1,024 scaled to 0.05 for the small
batches used here; ``lr_schedule="constant"`` turns the decay off.

The last ``bn_batches`` training batches are kept (and checkpointed) to recalibrate batch-norm
statistics before each candidate is scored in ``select`` (SPOS section 3.3); ``bn_batches=0``
scores with the supernet's running statistics instead (cheaper, less faithful), and if ``select``
runs before any training step the held-out batches themselves are used for recalibration.

Until ``select`` has run, ``derive()`` returns a fixed reference architecture drawn with the seed
(within the cost limit), so per-epoch validation follows one path; afterwards, the selected one.
"""
from __future__ import annotations

import random
from abc import abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from supernas.accuracy import batch_accuracy
from supernas.errors import bad_value
from supernas.mutator import UniformMutator
from supernas.oneshot.base import Backward, Batch, OneShotAlgorithm, plain_backward
from supernas.oneshot.constraints import Choices, CostLimit, _check_input_size, _check_limit
from supernas.oneshot.strength import population_frequencies
from supernas.oneshot.supernet_eval import evaluate_path, forward_with_batch_stats
from supernas.settings import Settings, check_seed, choice, integer, number
from supernas.space import Choice, decisions
from supernas.strategies import Strategy, run_strategy
from supernas.strategies.feasible import draw_feasible, uniform_drawer

LR_SCHEDULES = ("linear", "constant")
REFERENCE_TRIES = 100  # uniform draws to find a reference architecture within the limit


def check_number(name: str, value: Any, low: float, inclusive: bool = True) -> float:
    """``value`` as a float, refused unless it is a finite number >= (or >) ``low``."""
    number(name, value, low=low, low_open=not inclusive)
    return float(value)


def check_count(name: str, value: Any, low: int) -> int:
    """``value`` as an int, refused unless it is an integer >= ``low``."""
    integer(name, value, low=low)
    return int(value)


@dataclass(frozen=True)
class SinglePathSettings(Settings):
    """Uniform single-path training (SPOS recipe, module docstring); ``spos`` and ``random``
    extend it with their selection settings."""

    seed: int = 0
    lr: float = 0.05  # SPOS 0.5 at batch 1,024, scaled to small batches
    momentum: float = 0.9  # SPOS
    weight_decay: float = 4e-5  # SPOS
    lr_schedule: str = "linear"  # SPOS: linear decay to 0
    bn_batches: int = 5  # ours: training batches kept for BN recalibration (SPOS Sec. 3.3)
    max_params: int | None = None  # no limit
    max_macs: int | None = None  # no limit
    input_size: tuple[int, ...] | None = None  # one sample's shape; needed with max_macs

    def validate(self) -> None:
        check_seed("seed", self.seed)
        number("lr", self.lr, low=0.0, low_open=True)
        number("momentum", self.momentum, low=0.0)
        number("weight_decay", self.weight_decay, low=0.0)
        choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        integer("bn_batches", self.bn_batches, low=0)
        _check_limit("max_params", self.max_params)
        _check_limit("max_macs", self.max_macs)
        _check_input_size(self.input_size, self.max_macs is not None)


class SinglePathOneShot(OneShotAlgorithm):
    """Uniform single-path training; subclasses implement ``search`` (the ``select`` step)."""

    settings: SinglePathSettings
    settings_class: type[SinglePathSettings]
    mutator: UniformMutator

    def __init__(self, space: nn.Module, **settings: Any) -> None:
        super().__init__(space)
        self.settings = s = self.settings_class.build(settings)
        self.seed, self.lr, self.momentum = s.seed, s.lr, s.momentum
        self.weight_decay, self.lr_schedule = s.weight_decay, s.lr_schedule
        self.bn_batches: deque[Batch] = deque(maxlen=s.bn_batches)
        self.limit = CostLimit(space, s.max_params, s.max_macs, s.input_size)
        self.mutator = UniformMutator(s.seed).bind(space)
        self.decisions = decisions(space)
        self.reference = self._reference()
        self.best: Choices | None = None
        self.history: list[dict[str, Any]] = []
        self._optimizer: torch.optim.Optimizer | None = None

    def _reference(self) -> Choices:
        """The first seeded uniform draw within the limit; refuses an impossible limit early."""
        rng = random.Random(f"{self.seed}-reference")
        return draw_feasible(self.limit, uniform_drawer(self.decisions, rng), 1, REFERENCE_TRIES)[0]

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        self._optimizer = torch.optim.SGD(self.space.parameters(), lr=self.lr, momentum=self.momentum,
                                          weight_decay=self.weight_decay)
        return {"weights": self._optimizer}

    def on_epoch_start(self, epoch: int, max_epochs: int) -> None:
        if self._optimizer is None or self.lr_schedule == "constant":
            return
        for group in self._optimizer.param_groups:  # SPOS: linear decay to 0 (per epoch here)
            group["lr"] = self.lr * (1.0 - epoch / max(max_epochs, 1))

    def weight_step(self, batch: Batch, optimizers: Mapping[str, torch.optim.Optimizer],
                    backward: Backward = plain_backward) -> dict[str, float]:
        x, y = batch  # x: [B, ...], y: [B]
        self.mutator.attach()
        self.mutator.sample()
        optimizer = optimizers["weights"]
        optimizer.zero_grad(set_to_none=True)
        logits = self.space(x)  # [B, classes]
        loss = self.criterion(logits, y)
        backward(loss)
        optimizer.step()
        self.bn_batches.append((x.detach(), y.detach()))
        return {"loss": float(loss.detach()), "accuracy": batch_accuracy(logits, y)}

    def derive(self) -> dict[str, Choice]:
        return dict(self.best if self.best is not None else self.reference)

    def eval_forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run ``derive()`` through the supernet without touching the sampler's RNG.

        Batch norm normalises with the statistics of ``x`` (buffers kept): the running statistics
        of a supernet trained on many paths do not fit one path (SPOS, section 3.3).
        """
        self.mutator.attach()
        saved = dict(self.mutator.current)
        self.mutator.set_current(self.derive())
        try:
            return forward_with_batch_stats(self.space, x)
        finally:
            self.mutator.current = saved

    def select(self, batches: Iterable[Batch]) -> dict[str, Choice]:
        held_out = list(batches)
        if not held_out:
            raise bad_value("batches", "[]", "at least one held-out (x, y) batch for select()")
        calibration = self._calibration_batches(held_out)
        self.mutator.attach()
        self.history = []
        self.best = self.search(lambda c: self._score(c, calibration, held_out), held_out)
        return dict(self.best)

    def _calibration_batches(self, held_out: list[Batch]) -> list[Batch]:
        """The kept training batches; none with ``bn_batches=0`` (the supernet's running
        statistics are used as they are); the held-out batches when no training step ran."""
        if self.bn_batches.maxlen == 0:
            return []
        return list(self.bn_batches) or held_out

    def _score(self, choices: Choices, calibration: list[Batch], held_out: list[Batch]) -> float:
        acc = evaluate_path(self.space, self.mutator, choices, calibration, held_out)
        record: dict[str, Any] = {"choices": dict(choices), "accuracy": acc}
        if self.limit.active:
            record.update(self.limit.cost(choices))
        self.history.append(record)
        return acc

    def run_selection(self, strategy: Strategy, fitness: Callable[[Choices], float]) -> Choices:
        """The best architecture ``strategy`` finds, driven against ``fitness`` until it finishes
        (``supernas.strategies.run_strategy``)."""
        best = run_strategy(strategy, fitness)
        if best is None:
            raise RuntimeError(f"{type(strategy).__name__} scored no architecture with a finite fitness")
        return best[0]

    @abstractmethod
    def search(self, fitness: Callable[[Choices], float], held_out: Sequence[Batch]) -> Choices:
        """Return the best architecture within the limit; ``fitness(choices)`` is its held-out
        accuracy (BN recalibrated), and every call is recorded in ``history``; ``held_out`` are
        the batches ``fitness`` uses (for priors that need data)."""

    def arch_summary(self) -> dict[str, dict[str, float]]:
        """Before ``select``: the uniform training distribution; after: the option frequencies
        of the selection population (the ``summary_top`` best scored architectures)."""
        scored = sorted(self.history, key=lambda r: -r["accuracy"])[: self.summary_top()]
        if not scored:
            return self._uniform()
        return population_frequencies(self.decisions, [r["choices"] for r in scored])

    def summary_top(self) -> int:
        """How many of the best scored architectures make the selection population."""
        return max(len(self.history) // 10, 1)

    def _uniform(self) -> dict[str, dict[str, float]]:
        """Uniform sampling's marginals (an input is drawn with chance n_chosen / candidates;
        1/2 when any number may be chosen)."""
        def inputs(d: Any) -> dict[str, float]:
            share = d.n_chosen / d.n_candidates if d.n_chosen else 0.5
            return {str(i): share for i in range(d.n_candidates)}
        return {d.key: {c: 1 / len(d.choices) for c in d.choices} if d.kind == "layer" else inputs(d)
                for d in self.decisions}

    def search_rng(self) -> random.Random:
        """A fresh RNG for ``search`` (selection does not depend on how long training ran)."""
        return random.Random(f"{self.seed}-search")

    def state_dict(self) -> dict[str, Any]:
        return {"mutator": self.mutator.state_dict(), "best": self.best, "history": self.history,
                "bn_batches": [(x.cpu(), y.cpu()) for x, y in self.bn_batches]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.mutator.load_state_dict(state["mutator"])
        self.best = dict(state["best"]) if state.get("best") is not None else None
        self.history = list(state.get("history", []))
        self.bn_batches.clear()
        self.bn_batches.extend((x, y) for x, y in state.get("bn_batches", []))
