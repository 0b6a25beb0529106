"""``freeze(space, architecture)``: a compact child holding only the chosen candidates.

The frozen child keeps the supernet's module paths for the chosen ops (a ``FrozenLayer`` stores
its op under ``candidates.<name>`` exactly like ``LayerChoice``), so the child's ``state_dict`` keys
are a subset of the supernet's: ``copy_weights(supernet, child)`` moves trained shared weights
into a child, and ``freeze`` of a trained supernet keeps them.
"""
from __future__ import annotations

import copy
from typing import Any, Mapping

import torch
from torch import nn

from supernas.architecture import Architecture, validate
from supernas.mutables import InputChoice, LayerChoice, Mutable, reduce_inputs
from supernas.space import Choice, decisions, named_mutables


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


def _copy_without_mutators(space: nn.Module) -> nn.Module:
    found = named_mutables(space)
    saved = [m._mutator for _, m in found]
    for _, m in found:
        m.bind_mutator(None)
    try:
        return copy.deepcopy(space)
    finally:
        for (_, m), mut in zip(found, saved):
            m.bind_mutator(mut)


def freeze(space: nn.Module, architecture: Mapping[str, Choice] | Architecture) -> nn.Module:
    """Return a copy of ``space`` in which every mutable is replaced by its chosen candidate(s)."""
    choices = validate(dict(getattr(architecture, "choices", architecture)), decisions(space))
    child = _copy_without_mutators(space)
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
