"""One-shot (weight-sharing) algorithms as plain torch steps.

A one-shot algorithm owns a mutator bound to the supernet and exposes the steps of its search;
a driver (the Lightning module in ``trial_templates``, or a plain loop) calls them in this order::

    algo = SomeAlgorithm(space, **settings)          # binds its mutator, validates settings
    opts = algo.configure_optimizers()               # {"weights": ..., "arch": ...}
    for epoch in range(max_epochs):
        algo.on_epoch_start(epoch, max_epochs)       # temperature schedules, LR schedules
        for train_batch, val_batch in batches:
            algo.arch_step(val_batch, opts, backward)      # architecture / controller phase
            algo.weight_step(train_batch, opts, backward)  # shared-weight phase
        algo.derive()                                # current discrete architecture
    final = algo.select(val_batches)                 # final architecture (default: derive())

Algorithms are registered in ``ALGORITHMS`` and created as
``ALGORITHMS.create(name, space=supernet, **settings)``; each algorithm's settings are one frozen
dataclass (``settings_class``, ``supernas.settings``) built and validated in ``__init__`` with
``supernas.errors.bad_value`` messages.

``backward(loss)`` is supplied by the driver (``loss.backward()`` in plain torch,
``LightningModule.manual_backward`` under Lightning so AMP and DDP work), which keeps the core
free of any training framework. ``state_dict`` covers the algorithm's own state (architecture
parameters, controller, baselines, RNGs) beyond the supernet's weights.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from torch import nn

from supernas.mutator import Mutator
from supernas.registry import Registry
from supernas.settings import Settings
from supernas.space import Choice

Backward = Callable[[torch.Tensor], None]
Batch = tuple[torch.Tensor, torch.Tensor]


def plain_backward(loss: torch.Tensor) -> None:
    """The default ``backward`` for drivers outside Lightning."""
    loss.backward()


class OneShotAlgorithm(ABC):
    """Base class; ``space`` is the supernet, ``mutator`` is bound to it by the subclass."""

    mutator: Mutator
    #: the algorithm's settings dataclass (``supernas.settings``), set by ``@with_settings``
    settings_class: type[Settings] = Settings

    def __init__(self, space: nn.Module) -> None:
        self.space = space
        self.criterion: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = nn.CrossEntropyLoss()

    @abstractmethod
    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Optimisers by phase name (``"weights"``, and ``"arch"`` when the algorithm has one)."""

    def on_epoch_start(self, epoch: int, max_epochs: int) -> None:
        """Called before each epoch (schedules)."""

    @abstractmethod
    def weight_step(self, batch: Batch, optimizers: Mapping[str, torch.optim.Optimizer],
                    backward: Backward = plain_backward) -> dict[str, float]:
        """One update of the shared weights on a training batch; returns metrics."""

    def arch_step(self, batch: Batch, optimizers: Mapping[str, torch.optim.Optimizer],
                  backward: Backward = plain_backward) -> dict[str, float]:
        """One update of the architecture parameters / controller on a held-out batch."""
        return {}

    @abstractmethod
    def derive(self) -> dict[str, Choice]:
        """The discrete architecture the search currently points to."""

    def select(self, batches: Iterable[Batch]) -> dict[str, Choice]:
        """Final choice after training; searches that rank candidates on held-out ``batches``
        (ENAS best-of-N sampling, SPOS evolution, zero-shot scoring) override this."""
        return self.derive()

    #: False for algorithms that need no supernet training (zero-shot): drivers skip the epochs.
    needs_training: bool = True

    def eval_forward(self, x: torch.Tensor) -> torch.Tensor:
        """Forward of the derived architecture on the shared weights, for validation metrics.

        Batch norm uses the statistics of ``x`` itself: running statistics gathered while the
        supernet ran mixtures (DARTS) or many sampled paths (ENAS, SPOS) do not describe one
        child (SPOS, arXiv 1904.00420, sec. 3.3). The supernet's BN buffers are left unchanged,
        and so is the algorithm's own mutator (it is re-attached, not bound again).
        """
        from supernas.mutator import ChoiceMutator
        from supernas.oneshot.supernet_eval import forward_with_batch_stats

        fixed = getattr(self, "_eval_mutator", None)
        if fixed is None:  # bound once; later calls only switch the architecture
            fixed = self._eval_mutator = ChoiceMutator().bind(self.space)
        fixed.set_current(self.derive())
        fixed.attach()
        try:
            return forward_with_batch_stats(self.space, x)
        finally:
            self.mutator.attach()

    def arch_summary(self) -> dict[str, dict[str, float]]:
        """Per decision, a probability per option: the distribution the search acts on (for
        plots, reports and the decision strength)."""
        return {}

    def arch_extras(self) -> dict[str, Any]:
        """Plain data recorded beside ``arch_summary`` each epoch (e.g. DARTS's temperature)."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what ``state_dict`` returned."""


ALGORITHMS: Registry[OneShotAlgorithm] = Registry("one-shot algorithm")
register_algorithm = ALGORITHMS.register
