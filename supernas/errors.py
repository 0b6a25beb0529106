"""Exception types raised by supernas.

Every error names the offending field, the value given and what is allowed, so a bad setting is
understood from the message alone.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class SupernasError(ValueError):
    """Base class of every error supernas raises on bad input."""


class RegistryError(SupernasError, KeyError):
    """Unknown registry name, or keyword arguments a factory does not accept."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class ArchitectureError(SupernasError):
    """An architecture that does not fit its search space; holds every problem found."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid architecture ({len(self.problems)} problem(s)):\n{lines}")


class SpaceError(SupernasError):
    """A search space that is malformed (e.g. two mutables with the same key)."""


class ConfigError(SupernasError):
    """A setting outside its allowed range or of the wrong type. Errors built by ``bad_value``
    keep ``field``, ``value`` and ``allowed`` (adapters rename the field to their own name)."""

    field: str | None = None
    value: Any = None
    allowed: str | None = None


def bad_value(field: str, value: Any, allowed: str) -> ConfigError:
    """Build the standard message: ``field=value is invalid; allowed: ...``."""
    err = ConfigError(f"{field}={value!r} is invalid; allowed: {allowed}")
    err.field, err.value, err.allowed = field, value, allowed
    return err


def check_positive_ints(**values: Any) -> None:
    """Raise ``bad_value`` for the first keyword whose value is not a positive ``int``."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise bad_value(name, value, "a positive integer")
