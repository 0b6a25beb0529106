"""One-shot ENAS: a controller-driven sampling mutator over a weight-sharing supernet.

Pham et al. 2018, "Efficient Neural Architecture Search via Parameter Sharing", arXiv 1802.03268
(Sec. 2: alternate shared-weight training on sampled children and REINFORCE training of the
controller on validation reward; Sec. 2.2 / 3: "sample several models" from the trained policy,
keep the one with the best validation reward). Variant implemented:

* ``weight_step``: one child per batch sampled from the controller (no gradient), cross-entropy
  on the training batch, SGD step on the shared weights with gradient-norm clipping; the weight
  lr follows one cosine from ``weight_lr`` to ``weight_lr_min`` over the search
  (``on_epoch_start``);
* ``arch_step``: ``arch_samples`` children drawn from the current policy, each rewarded by its
  accuracy on the held-out batch with batch norm normalising by *that batch's* statistics (the
  official ``build_valid_rl`` runs the child with ``is_training=True``; the supernet's running
  statistics mix every path and fit no child, SPOS arXiv 1904.00420 Sec. 3.3); REINFORCE with
  the moving-average baseline, entropy bonus and skip penalty, one controller update per
  ``aggregate`` rewarded children (``supernas.controller``). No controller update during the
  first ``warmup`` fraction of the epochs (see below);
* ``derive``: the controller's greedy (argmax) architecture;
* ``select``: the greedy architecture plus ``num_select - 1`` sampled ones, each scored like a
  reward (batch-statistics BN) on the given validation batches; the best is kept (the paper's
  "sample several models").

Defaults (source; official scripts ``scripts/cifar10_micro_search.sh`` and ``..._macro_search.sh``
of github.com/melodyguan/enas, loop in ``src/cifar10/main.py``):

* ``aggregate=10``: the micro (cell) search's ``controller_num_aggregate`` (macro: 20); cell spaces
  (NB201, DARTS, ENAS micro) are the common case;
* ``ctrl_lr=7e-3``: twice the micro search's ``controller_lr`` (3.5e-3; macro 1e-3). The official
  runs last 150-310 epochs; in a 10-epoch search the policy at 3.5e-3 ended undecided on one of
  three NB201 seeds (decision strength 0.46; 0.51 and 0.74 on the others, BENCHMARKS.md section 2,
  rows ``enas-ctrl3.5e-3``); at 7e-3 the policy moves twice as far in the same updates (rows
  ``enas``: seed 0 ends at 0.70 with the greedy cell all ``nor_conv_3x3`` from epoch 4 on);
* ``arch_samples=4``: the official loop runs ``controller_train_steps * controller_num_aggregate``
  rewarded samples after every epoch, i.e. 30 updates per epoch (micro). With 4 samples per
  step and ``aggregate=10`` a 78-step epoch (the NB201 benchmark's 5,000 images at batch 64)
  makes 31 updates;
* ``weight_lr=0.05`` -> ``weight_lr_min=5e-4``: ``child_lr_max`` / ``child_lr_min`` with
  ``child_lr_cosine`` (both scripts); their first cosine cycle is ``child_lr_T_0=10`` epochs, so a
  10-epoch search is exactly that one cycle; ``momentum=0.9`` (Nesterov),
  ``weight_decay=2.5e-4`` (macro ``child_l2_reg``), ``weight_grad_clip=5`` (``child_grad_bound``);
* ``tanh_constant=1.5``, ``temperature=1`` (macro): the micro ``1.10 / op_tanh_reduce 2.5`` bounds
  an op logit to +-0.44, which caps a five-op decision at probability 0.375;
* ``free_target=0.4``: the ENAS skip penalty (``skip_weight=0.8``, ``skip_target=0.4``, macro
  script) also applied, one-sided, to each cell decision's total probability of parameter-free
  ops (``none``, ``skip_connect``, pools: candidates without parameters), see
  ``supernas.controller.lstm``. Those ops need no training, so on a young supernet they win
  the reward and the policy collapses onto them, the NAS-Bench-201 paper's ENAS result (Dong &
  Yang 2020, arXiv 2001.00326: 54.30, the all-skip cell). Measured on the NB201 benchmark
  (20 steps per epoch, seed 0): without the penalty the greedy cell turns all ``avg_pool_3x3``
  (49.02) as soon as the controller is updated (epoch 0 without warm-up, epoch 5 after it);
  with it (and no warm-up) it is all ``nor_conv_3x3`` (93.76) from epoch 4 on. ``None`` turns
  it off;
* ``warmup=0.25``: the first quarter of the epochs trains the shared weights only, on children
  of the initial, near-uniform policy: ProxylessNAS (Cai et al. 2019, arXiv 1812.00332) code,
  ``search/imagenet_arch_search.py``, ``warmup_epochs=40`` before ``n_epochs=120`` of search, for
  its gradient and its REINFORCE (``arch_algo="rl"``) variants alike. It also saves a quarter
  of the reward passes. Full NB201 benchmark runs (10 epochs, 78 steps each) at controller lr
  3.5e-3: seed 0 greedy cell all ``nor_conv_3x3`` (93.76), selected 93.30, decision strength
  0.51; seed 1: 93.76, selected 93.56, strength 0.74; seed 0 with ``warmup=0``: 93.76, selected
  93.29, strength 0.47 (the policy commits to ``nor_conv_1x1`` before the 3x3 convolutions are
  trained, and recovers slowly);
* ``num_select=10``: the paper says "several"; 10 keeps selection under a second for small supernets.

Children for weight steps come from a buffer of ``sample_buffer=16`` architectures drawn in one
batched controller pass (no gradient; emptied at every controller update), which costs about
1.5 single passes (``benchmarks/enas_oneshot_overhead.py``). ``sample_buffer=1`` draws each
child separately. Rewarded children are drawn one by one with gradient; that pass is reused by
the update.

Data parallel (issue 14): a driver running N ranks sets ``rank``, ``world_size`` and
``gather_rewards`` (an all-gather of one float per rank). Each reward round then draws N children
from the shared generator on every rank, rank r scores child r on its own validation batch, and
every rank records the N (child, reward) pairs in rank order: the controller gets N times the
samples of one process (as ENAS's many-worker setting, one policy), and its updates, baseline and
generator stay identical on every rank. Weight steps still train one child on all ranks.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from supernas.controller import MAX_HIDDEN_SIZE, EnasController, Reinforce
from supernas.controller.batched import sample_batch
from supernas.controller.jsonstate import generator_state_from_json, generator_state_to_json
from supernas.mutables import LayerChoice
from supernas.mutator import SamplingMutator
from supernas.oneshot.base import Backward, Batch, OneShotAlgorithm, plain_backward, register_algorithm
from supernas.oneshot.supernet_eval import forward_with_batch_stats
from supernas.settings import Settings, check_seed, integer, number, with_settings
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


@dataclass(frozen=True)
class EnasOneShotSettings(Settings):
    """Settings of one-shot ENAS (sources in the module docstring)."""

    seed: int = 0
    hidden_size: int = 64  # ENAS lstm_size
    tanh_constant: float | None = 1.5  # ENAS macro controller_tanh_constant
    temperature: float = 1.0  # ENAS macro
    op_tanh_reduce: float = 1.0  # no extra reduction (micro: 2.5)
    skip_target: float = 0.4  # ENAS macro controller_skip_target
    ctrl_lr: float = 7e-3  # twice ENAS micro controller_lr (module docstring)
    baseline_decay: float = 0.99  # ENAS controller_bl_dec
    entropy_weight: float = 1e-4  # ENAS controller_entropy_weight
    skip_weight: float = 0.8  # ENAS macro controller_skip_weight
    ctrl_grad_clip: float | None = 5.0  # ENAS controller grad bound
    aggregate: int = 10  # ENAS micro controller_num_aggregate
    arch_samples: int = 4  # ours: ~30 updates per epoch, as the official loop
    weight_lr: float = 0.05  # ENAS child_lr_max
    weight_lr_min: float = 5e-4  # ENAS child_lr_min
    momentum: float = 0.9  # ENAS (Nesterov)
    weight_decay: float = 2.5e-4  # ENAS macro child_l2_reg
    weight_grad_clip: float | None = 5.0  # ENAS child_grad_bound
    warmup: float = 0.25  # ProxylessNAS warm-up share
    free_target: float | None = 0.4  # ours: ENAS skip penalty applied to parameter-free ops
    num_select: int = 10  # ours: "sample several models"
    sample_buffer: int = 16  # ours: one batched controller pass per 16 children

    def validate(self) -> None:
        check_seed("seed", self.seed)
        integer("hidden_size", self.hidden_size, low=1, high=MAX_HIDDEN_SIZE)
        number("tanh_constant", self.tanh_constant, low=0.0, low_open=True, none_ok=True)
        for name in ("temperature", "op_tanh_reduce", "ctrl_lr", "weight_lr"):
            number(name, getattr(self, name), low=0.0, low_open=True)
        for name in ("skip_target", "free_target"):
            number(name, getattr(self, name), low=0.0, high=1.0, low_open=True, high_open=True,
                   none_ok=name == "free_target")
        for name in ("baseline_decay", "momentum", "warmup"):
            number(name, getattr(self, name), low=0.0, high=1.0, high_open=True)
        for name in ("entropy_weight", "skip_weight", "weight_decay"):
            number(name, getattr(self, name), low=0.0)
        for name in ("ctrl_grad_clip", "weight_grad_clip"):
            number(name, getattr(self, name), low=0.0, low_open=True, none_ok=True)
        for name in ("aggregate", "arch_samples", "num_select", "sample_buffer"):
            integer(name, getattr(self, name), low=1)
        number("weight_lr_min", self.weight_lr_min, low=0.0, high=self.weight_lr)


@register_algorithm("enas")
@with_settings(EnasOneShotSettings)
class EnasOneShot(OneShotAlgorithm):
    """ENAS search steps for a supernet (see the module docstring)."""

    settings: EnasOneShotSettings
    settings_class: type[EnasOneShotSettings]
    mutator: ControllerMutator

    def __init__(self, space: nn.Module, **settings: Any) -> None:
        super().__init__(space)
        self.settings = s = self.settings_class.build(settings)
        free = {} if s.free_target is None else parameter_free_ops(space)
        self.mutator = ControllerMutator(s.seed, s.sample_buffer, hidden_size=s.hidden_size,
                                         tanh_constant=s.tanh_constant, temperature=s.temperature,
                                         op_tanh_reduce=s.op_tanh_reduce, skip_target=s.skip_target,
                                         free_ops=free,
                                         free_target=0.4 if s.free_target is None else s.free_target)
        self.mutator.bind(space)
        assert self.mutator.controller is not None
        self.controller = self.mutator.controller
        self.trainer = Reinforce(self.controller, s.ctrl_lr, s.baseline_decay, s.entropy_weight,
                                 s.skip_weight, s.ctrl_grad_clip, s.aggregate)
        self.arch_samples, self.num_select, self.warmup = s.arch_samples, s.num_select, s.warmup
        self.weight_lr, self.weight_lr_min = s.weight_lr, s.weight_lr_min
        self.momentum, self.weight_decay = s.momentum, s.weight_decay
        self.weight_grad_clip = s.weight_grad_clip
        self._params = list(space.parameters())  # the same objects after ``.to(device)``
        self._weights_opt: torch.optim.Optimizer | None = None
        self.epoch, self.max_epochs = 0, 0  # 0: not driven by epochs (no warm-up, constant lr)
        # data parallel (set by the driver): this process's rank and the world size, and the
        # all-gather of one reward per rank (in rank order); see ``_reward_round``
        self.rank, self.world_size = 0, 1
        self.gather_rewards: Callable[[float], list[float]] = _alone

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        lr = self.cosine_lr(self.epoch, self.max_epochs) if self.max_epochs else self.weight_lr
        self._weights_opt = torch.optim.SGD(self.space.parameters(), lr=lr,
                                            momentum=self.momentum, nesterov=self.momentum > 0,
                                            weight_decay=self.weight_decay)
        return {"weights": self._weights_opt, "arch": self.trainer.optimizer}

    def on_epoch_start(self, epoch: int, max_epochs: int) -> None:
        """Cosine weight lr (official ``child_lr_cosine``); remembers the epoch for the warm-up."""
        self.epoch, self.max_epochs = epoch, max_epochs
        if self._weights_opt is not None:
            for group in self._weights_opt.param_groups:
                group["lr"] = self.cosine_lr(epoch, max_epochs)

    def cosine_lr(self, epoch: int, max_epochs: int) -> float:
        """``weight_lr_min + (weight_lr - weight_lr_min) * (1 + cos(pi * epoch / max_epochs)) / 2``."""
        frac = min(max(epoch / max(max_epochs, 1), 0.0), 1.0)
        span = self.weight_lr - self.weight_lr_min
        return self.weight_lr_min + 0.5 * span * (1 + math.cos(math.pi * frac))

    def warming_up(self) -> bool:
        """True during the first ``warmup`` fraction of the epochs (weights only)."""
        return self.max_epochs > 0 and self.epoch < self.warmup * self.max_epochs

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
        """``arch_samples`` rewarded children (none while warming up); see the module docstring."""
        if self.warming_up():
            return {}
        rewards = [r for _ in range(self.arch_samples) for r in self._reward_round(batch, backward)]
        logs = {"reward": sum(rewards) / len(rewards)}
        if self.trainer.baseline is not None:  # None while every reward so far was skipped
            logs["baseline"] = float(self.trainer.baseline)
        return logs

    def _reward_round(self, batch: Batch, backward: Backward) -> list[float]:
        """One rewarded child per rank: every rank draws the same ``world_size`` children from the
        shared generator, scores the one at its rank on its own batch, and records all of them in
        rank order from the gathered rewards, so N ranks give the controller N samples and every
        rank makes the same updates. A draw recorded after an update in the same round is
        rescored under the new policy (its own pass would be stale); one process: one child."""
        drawn = [self.controller(generator=self.mutator.gen) for _ in range(self.world_size)]
        rewards = self.gather_rewards(self.evaluate(drawn[self.rank].choices, [batch]))
        stale = False
        for sample, reward in zip(drawn, rewards, strict=True):
            entropy = float(sample.entropy.detach())
            if self.trainer.record(sample.choices, reward, entropy, backward, None if stale else sample):
                self.mutator.invalidate()
                stale = True
        return rewards

    @torch.no_grad()
    def evaluate(self, choices: Mapping[str, Choice], batches: Iterable[Batch]) -> float:
        """Accuracy of ``choices`` on ``batches``, batch norm on each batch's own statistics
        (official ``build_valid_rl``: ``is_training=True``); BN buffers and mode restored."""
        was_training = self.space.training
        self.mutator.set_current(choices)
        self.space.eval()  # dropout and the like off; BN switched on per call below
        correct = total = 0
        try:
            for x, y in batches:
                correct += int((forward_with_batch_stats(self.space, x).argmax(-1) == y).sum())
                total += len(y)
        finally:
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
                "buffer": [dict(a) for a in self.mutator.buffer],
                "epoch": [self.epoch, self.max_epochs]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.trainer.load_state_dict(state["trainer"])
        generator_state_from_json(self.mutator.gen, state["gen"])
        self.mutator.buffer = [dict(a) for a in state["buffer"]]
        self.epoch, self.max_epochs = state.get("epoch", [0, 0])  # older states: no epochs


def parameter_free_ops(space: nn.Module) -> dict[str, list[int]]:
    """Per layer-choice key, the indices of its candidates that hold no parameters."""
    out: dict[str, list[int]] = {}
    for m in space.modules():
        if isinstance(m, LayerChoice):
            out[m.key] = [i for i, c in enumerate(m.candidates.values())
                          if next(c.parameters(), None) is None]
    return out


def _alone(value: float) -> list[float]:
    return [value]


def _accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    return float((logits.argmax(-1) == y).float().mean())
