"""What keeps the ranks of a DDP search in step beside Lightning's own gradient all-reduce.

* ``GradSyncOptimizer``: wraps a (Lightning) optimiser; ``step`` first averages the gradients of
  its parameters over the ranks, in one all-reduce of a flat buffer that also carries which
  gradients exist (a gradient that no rank has stays ``None``). ``SupernetModule`` wraps every
  optimiser but ``"weights"`` with it, so architecture parameters stay identical even when their
  gradients came from ``torch.autograd.grad`` (second-order DARTS) and never passed through DDP.
  Gradients DDP already averaged are identical on every rank and stay so.
* ``gather_over_ranks``: what one-shot ENAS's ``gather_rewards`` becomes under DDP: every rank
  scores its own child (``supernas.oneshot.enas``: child r of each round on rank r) and gets the
  rewards of all ranks in rank order, so the controller learns from every rank's sample and
  makes the same update on each.
* ``trace_state``: with ``SUPERNAS_RANK_STATE_DIR`` set (tests), each rank appends one JSON line
  per call to ``rank<N>.jsonl``: SHA-256 digests of the algorithm's parameters (``algo_state``)
  and of the supernet weights, and the sampled child (``mutator.current``), so a test can check that the
  ranks stay bit-identical.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

TRACE_ENV = "SUPERNAS_RANK_STATE_DIR"


def distributed() -> bool:
    """True inside an initialised process group of more than one rank."""
    dist = torch.distributed
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


class GradSyncOptimizer:
    """An optimiser whose ``step`` averages its gradients over the ranks first (module docstring);
    everything else is the wrapped optimiser's."""

    def __init__(self, optimizer: Any) -> None:
        self._optimizer = optimizer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._optimizer, name)

    def step(self, *args: Any, **kwargs: Any) -> Any:
        average_gradients(p for g in self._optimizer.param_groups for p in g["params"])
        return self._optimizer.step(*args, **kwargs)


def average_gradients(params: Iterable[torch.Tensor]) -> None:
    """Average ``p.grad`` over the ranks (missing gradients count as zeros; a gradient no rank
    has stays ``None``). Every rank must call it with the same parameters in the same order."""
    params = list(params)
    if not params or not distributed():
        return
    grads = [torch.zeros_like(p) if p.grad is None else p.grad.detach() for p in params]
    has = torch.tensor([p.grad is not None for p in params], dtype=grads[0].dtype, device=grads[0].device)
    flat = torch.cat([g.reshape(-1) for g in grads] + [has])  # [sum(numel) + n_params]
    torch.distributed.all_reduce(flat)
    flat.div_(torch.distributed.get_world_size())
    offset = 0
    for p, g, present in zip(params, grads, flat[-len(params):].tolist()):
        n = g.numel()
        if present > 0:
            p.grad = flat[offset:offset + n].view_as(p).clone()
        offset += n


def gather_over_ranks(value: float) -> list[float]:
    """``value`` from every rank, in rank order (a collective: every rank must call it)."""
    if not distributed():
        return [value]
    mine = torch.tensor([float(value)], dtype=torch.float64, device=_collective_device())
    out = [torch.zeros_like(mine) for _ in range(torch.distributed.get_world_size())]
    torch.distributed.all_gather(out, mine)
    return [float(t.item()) for t in out]


def _collective_device() -> torch.device:
    """Where the process group's tensors must live (NCCL: the current GPU)."""
    if torch.distributed.get_backend() == "nccl":
        return torch.device("cuda", torch.cuda.current_device())
    return torch.device("cpu")


def trace_state(module: nn.Module, kind: str, extra: Mapping[str, Any]) -> None:
    """Append this rank's state fingerprint to ``$SUPERNAS_RANK_STATE_DIR/rank<N>.jsonl``."""
    folder = os.environ.get(TRACE_ENV)
    if not folder:
        return
    rank = torch.distributed.get_rank() if distributed() else 0
    mutator = getattr(getattr(module, "algo", None), "mutator", None)
    record = {"kind": kind, **extra, "algo_state": digest(getattr(module, "algo_state", nn.Module())),
              "weights": digest(getattr(module, "supernet", nn.Module())),
              "current": getattr(mutator, "current", None),
              "baseline": getattr(getattr(module.algo, "trainer", None), "baseline", None),  # ENAS
              "updates": getattr(getattr(module.algo, "trainer", None), "updates", None)}
    path = Path(folder) / f"rank{rank}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as f:
        f.write(json.dumps(record, sort_keys=True, default=str) + "\n")


def digest(module: nn.Module) -> str:
    """SHA-256 of a module's parameters (names and exact bytes). Buffers are left out: batch-norm
    running statistics are per rank between DDP's broadcasts (each rank sees its own batches)."""
    h = hashlib.sha256()
    for name, tensor in sorted(module.named_parameters()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()
