"""``SupernetModule``: drives any one-shot algorithm (``supernas.oneshot.base``) with Lightning.

Manual optimisation; each training step runs two named phases: the architecture (or controller)
phase on a held-out batch, then the weight phase on a training batch, both through
``self.manual_backward`` so AMP and DDP work. Validation measures the supernet as the algorithm
runs it (DARTS mixture, sampled path: ``val_supernet_acc``) and the derived child (below).

The derived architecture is scored as a child (``supernas.oneshot.child_score``): frozen from
the shared weights, batch norm re-estimated on recent training batches (``val_child_recal_acc``,
the zero-training proxy), then fine-tuned briefly on them (``val_acc`` and ``val_loss``, the
objective NNI and Katib see), both on the validation (architecture) split. The per-epoch and
the final figures are computed the same way. ``final_result`` calls ``algo.select`` on the
validation batches once training is over. The algorithm's own state rides in the Lightning
checkpoint.

Under DDP (``--strategy ddp``) every rank trains the same architecture: the samplers (ENAS
controller, uniform single path) draw from generators seeded alike and advanced alike on every
rank; the algorithm's own modules and parameters (``algo_state``: alphas, controller) are part of
the DDP-wrapped module, so gradients that ``manual_backward`` produces are all-reduced; and every
optimiser but ``"weights"`` averages its gradients over the ranks before it steps
(``trial_templates.ddp_sync``), which covers gradients computed outside ``backward`` (second-order
DARTS: ``torch.autograd.grad``); each ENAS reward round scores one child per rank and gathers
the rewards (``gather_rewards``), so the controller learns from every rank's sample and its
baseline and updates are the same everywhere. ``SUPERNAS_RANK_STATE_DIR`` (tests) makes each
rank append a fingerprint of its state after every step to ``rank<N>.jsonl`` there.
"""
from __future__ import annotations

import inspect
import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytorch_lightning as pl
import torch
from torch import nn

from supernas.architecture import Architecture
from supernas.errors import bad_value
from supernas.freeze import freeze
from supernas.oneshot.base import OneShotAlgorithm
from supernas.oneshot.child_score import FinetuneSettings, score_child
from supernas.oneshot.strength import decision_strength
from supernas.space import Choice
from supernas.spaces import architecture_of
from trial_templates.ddp_sync import GradSyncOptimizer, distributed, gather_over_ranks, trace_state
from trial_templates.seeding import check_finite, reseed

LR_SCHEDULES = ("algorithm", "cosine")
CKPT_KEY = "supernas"
FIT_BUFFER = 32  # recent training batches kept for scoring the derived child
Batch = tuple[torch.Tensor, torch.Tensor]


@dataclass
class FinalResult:
    """The selected architecture and its metrics (validation accuracy with shared weights)."""

    architecture: Architecture
    metrics: dict[str, float] = field(default_factory=dict)


class SupernetModule(pl.LightningModule):
    """Lightning driver of a ``OneShotAlgorithm`` bound to its supernet ``algorithm.space``.

    ``lr_schedule="algorithm"`` (default) leaves learning rates to ``algo.on_epoch_start`` (the
    supernas algorithms schedule their own); ``"cosine"`` anneals the ``"weights"`` optimiser from
    its initial rate to ``lr_min`` over ``max_epochs`` after that hook (CosineAnnealingLR as in
    DARTS, arXiv 1806.09055, whose search used 0.025 -> 0.001), for algorithms without a schedule.
    The arch phase also gets ``train_batch=`` when ``arch_step`` accepts it (second-order DARTS).
    """

    checkpoint_keys = (CKPT_KEY,)  # what its checkpoints add to Lightning's (trial_templates.resume)

    def __init__(self, algorithm: OneShotAlgorithm, seed: int = 0, lr_schedule: str = "algorithm",
                 lr_min: float = 0.001, finetune: FinetuneSettings | None = None) -> None:
        super().__init__()
        if lr_schedule not in LR_SCHEDULES:
            raise bad_value("lr_schedule", lr_schedule, ", ".join(LR_SCHEDULES))
        self.automatic_optimization = False
        self.algo = algorithm
        self.supernet = algorithm.space
        self.algo_state = _extra_modules(algorithm)  # controller / architecture parameters
        self.seed, self.lr_schedule, self.lr_min = seed, lr_schedule, lr_min
        self._names: list[str] = []
        self._opts: dict[str, torch.optim.Optimizer] | None = None
        self._epoch_ready = -1
        self._final: FinalResult | None = None
        self._wants_train_batch = "train_batch" in inspect.signature(algorithm.arch_step).parameters
        self.finetune = finetune or FinetuneSettings()
        self._fit_batches: deque[Batch] = deque(maxlen=FIT_BUFFER)
        self._val_seen: list[Batch] = []

    def setup(self, stage: str) -> None:
        """On every rank, once its process group is up: ENAS rewards gathered from every rank."""
        if distributed() and hasattr(self.algo, "gather_rewards"):
            self.algo.rank = torch.distributed.get_rank()
            self.algo.world_size = torch.distributed.get_world_size()
            self.algo.gather_rewards = gather_over_ranks

    def configure_optimizers(self) -> list[torch.optim.Optimizer]:
        if self._opts is None:
            self._opts = dict(self.algo.configure_optimizers())
        self._names = list(self._opts)
        return [self._opts[n] for n in self._names]

    def phase_optimizers(self) -> dict[str, Any]:
        """Lightning-wrapped optimisers by phase name (their ``step`` goes through AMP/DDP); under
        DDP all but ``"weights"`` average their gradients over the ranks first (module docstring)."""
        opts = self.optimizers()
        opts = opts if isinstance(opts, list) else [opts]
        named = dict(zip(self._names, opts))
        if not distributed():
            return named
        return {n: o if n == "weights" else GradSyncOptimizer(o) for n, o in named.items()}

    def start_epoch(self) -> None:
        """Once per epoch, before its first step: reseed, algorithm schedules, learning rate."""
        epoch = self.current_epoch
        if self._epoch_ready == epoch:
            return
        self._epoch_ready = epoch
        self._fit_batches.clear()  # this epoch's batches only: a resumed run scores the same
        reseed(self.seed, epoch)
        self.algo.on_epoch_start(epoch, int(self.trainer.max_epochs or 1))
        if self.lr_schedule == "cosine":
            self._anneal(epoch, int(self.trainer.max_epochs or 1))

    def _anneal(self, epoch: int, max_epochs: int) -> None:
        opt = (self._opts or {}).get("weights")
        for group in [] if opt is None else opt.param_groups:
            base = group.setdefault("initial_lr", group["lr"])
            group["lr"] = self.lr_min + (base - self.lr_min) * (1 + math.cos(math.pi * epoch / max_epochs)) / 2

    def training_step(self, batch: Any, batch_idx: int) -> None:
        self.start_epoch()
        train_batch, arch_batch = (tuple(b) for b in batch)  # each: (x [B, ...], y [B])
        self._fit_batches.append((train_batch[0], train_batch[1]))
        opts = self.phase_optimizers()
        with self.trainer.profiler.profile("supernas.arch_phase"):
            extra = {"train_batch": train_batch} if self._wants_train_batch else {}
            arch = self.algo.arch_step(arch_batch, opts, self.manual_backward, **extra)
        check_finite(arch, "architecture", self.current_epoch, batch_idx)
        with self.trainer.profiler.profile("supernas.weight_phase"):
            weights = self.algo.weight_step(train_batch, opts, self.manual_backward)
        check_finite(weights, "weight", self.current_epoch, batch_idx)
        logged = {f"arch/{k}": float(v) for k, v in arch.items()}  # e.g. arch/val_loss
        logged.update({f"weights/{k}": float(v) for k, v in weights.items()})  # weights/train_loss
        self.log_dict(logged, on_step=False, on_epoch=True, prog_bar=False, sync_dist=True,
                      batch_size=len(train_batch[1]))
        trace_state(self, "step", {"epoch": self.current_epoch, "batch": batch_idx})

    def on_validation_epoch_start(self) -> None:
        self._val_seen = []

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch  # x: [B, ...], y: [B]
        self._val_seen.append((x, y))
        mixed = self.supernet(x)  # [B, classes]: the supernet as the algorithm runs it (mixture/sample)
        self.log("val_supernet_acc", (mixed.argmax(1) == y).float().mean(), on_epoch=True,
                 sync_dist=True, batch_size=len(y))

    def on_validation_epoch_end(self) -> None:
        """Score the derived child on this epoch's validation batches (see the module docstring)."""
        if self._val_seen:
            dm = self.trainer.datamodule  # a loader only when no training batch was kept
            train = dm.train_dataloader() if dm is not None and not self._fit_batches else None
            self.log_dict(self.child_metrics(self.algo.derive(), self._val_seen, train), sync_dist=True)
        self._val_seen = []

    def child_metrics(self, choices: Mapping[str, Choice], held_out: Sequence[Batch],
                      train: Iterable[Any] | None = None) -> dict[str, float]:
        """``val_acc``/``val_loss`` (fine-tuned child) and ``val_child_recal_acc`` (recalibrated).
        The child trains on recent training batches, else on the first ``train`` pairs."""
        epoch = self._trainer.current_epoch if self._trainer is not None else 0
        reseed(self.seed, 2_000_000 + epoch)  # fine-tune order repeatable on resume
        fit = list(self._fit_batches) or first_train_batches(train, self.device)
        score = score_child(self.supernet, choices, fit, held_out, self.finetune)
        return {"val_acc": score.finetuned, "val_loss": score.loss,
                "val_child_recal_acc": score.recalibrated}

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint[CKPT_KEY] = {"algorithm": self.algo.state_dict()}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.algo.load_state_dict(checkpoint[CKPT_KEY]["algorithm"])

    def derived(self) -> Architecture:
        """The architecture the search currently points to (with space name and args)."""
        return architecture_of(self.supernet, self.algo.derive())

    def final_result(self, batches: Iterable[Any] | None = None,
                     train: Iterable[Any] | None = None) -> FinalResult:
        """``algo.select`` on the validation batches (once; cached) and its metrics; ``train``
        (``(train_batch, arch_batch)`` pairs) feeds the child's fine-tune when this module has
        seen no training batch (zero-shot, or a resumed run that had finished)."""
        if self._final is None:
            data = [self._to_device(b) for b in (batches if batches is not None else self._val_batches())]
            supernet_acc = self._supernet_accuracy(data)
            reseed(self.seed, 1_000_000)
            arch = architecture_of(self.supernet, self.algo.select(data))
            metrics = {**self.child_metrics(arch.choices, data, train), "val_supernet_acc": supernet_acc,
                       "params": float(sum(p.numel() for p in freeze(self.supernet, arch).parameters()))}
            strength = decision_strength(self.algo.arch_summary())
            if strength is not None:
                metrics["decision_strength"] = strength
            self._final = FinalResult(arch, metrics)
            trace_state(self, "final", {"choices": arch.choices})
        return self._final

    def _val_batches(self) -> Iterable[Any]:
        dm = self.trainer.datamodule
        return dm.val_dataloader() if dm is not None else self.trainer.val_dataloaders

    def _to_device(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = batch
        return x.to(self.device), y.to(self.device)

    @torch.no_grad()
    def _supernet_accuracy(self, data: Sequence[Batch]) -> float:
        """The supernet as the algorithm runs it, in eval mode (as ``val_supernet_acc``)."""
        was_training = self.supernet.training
        self.supernet.eval()
        try:
            correct = sum(int((self.supernet(x).argmax(1) == y).sum()) for x, y in data)
        finally:
            self.supernet.train(was_training)
        return correct / max(sum(len(y) for _, y in data), 1)


def first_train_batches(pairs: Iterable[Any] | None, device: torch.device) -> list[Batch]:
    """The training halves of the first ``FIT_BUFFER`` ``(train_batch, arch_batch)`` pairs."""
    out: list[Batch] = []
    for pair in pairs or []:
        x, y = pair[0]
        out.append((x.to(device), y.to(device)))
        if len(out) == FIT_BUFFER:
            break
    return out


def _extra_modules(algorithm: OneShotAlgorithm) -> nn.ModuleDict:
    """Modules and parameters the algorithm (or its mutator) holds beside the supernet, so they
    move with the LightningModule to the accelerator."""
    found: dict[str, nn.Module] = {}
    params = nn.ParameterDict()
    for owner_name, owner in (("algo", algorithm), ("mutator", getattr(algorithm, "mutator", None))):
        for name, value in (vars(owner).items() if owner is not None else ()):
            for key, item in _items(name, value):
                _collect(f"{owner_name}_{key}", item, algorithm.space, found, params)
    if len(params):
        found["params"] = params
    return nn.ModuleDict(found)


def _items(name: str, value: Any) -> Iterable[tuple[str, Any]]:
    if isinstance(value, Mapping) and not isinstance(value, nn.Module):
        return ((f"{name}_{k}", v) for k, v in value.items())
    return ((name, value),)


def _collect(key: str, item: Any, space: nn.Module, found: dict[str, nn.Module],
             params: nn.ParameterDict) -> None:
    key = key.replace(".", "_")
    if isinstance(item, nn.Parameter):
        params[key] = item
    elif isinstance(item, nn.Module) and item is not space and not isinstance(item, nn.modules.loss._Loss):
        found[key] = item
