"""``freeze(space, architecture)``: a compact child holding only the chosen candidates.

The frozen child keeps the supernet's module paths for the chosen ops (a ``FrozenLayer`` stores
its op under ``candidates.<name>`` exactly like ``LayerChoice``), so the child's ``state_dict`` keys
are a subset of the supernet's: ``copy_weights(supernet, child)`` moves trained shared weights
into a child, and ``freeze`` of a trained supernet keeps them.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, cast

import torch
from torch import nn

from supernas.architecture import Architecture
from supernas.mutables import InputChoice, LayerChoice, Mutable, reduce_inputs
from supernas.space import Choice, decisions, named_mutables, validate


class FrozenLayer(nn.Module):
    """The chosen candidate of a ``LayerChoice`` (``key`` and ``chosen`` kept for reports)."""

    def __init__(self, key: str, chosen: str, op: nn.Module) -> None:
        super().__init__()
        self.key, self.chosen = key, chosen
        self.candidates = nn.ModuleDict({chosen: op})

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.candidates[self.chosen](*args, **kwargs)

    def extra_repr(self) -> str:
        return f"key={self.key!r}, chosen={self.chosen!r}"


class FrozenInput(nn.Module):
    """The chosen inputs of an ``InputChoice``, reduced the same way."""

    def __init__(self, key: str, chosen: list[int], n_candidates: int, reduction: str) -> None:
        super().__init__()
        self.key, self.chosen = key, list(chosen)
        self.n_candidates, self.reduction = n_candidates, reduction

    def active(self) -> list[int]:
        return list(self.chosen)

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor | None:
        return reduce_inputs([inputs[i] for i in self.chosen], self.reduction)

    def extra_repr(self) -> str:
        return f"key={self.key!r}, chosen={self.chosen}, reduction={self.reduction!r}"


class DroppedLayer(nn.Module):
    """A layer choice whose input was not chosen (``depends_on``); holds no weights."""

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"{self.key!r} was dropped by freeze: its input is not chosen")

    def extra_repr(self) -> str:
        return f"key={self.key!r}"


def _replacement(m: Mutable, choices: Mapping[str, Choice]) -> nn.Module:
    if m.depends_on is not None:
        input_key, index = m.depends_on
        if index not in choices[input_key]:
            return DroppedLayer(m.key)
    choice = choices[m.key]
    if isinstance(m, LayerChoice):
        return FrozenLayer(m.key, choice, m.candidates[choice])
    assert isinstance(m, InputChoice)
    return FrozenInput(m.key, choice, m.n_candidates, m.reduction)


def _kept_candidates(m: LayerChoice, choices: Mapping[str, Choice]) -> nn.ModuleDict:
    """The candidates of ``m`` that the child keeps (none for a dropped ``depends_on`` layer)."""
    if m.depends_on is not None and m.depends_on[1] not in choices[m.depends_on[0]]:
        return nn.ModuleDict()
    return nn.ModuleDict({choices[m.key]: m.candidates[choices[m.key]]})


def _pruned_copy(space: nn.Module, choices: Mapping[str, Choice]) -> nn.Module:
    """Deep copy of ``space`` without mutators and without unchosen candidates (copying
    only what the child keeps makes ``freeze`` cheap on large supernets)."""
    found = [m for _, m in named_mutables(space)]
    saved = [(m._mutator, m._modules.get("candidates")) for m in found]
    for m in found:
        m.bind_mutator(None)
        if isinstance(m, LayerChoice):
            m._modules["candidates"] = _kept_candidates(m, choices)
    try:
        return copy.deepcopy(space)
    finally:
        for m, (mut, candidates) in zip(found, saved):
            m.bind_mutator(mut)
            if isinstance(m, LayerChoice):
                m._modules["candidates"] = candidates


def freeze(space: nn.Module, architecture: Mapping[str, Choice] | Architecture) -> nn.Module:
    """Return a copy of ``space`` in which every mutable is replaced by its chosen candidate(s)."""
    choices = validate(dict(cast("Mapping[str, Choice]", getattr(architecture, "choices", architecture))),
                       decisions(space))
    child = _pruned_copy(space, choices)
    for path, m in reversed(named_mutables(child)):  # innermost first: paths stay valid
        parent_path, _, name = path.rpartition(".")
        parent = child.get_submodule(parent_path) if parent_path else child
        setattr(parent, name, _replacement(m, choices))
    child.supernas_architecture = choices  # type: ignore[assignment]
    return child


def copy_weights(supernet: nn.Module, child: nn.Module) -> int:
    """Copy every parameter/buffer of ``child`` from ``supernet`` (same keys); return the count."""
    source = supernet.state_dict()
    target = child.state_dict()
    missing = [k for k in target if k not in source]
    if missing:
        raise KeyError(f"child weights not found in the supernet: {missing[:5]}")
    child.load_state_dict({k: source[k] for k in target})
    return len(target)
