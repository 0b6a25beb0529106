"""Architectures: a mapping key -> choice, with a lossless, readable JSON form.

The JSON records which space the architecture belongs to and the space's constructor arguments,
so ``build_child(Architecture.load(path))`` (``supernas.spaces``) recreates the frozen child
without any other file::

    {
      "format": "supernas.architecture/1",
      "space": "nb201",
      "space_args": {"C": 16, "N": 5, "num_classes": 10},
      "choices": {"e0": "nor_conv_3x3", "e1": "skip_connect", ...}
    }

Layer choices are op names (strings); input choices are sorted lists of input indices.
An architecture is a plain value: it neither builds nor validates itself against a space
(``supernas.space.validate`` checks it, ``supernas.spaces.build_child`` builds it).
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from supernas.errors import ArchitectureError
from supernas.space import Choice, normalise, problems, validate

FORMAT = "supernas.architecture/1"
__all__ = ["FORMAT", "Architecture", "problems", "validate"]  # problems, validate: from supernas.space


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
    def from_dict(cls, data: Mapping[str, Any]) -> Architecture:
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
            raise ArchitectureError([(f"space_args: {space_args!r} is not allowed; allowed: an "
                                      "object of keyword arguments")])
        return cls(choices={k: normalise(v) for k, v in data["choices"].items()},
                   space=space, space_args=dict(space_args))

    @classmethod
    def from_json(cls, text: str) -> Architecture:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ArchitectureError([f"architecture JSON: {exc}"]) from None
        return cls.from_dict(data)

    @classmethod
    def load(cls, path: str | Path) -> Architecture:
        p = Path(path)
        if not p.is_file():
            raise ArchitectureError([f"architecture file {str(p)!r} does not exist"])
        return cls.from_json(p.read_text())
