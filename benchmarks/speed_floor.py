"""The floor of a DARTS supernet step: every candidate op run once per pass, nothing else.

``record_calls`` runs one real ``DartsSearch`` step (architecture pass, then weight pass) with a
forward pre-hook on every candidate op of every ``LayerChoice`` and writes down each call: the
pass, the op, its input's shape and strides, whether the input needed a gradient and whether the op's
weights did (the architecture pass runs with the weights' ``requires_grad`` off, the weight pass
with it on). ``floor_step`` replays those calls with random inputs of the same shape and layout:
forward, then backward for exactly the gradients that call needed (inputs, weights or both),
each op alone. No stem, preprocessing, classifier, mixing or autograd graph across ops: what is
left is the cost of the candidate ops themselves, the floor that ``supernas-darts-1st`` is
reported against (``darts_1st_vs_floor`` in ``benchmarks/speed.py``). ``none`` candidates are
not replayed (zeros, no gradient). Ops run as the space built them (supernas's own modules).
``floor_by_kind`` splits the same replay by op name and phase, the per-kind table of the notes.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from supernas.mutables import LayerChoice
from supernas.ops.layers import Zero


@dataclass
class Call:
    """One candidate-op call of a real step (``x``: a random input of the recorded layout)."""

    phase: str  # the pass of the step, e.g. "arch" or "weight"
    name: str  # op name, e.g. "sep_conv_3x3"
    op: nn.Module
    x: torch.Tensor
    input_grad: bool  # the step needed d loss / d input here
    weight_grad: bool  # ... and d loss / d weights of the op


def _candidates(space: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(name, op) for m in space.modules() if isinstance(m, LayerChoice)
            for name, op in m.candidates.items() if not isinstance(op, Zero)]


def record_calls(space: nn.Module, phases: dict[str, Callable[[], Any]]) -> list[Call]:
    """The candidate-op calls of running each of ``phases`` (the passes of one DARTS step on
    ``space``, e.g. ``{"arch": ..., "weight": ...}``) in order."""
    calls: list[Call] = []
    phase = [""]

    def hook(name: str) -> Callable[..., None]:
        def pre(op: nn.Module, args: tuple[Any, ...]) -> None:
            x = args[0]
            like = torch.empty_strided(x.shape, x.stride(), dtype=x.dtype, device=x.device)
            weight_grad = any(p.requires_grad for p in op.parameters())
            calls.append(Call(phase[0], name, op, like.normal_(), x.requires_grad, weight_grad))
        return pre

    handles = [op.register_forward_pre_hook(hook(name)) for name, op in _candidates(space)]
    try:
        for phase[0], run in phases.items():
            run()
    finally:
        for h in handles:
            h.remove()
    return calls


def run_call(c: Call) -> tuple[float, float]:
    """(forward, backward) process CPU ms of ``c`` alone; backward only for the grads it needs."""
    params = list(c.op.parameters())
    for p in params:
        p.requires_grad_(c.weight_grad)
    x = c.x.detach().requires_grad_(c.input_grad)
    t0 = time.process_time()
    out = c.op(x)
    t1 = time.process_time()
    if out.requires_grad:
        out.backward(torch.ones_like(out))
    t2 = time.process_time()
    for p in params:
        p.requires_grad_(True)
        p.grad = None
    return (t1 - t0) * 1e3, (t2 - t1) * 1e3


def floor_step(calls: list[Call]) -> float:
    """Process CPU ms of replaying every call once (forward + the backward it needs)."""
    return sum(sum(run_call(c)) for c in calls)


def floor_by_kind(calls: list[Call]) -> dict[str, dict[str, float]]:
    """CPU ms per op name and pass x direction (e.g. ``"arch_fwd"``) of one replay."""
    out: dict[str, dict[str, float]] = {}
    for c in calls:
        fwd, bwd = run_call(c)
        row = out.setdefault(c.name, {})
        row[f"{c.phase}_fwd"] = row.get(f"{c.phase}_fwd", 0.0) + fwd
        row[f"{c.phase}_bwd"] = row.get(f"{c.phase}_bwd", 0.0) + bwd
    return out
