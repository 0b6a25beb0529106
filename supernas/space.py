"""Flatten a model's mutables into an ordered list of decisions, and check choices against them.

The order is the module registration order (``named_modules``), so it is stable for a given
space and its constructor arguments; controllers (ENAS) and encoders rely on it. ``validate``
checks an architecture's choices (a plain mapping key -> choice) against those decisions.
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from torch import nn

from supernas.errors import ArchitectureError, SpaceError
from supernas.mutables import InputChoice, LayerChoice, Mutable

Choice = Any  # str for a layer decision, list[int] for an input decision


@dataclass(frozen=True)
class Decision:
    """One labelled decision: a layer choice (one of ``choices``) or an input choice."""

    key: str
    kind: Literal["layer", "input"]
    choices: tuple[str, ...] = ()
    n_candidates: int = 0
    n_chosen: int | None = None
    allow_empty: bool = False

    def allowed(self) -> str:
        """Human-readable description of the allowed values, for error messages."""
        if self.kind == "layer":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        count = f"exactly {self.n_chosen}" if self.n_chosen is not None else "any number"
        return f"a list of {count} distinct indices in 0..{self.n_candidates - 1}"

    def problem(self, value: Choice) -> str | None:
        """Why ``value`` is not allowed for this decision, or ``None`` if it is."""
        bad = f"{self.key}: {value!r} is not allowed; allowed: {self.allowed()}"
        if self.kind == "layer":
            return None if isinstance(value, str) and value in self.choices else bad
        if not isinstance(value, (list, tuple)) or not all(_is_index(i) for i in value):
            return bad
        if len(set(value)) != len(value) or any(not 0 <= i < self.n_candidates for i in value):
            return bad
        if self.n_chosen is not None and len(value) != self.n_chosen:
            return f"{self.key}: {len(value)} inputs chosen ({value!r}); allowed: {self.allowed()}"
        if not value and not self.allow_empty and self.n_chosen is None:
            return f"{self.key}: empty input list; allowed: {self.allowed()} (at least one)"
        return None

    def options(self) -> Iterator[Choice]:
        """Every allowed value, in a fixed order (input choices as sorted index lists)."""
        if self.kind == "layer":
            yield from self.choices
            return
        sizes = [self.n_chosen] if self.n_chosen is not None else range(self.n_candidates + 1)
        for k in sizes:
            if k == 0 and not self.allow_empty:
                continue
            for combo in itertools.combinations(range(self.n_candidates), k):
                yield list(combo)

    def size(self) -> int:
        """Number of allowed values."""
        if self.kind == "layer":
            return len(self.choices)
        if self.n_chosen is not None:
            return math.comb(self.n_candidates, self.n_chosen)
        return 2**self.n_candidates - (0 if self.allow_empty else 1)


def _is_index(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def problems(choices: Mapping[str, Any], space_decisions: Sequence[Decision]) -> list[str]:
    """Every way ``choices`` does not fit ``space_decisions`` (empty when it fits)."""
    found: list[str] = []
    by_key = {d.key: d for d in space_decisions}
    for key in choices:
        if key not in by_key:
            found.append(f"{key}: unknown key (value {choices[key]!r}); allowed keys: "
                         + ", ".join(by_key))
    for d in space_decisions:
        if d.key not in choices:
            found.append(f"{d.key}: missing; allowed: {d.allowed()}")
        else:
            issue = d.problem(choices[d.key])
            if issue:
                found.append(issue)
    return found


def validate(choices: Mapping[str, Any], space_decisions: Sequence[Decision]) -> dict[str, Choice]:
    """Return a normalised copy of ``choices`` or raise ``ArchitectureError`` listing every problem."""
    found = problems(choices, space_decisions)
    if found:
        raise ArchitectureError(found)
    return {d.key: normalise(choices[d.key]) for d in space_decisions}


def normalise(value: Any) -> Choice:
    """Input choices as sorted lists; anything that is not a list of ints is left for validation."""
    if isinstance(value, (list, tuple)):
        ints = all(_is_index(i) for i in value)
        return sorted(value) if ints else list(value)
    return value


def _decision_of(m: Mutable) -> Decision:
    if isinstance(m, LayerChoice):
        return Decision(m.key, "layer", choices=tuple(m.names))
    assert isinstance(m, InputChoice)
    return Decision(m.key, "input", n_candidates=m.n_candidates, n_chosen=m.n_chosen,
                    allow_empty=m.allow_empty)


def named_mutables(model: nn.Module) -> list[tuple[str, Mutable]]:
    """(module path, mutable) for every mutable in ``model``, in registration order."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, Mutable)]


def mutables_by_key(model: nn.Module) -> dict[str, list[Mutable]]:
    """Group the mutables of ``model`` by key, checking that keys are unique or shared."""
    groups: dict[str, list[Mutable]] = {}
    first_path: dict[str, str] = {}
    for path, m in named_mutables(model):
        if m.key in groups:
            _check_share(m, groups[m.key][0], path, first_path[m.key])
            groups[m.key].append(m)
        else:
            groups[m.key] = [m]
            first_path[m.key] = path
    return groups


def _check_share(m: Mutable, first: Mutable, path: str, first_path: str) -> None:
    if not (m.shared and first.shared):
        raise SpaceError(
            f"duplicate mutable key {m.key!r} at {first_path!r} and {path!r}; keys must be "
            "unique in a space (pass shared=True to both to make them one decision)"
        )
    if m.signature() != first.signature():
        raise SpaceError(
            f"shared mutable key {m.key!r} has different choices at {first_path!r} "
            f"{first.signature()} and {path!r} {m.signature()}"
        )


def decisions(model: nn.Module) -> list[Decision]:
    """The ordered list of decisions of ``model`` (one per key)."""
    return [_decision_of(ms[0]) for ms in mutables_by_key(model).values()]


def space_size(model: nn.Module) -> int:
    """Number of distinct architectures of ``model``."""
    return math.prod(d.size() for d in decisions(model))
