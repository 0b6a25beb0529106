"""Architectures: a mapping key -> choice, with a lossless, readable JSON form.

The JSON records which space the architecture belongs to and the space's constructor arguments,
so ``Architecture.load(path).build()`` recreates the frozen child without any other file::

    {
      "format": "supernas.architecture/1",
      "space": "nb201",
      "space_args": {"C": 16, "N": 5, "num_classes": 10},
      "choices": {"e0": "nor_conv_3x3", "e1": "skip_connect", ...}
    }

Layer choices are op names (strings); input choices are sorted lists of input indices.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from supernas.errors import ArchitectureError
from supernas.space import Choice, Decision

FORMAT = "supernas.architecture/1"


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
    return {d.key: _normalise(choices[d.key]) for d in space_decisions}


def _normalise(value: Any) -> Choice:
    """Input choices as sorted lists; anything that is not a list of ints is left for validation."""
    if isinstance(value, (list, tuple)):
        ints = all(isinstance(i, int) and not isinstance(i, bool) for i in value)
        return sorted(value) if ints else list(value)
    return value


@dataclass
class Architecture:
    """A point in a named space. ``choices`` maps decision key -> op name or input indices."""

    choices: dict[str, Choice]
    space: str | None = None
    space_args: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "space": self.space, "space_args": dict(self.space_args),
                "choices": dict(self.choices)}

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json() + "\n")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Architecture":
        if not isinstance(data, Mapping):
            raise ArchitectureError([f"architecture: expected a JSON object, got {type(data).__name__}"])
        if "choices" not in data:
            raise ArchitectureError(["choices: missing; allowed: an object key -> choice"])
        fmt = data.get("format", FORMAT)
        if fmt != FORMAT:
            raise ArchitectureError([f"format: {fmt!r} is not supported; allowed: {FORMAT!r}"])
        if not isinstance(data["choices"], Mapping):
            raise ArchitectureError([f"choices: {data['choices']!r} is not an object"])
        space, space_args = data.get("space"), data.get("space_args") or {}
        if space is not None and not isinstance(space, str):
            raise ArchitectureError([f"space: {space!r} is not allowed; allowed: a space name"])
        if not isinstance(space_args, Mapping):
            raise ArchitectureError([f"space_args: {space_args!r} is not allowed; allowed: an "
                                     "object of keyword arguments"])
        return cls(choices={k: _normalise(v) for k, v in data["choices"].items()},
                   space=space, space_args=dict(space_args))

    @classmethod
    def from_json(cls, text: str) -> "Architecture":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ArchitectureError([f"architecture JSON: {exc}"]) from None
        return cls.from_dict(data)

    @classmethod
    def load(cls, path: str | Path) -> "Architecture":
        p = Path(path)
        if not p.is_file():
            raise ArchitectureError([f"architecture file {str(p)!r} does not exist"])
        return cls.from_json(p.read_text())

    def build_space(self) -> Any:
        """Create the (super)net this architecture belongs to, from the spaces registry."""
        from supernas.spaces import create_space

        if not self.space:
            raise ArchitectureError(["space: missing; cannot build without a space name"])
        return create_space(self.space, **self.space_args)

    def build(self) -> Any:
        """Create the frozen child network (fresh weights)."""
        from supernas.freeze import freeze

        return freeze(self.build_space(), self)
