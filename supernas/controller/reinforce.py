"""REINFORCE for the ENAS controller: moving-average baseline, entropy bonus, skip penalty.

Pham et al. 2018 (arXiv 1802.03268), as in the official code (``src/cifar10/general_controller.py``
and ``micro_controller.py``): the reward gets ``entropy_weight * entropy`` added (no gradient
through the bonus), the baseline is an exponential moving average of that reward updated
*before* the advantage is taken, the loss is ``-log_prob * (reward - baseline)`` plus
``skip_weight * skip_penalty``, averaged over ``aggregate`` samples before one Adam step with
gradient-norm clipping.

Defaults (source): ``lr=1e-3``, ``entropy_weight=1e-4``, ``skip_weight=0.8`` and ``aggregate=20``
(``scripts/cifar10_macro_search.sh``); ``baseline_decay=0.99`` (the official ``controller_bl_dec``;
NNI uses 0.999); Adam ``betas=(0, 0.999)``, ``eps=1e-3`` (the official ``get_train_ops``);
``grad_clip=5`` (NNI's ENAS trainer). The official baseline starts at 0; here it starts at the first
reward (as NNI does), so early advantages are not all positive.

``accumulate=True`` (ask/tell use, where the update would land inside one service call): each
recorded loss is back-propagated at once, divided by ``aggregate``, into the parameters' ``.grad``
(in pending order), so the update itself is only clipping and the Adam step; the same gradient
as the batched backward up to the order of floating-point sums, deterministic, and rebuilt in the
same order after ``load_state_dict``.

Non-finite numbers never reach the weights: a reward (after normalisation) whose baseline or
advantage is not finite, or whose advantage exceeds ``MAX_ADVANTAGE`` (the float32 loss would
overflow), is skipped with the baseline unchanged (``record`` returns False); a sample whose loss
is not finite is skipped the same way; an update whose mean loss or gradient norm is not finite
is dropped (gradient cleared, no Adam step, ``skipped_updates`` counts it). Settings must be
finite numbers.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

import torch

from supernas.controller.jsonstate import optimizer_state_from_json, to_json
from supernas.controller.lstm import EnasController, Sample
from supernas.errors import bad_value
from supernas.space import Choice

Backward = Callable[[torch.Tensor], None]
#: Largest |advantage| used: a log-probability is a sum over at most ~10^4 decisions, so
#: ``log_prob * advantage`` stays far inside float32 (max ~3.4e38).
MAX_ADVANTAGE = 1e30


def _plain_backward(loss: torch.Tensor) -> None:
    loss.backward()


class Reinforce:
    """Owns the controller's optimiser and baseline; ``update`` applies one aggregated step."""

    def __init__(self, controller: EnasController, lr: float = 1e-3,
                 baseline_decay: float = 0.99, entropy_weight: float = 1e-4,
                 skip_weight: float = 0.8, grad_clip: float | None = 5.0,
                 aggregate: int = 20, accumulate: bool = False) -> None:
        _check(lr, baseline_decay, entropy_weight, skip_weight, grad_clip, aggregate)
        self.controller = controller
        self.entropy_weight, self.skip_weight = entropy_weight, skip_weight
        self.baseline_decay, self.grad_clip, self.aggregate = baseline_decay, grad_clip, aggregate
        self.optimizer = torch.optim.Adam(controller.parameters(), lr=lr, betas=(0.0, 0.999),
                                          eps=1e-3)
        self.baseline: float | None = None
        self.updates = 0
        self.skipped_updates = 0  # updates dropped for a non-finite loss or gradient (not state)
        # (architecture, advantage) awaiting the next aggregated update; the log-probabilities
        # are recomputed at update time (the controller has not changed since they were drawn).
        self.pending: list[tuple[dict[str, Choice], float]] = []
        # Differentiable passes of the pending architectures handed to ``record`` (not state:
        # recomputed when missing; valid because the controller only changes in ``update``).
        self._samples: list[Sample | None] = []
        self._tensors: tuple[tuple[int, ...], dict[str, Any]] | None = None  # see _tensor_state
        self.accumulate = accumulate
        self._accumulated = 0  # pending entries whose gradient is in .grad (accumulate mode)

    def record(self, choices: Mapping[str, Choice], reward: float, entropy: float,
               backward: Backward | None = None, sample: Sample | None = None) -> bool:
        """Add one rewarded architecture; update when ``aggregate`` are pending (returns True).

        ``sample``: the caller's own pass ``controller(fixed=choices)`` with gradients, under the
        current controller; it is reused by the update instead of a second, identical pass.
        """
        if self.accumulate and backward is None:
            return self._record_accumulating(choices, reward, entropy, sample)
        if len(self._samples) != len(self.pending):  # pending was replaced from outside
            self._samples = [None] * len(self.pending)
        advantage = self.advantage(reward, entropy)
        if advantage is None:
            return False
        self.pending.append((dict(choices), advantage))
        self._samples.append(sample if sample is not None and sample.log_prob.requires_grad
                             else None)
        if len(self.pending) < self.aggregate:
            return False
        samples = self._samples
        if any(s is None for s in samples):  # all passes anew, in pending order: autograd then
            samples = [self.controller(fixed=a) for a, _ in self.pending]  # sums alike, bit for bit
        ready = cast("list[Sample]", samples)  # no None left: recomputed above if any was
        self.update([self.loss(s, adv) for s, (_, adv) in zip(ready, self.pending)], backward)
        self.pending, self._samples = [], []
        return True

    def _record_accumulating(self, choices: Mapping[str, Choice], reward: float, entropy: float,
                             sample: Sample | None) -> bool:
        """``record`` in accumulate mode: back-propagate this loss now, step when the batch is full."""
        if self._accumulated != len(self.pending):  # restored or replaced: redo, in pending order
            self.optimizer.zero_grad()
            self._accumulated = 0
            for a, adv in self.pending:
                self._accumulate(self.controller(fixed=a), adv)
        before = self.baseline
        advantage = self.advantage(reward, entropy)
        if advantage is None:
            return False
        if sample is None or not sample.log_prob.requires_grad:
            sample = self.controller(fixed=choices)
        if not self._accumulate(sample, advantage):
            self.baseline = before
            return False
        self.pending.append((dict(choices), advantage))
        if len(self.pending) < self.aggregate:
            return False
        self._step()
        self.optimizer.zero_grad()
        self.pending, self._samples, self._accumulated = [], [], 0
        return True

    def _accumulate(self, sample: Sample, advantage: float) -> bool:
        """Back-propagate one loss into ``.grad``; False (nothing added) when it is not finite."""
        loss = self.loss(sample, advantage) / self.aggregate
        if not torch.isfinite(loss.detach()):
            return False
        loss.backward()
        self._accumulated += 1
        return True

    def advantage(self, reward: float, entropy: float) -> float | None:
        """Move the baseline towards ``reward + entropy bonus`` and return the advantage; None,
        with the baseline unchanged, when the baseline or advantage would not be finite (or the
        advantage exceeds ``MAX_ADVANTAGE``)."""
        bonus = reward + self.entropy_weight * entropy
        if self.baseline is None:
            baseline = bonus
        else:
            baseline = self.baseline - (1.0 - self.baseline_decay) * (self.baseline - bonus)
        advantage = bonus - baseline
        if not (math.isfinite(baseline) and abs(advantage) <= MAX_ADVANTAGE):
            return None
        self.baseline = baseline
        return advantage

    def loss(self, sample: Sample, advantage: float) -> torch.Tensor:
        """The REINFORCE loss of one sample (scalar)."""
        return -sample.log_prob * advantage + self.skip_weight * sample.skip_penalty

    def update(self, losses: Sequence[torch.Tensor], backward: Backward | None = None) -> float:
        """One Adam step on the mean of ``losses``; returns the gradient norm before clipping
        (NaN, and no step, when the mean loss is not finite)."""
        self.optimizer.zero_grad()
        loss = torch.stack(list(losses)).mean()
        if not torch.isfinite(loss.detach()):
            self.skipped_updates += 1
            return float("nan")
        (backward or _plain_backward)(loss)
        return self._step()

    def _step(self) -> float:
        """Clip the gradient in ``.grad``, one Adam step; the norm before clipping. A gradient
        whose norm is not finite is cleared instead (no step)."""
        params = list(self.controller.parameters())
        limit = self.grad_clip if self.grad_clip is not None else float("inf")
        norm = float(torch.nn.utils.clip_grad_norm_(params, limit))
        if not math.isfinite(norm):
            self.optimizer.zero_grad()
            self.skipped_updates += 1
            return norm
        self.optimizer.step()
        self.updates += 1
        return norm

    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable: controller weights, optimiser state, baseline, updates, pending batch."""
        optimizer = {**self._tensor_state()["optimizer"],
                     "param_groups": to_json(self.optimizer.state_dict()["param_groups"])}
        return {"controller": self._tensor_state()["controller"], "optimizer": optimizer,
                "baseline": self.baseline, "updates": self.updates,
                "pending": [[a, adv] for a, adv in self.pending]}

    def _tensor_state(self) -> dict[str, Any]:
        """JSON form of the weights and Adam moments, re-encoded only after they changed: any
        in-place change of a parameter (an optimiser step, ``load_state_dict``) bumps its
        version counter. Saving every call costs ~no encoding between updates."""
        params = list(self.controller.parameters())
        key = (self.updates, len(self.optimizer.state), *(p._version for p in params))
        if self._tensors is None or self._tensors[0] != key:
            opt = self.optimizer.state_dict()
            self._tensors = (key, {"controller": to_json(self.controller.state_dict()),
                                   "optimizer": {"state": to_json(opt["state"])}})
        return self._tensors[1]

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        from supernas.controller.jsonstate import from_json

        self.controller.load_state_dict(from_json(state["controller"]))
        self.optimizer.load_state_dict(optimizer_state_from_json(state["optimizer"]))
        self._tensors = None
        self.baseline, self.updates = state["baseline"], state["updates"]
        self.pending = [(dict(a), float(adv)) for a, adv in state["pending"]]
        self._samples = [None] * len(self.pending)
        self.optimizer.zero_grad()
        self._accumulated = 0


def _check(lr: float, decay: float, ent: float, skip: float, clip: float | None,
           aggregate: int) -> None:
    if not (lr > 0 and math.isfinite(lr)):
        raise bad_value("lr", lr, "a finite number > 0")
    if not 0 <= decay < 1:
        raise bad_value("baseline_decay", decay, "a number in [0, 1)")
    if not (ent >= 0 and math.isfinite(ent)):
        raise bad_value("entropy_weight", ent, "a finite number >= 0")
    if not (skip >= 0 and math.isfinite(skip)):
        raise bad_value("skip_weight", skip, "a finite number >= 0")
    if clip is not None and not clip > 0:
        raise bad_value("grad_clip", clip, "a number > 0, or None for no clipping")
    if not isinstance(aggregate, int) or aggregate < 1:
        raise bad_value("aggregate", aggregate, "an integer >= 1")
