"""One-shot ENAS: a controller-driven sampling mutator over a weight-sharing supernet.

Pham et al. 2018, "Efficient Neural Architecture Search via Parameter Sharing", arXiv 1802.03268
(Sec. 2: alternate shared-weight training on sampled children and REINFORCE training of the
controller on validation reward; Sec. 2.2 / 3: "sample several models" from the trained policy,
keep the one with the best validation reward). Variant implemented:

* ``weight_step``: one child per batch sampled from the controller (no gradient), cross-entropy
  on the training batch, SGD step on the shared weights with gradient-norm clipping;
* ``arch_step``: ``arch_samples`` children, reward = accuracy on the held-out batch (supernet in
  eval mode, no gradient); REINFORCE with the moving-average baseline, entropy bonus and skip
  penalty, one controller update per ``aggregate`` rewarded samples (``supernas.controller``);
* ``derive``: the controller's greedy (argmax) architecture;
* ``select``: the greedy architecture plus ``num_select - 1`` sampled ones, each scored by accuracy
  on the given validation batches; the best is kept (the paper's "sample several models").

Defaults (source): controller settings as in ``supernas.controller`` (macro search);
``weight_lr=0.05``, ``momentum=0.9`` (Nesterov), ``weight_decay=2.5e-4``, ``weight_grad_clip=5``:
the official ``scripts/cifar10_macro_search.sh`` (``child_lr_max``, ``child_l2_reg``) and
``child_grad_bound``; ``arch_samples=1`` with ``aggregate=20`` (the official code's
``controller_num_aggregate``: 20 single-batch samples per update); ``num_select=10`` (the paper
says "several"; 10 keeps selection under a second for small supernets).

Children are sampled once per step from a buffer of ``sample_buffer=16`` architectures drawn in
one batched controller pass (no gradient; emptied at every controller update), which costs about
1.5 single passes: the per-step overhead over training the sampled child alone is about a tenth
of one controller pass (``benchmarks/enas_oneshot_overhead.py``). ``sample_buffer=1`` draws each
child separately.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import nn

from supernas.controller import EnasController, Reinforce
from supernas.controller.batched import sample_batch
from supernas.controller.jsonstate import generator_state_from_json, generator_state_to_json
from supernas.errors import bad_value
from supernas.mutator import SamplingMutator
from supernas.oneshot.base import Backward, Batch, OneShotAlgorithm, plain_backward, register_algorithm
from supernas.space import Choice


class ControllerMutator(SamplingMutator):
    """A ``SamplingMutator`` whose ``sample()`` asks the ENAS controller (seeded generator).

    ``sample()`` pops from a buffer of ``buffer_size`` architectures drawn in one batched pass
    (``supernas.controller.batched``), without autograd; ``invalidate()`` empties the buffer and
    one-shot ENAS calls it after every controller update, so children always come from the
    current policy. Buffered draws leave ``log_prob``/``entropy`` at ``None`` (REINFORCE rescores
    architectures at update time); ``sample(with_grad=True)`` runs one unbatched pass and sets
    them with the gradient to the controller, as the ``SamplingMutator`` contract describes.
    """

    def __init__(self, seed: int = 0, buffer_size: int = 16, **controller_settings: Any) -> None:
        super().__init__()
        self.settings = controller_settings
        self.gen = torch.Generator().manual_seed(seed)
        self.seed, self.buffer_size = seed, buffer_size
        self.buffer: list[dict[str, Choice]] = []
        self.controller: EnasController | None = None

    def on_bind(self, model: nn.Module) -> None:
        if self.controller is None:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(self.seed)
                self.controller = EnasController(self.decisions, **self.settings)
        if not self.current:  # binding again keeps the RNG and the current child
            self.sample()

    def sample(self, with_grad: bool = False) -> dict[str, Choice]:
        assert self.controller is not None, "bind the mutator to a space first"
        if with_grad:
            drawn = self.controller(generator=self.gen)
            self.current, self.log_prob, self.entropy = drawn.choices, drawn.log_prob, drawn.entropy
            return dict(self.current)
        if not self.buffer:
            self.buffer = sample_batch(self.controller, self.buffer_size, self.gen)
        self.current, self.log_prob, self.entropy = self.buffer.pop(0), None, None
        return dict(self.current)

    def invalidate(self) -> None:
        """Forget buffered draws (call after the controller changes)."""
        self.buffer = []

    def greedy(self) -> dict[str, Choice]:
        assert self.controller is not None, "bind the mutator to a space first"
        with torch.no_grad():
            return self.controller(greedy=True).choices


@register_algorithm("enas")
class EnasOneShot(OneShotAlgorithm):
    """ENAS search steps for a supernet (see the module docstring)."""

    def __init__(self, space: nn.Module, seed: int = 0, hidden_size: int = 64,
                 tanh_constant: float | None = 1.5, temperature: float = 1.0,
                 op_tanh_reduce: float = 1.0, skip_target: float = 0.4, ctrl_lr: float = 1e-3,
                 baseline_decay: float = 0.99, entropy_weight: float = 1e-4,
                 skip_weight: float = 0.8, ctrl_grad_clip: float | None = 5.0,
                 aggregate: int = 20, arch_samples: int = 1, weight_lr: float = 0.05,
                 momentum: float = 0.9, weight_decay: float = 2.5e-4,
                 weight_grad_clip: float | None = 5.0, num_select: int = 10,
                 sample_buffer: int = 16) -> None:
        super().__init__(space)
        _check(arch_samples, num_select, weight_lr, momentum, weight_decay, weight_grad_clip)
        if not isinstance(sample_buffer, int) or sample_buffer < 1:
            raise bad_value("sample_buffer", sample_buffer, "an integer >= 1")
        self.mutator = ControllerMutator(seed, sample_buffer, hidden_size=hidden_size,
                                         tanh_constant=tanh_constant, temperature=temperature,
                                         op_tanh_reduce=op_tanh_reduce, skip_target=skip_target)
        self.mutator.bind(space)
        assert self.mutator.controller is not None
        self.controller = self.mutator.controller
        self.trainer = Reinforce(self.controller, ctrl_lr, baseline_decay, entropy_weight,
                                 skip_weight, ctrl_grad_clip, aggregate)
        self.arch_samples, self.num_select = arch_samples, num_select
        self.weight_lr, self.momentum, self.weight_decay = weight_lr, momentum, weight_decay
        self.weight_grad_clip = weight_grad_clip
        self._params = list(space.parameters())  # the same objects after ``.to(device)``

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        weights = torch.optim.SGD(self.space.parameters(), lr=self.weight_lr,
                                  momentum=self.momentum, nesterov=self.momentum > 0,
                                  weight_decay=self.weight_decay)
        return {"weights": weights, "arch": self.trainer.optimizer}

    def weight_step(self, batch: Batch, optimizers: Mapping[str, torch.optim.Optimizer],
                    backward: Backward = plain_backward) -> dict[str, float]:
        x, y = batch  # x: [B, ...], y: [B]
        self.mutator.sample()
        if not self.space.training:  # train() walks every supernet module: only when needed
            self.space.train()
        opt = optimizers["weights"]
        opt.zero_grad()
        logits = self.space(x)  # [B, classes]
        loss = self.criterion(logits, y)
        backward(loss)
        if self.weight_grad_clip is not None:
            # only the sampled child's parameters have gradients; the norm over them is the same
            with_grad = [p for p in self._params if p.grad is not None]
            nn.utils.clip_grad_norm_(with_grad, self.weight_grad_clip)
        opt.step()
        return {"loss": float(loss.detach()), "acc": _accuracy(logits.detach(), y)}

    def arch_step(self, batch: Batch, optimizers: Mapping[str, torch.optim.Optimizer],
                  backward: Backward = plain_backward) -> dict[str, float]:
        rewards = []
        for _ in range(self.arch_samples):
            choices = self.mutator.sample()
            reward = self.evaluate(choices, [batch])
            with torch.no_grad():
                entropy = float(self.controller(fixed=choices).entropy)
            if self.trainer.record(choices, reward, entropy, backward):
                self.mutator.invalidate()
            rewards.append(reward)
        return {"reward": sum(rewards) / len(rewards), "baseline": float(self.trainer.baseline)}

    @torch.no_grad()
    def evaluate(self, choices: Mapping[str, Choice], batches: Iterable[Batch]) -> float:
        """Accuracy of ``choices`` on ``batches`` (supernet in eval mode; mode restored)."""
        was_training = self.space.training
        self.mutator.set_current(choices)
        self.space.eval()
        correct = total = 0
        for x, y in batches:
            correct += int((self.space(x).argmax(-1) == y).sum())
            total += len(y)
        self.space.train(was_training)
        return correct / max(total, 1)

    def derive(self) -> dict[str, Choice]:
        return self.mutator.greedy()

    def select(self, batches: Iterable[Batch]) -> dict[str, Choice]:
        data = list(batches)
        candidates = [self.derive()] + [self.mutator.sample() for _ in range(self.num_select - 1)]
        scores = [self.evaluate(c, data) for c in candidates]
        return dict(candidates[scores.index(max(scores))])

    def arch_summary(self) -> dict[str, dict[str, float]]:
        with torch.no_grad():
            probs = self.controller(greedy=True, record_probs=True).probs or {}
        out: dict[str, dict[str, float]] = {}
        for d in self.mutator.decisions:
            names = d.choices if d.kind == "layer" else [str(i) for i in range(d.n_candidates)]
            out[d.key] = dict(zip(names, probs[d.key]))
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"trainer": self.trainer.state_dict(),
                "gen": generator_state_to_json(self.mutator.gen),
                "buffer": [dict(a) for a in self.mutator.buffer]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.trainer.load_state_dict(state["trainer"])
        generator_state_from_json(self.mutator.gen, state["gen"])
        self.mutator.buffer = [dict(a) for a in state["buffer"]]


def _accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    return float((logits.argmax(-1) == y).float().mean())


def _check(arch_samples: int, num_select: int, lr: float, momentum: float, wd: float,
           clip: float | None) -> None:
    if not isinstance(arch_samples, int) or arch_samples < 1:
        raise bad_value("arch_samples", arch_samples, "an integer >= 1")
    if not isinstance(num_select, int) or num_select < 1:
        raise bad_value("num_select", num_select, "an integer >= 1")
    if not lr > 0:
        raise bad_value("weight_lr", lr, "a number > 0")
    if not 0 <= momentum < 1:
        raise bad_value("momentum", momentum, "a number in [0, 1)")
    if not wd >= 0:
        raise bad_value("weight_decay", wd, "a number >= 0")
    if clip is not None and not clip > 0:
        raise bad_value("weight_grad_clip", clip, "a number > 0, or None for no clipping")
