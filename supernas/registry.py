"""Create-by-name registries (ops, spaces, algorithms), in the style of timm's model registry.

``@REGISTRY.register("name")`` records a factory; ``REGISTRY.create("name", **kwargs)`` checks
the name and the keyword arguments against the factory signature before calling it, so a typo
fails with a message listing what is allowed instead of a ``TypeError`` deep inside a model.
"""
from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from supernas.errors import RegistryError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named collection of factories of one kind (``kind`` appears in error messages)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._factories: dict[str, Callable[..., T]] = {}

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        """Decorator: register ``factory`` under ``name``; a name may be registered once."""

        def decorate(factory: Callable[..., T]) -> Callable[..., T]:
            if name in self._factories:
                raise RegistryError(f"{self.kind} {name!r} is already registered")
            self._factories[name] = factory
            return factory

        return decorate

    def names(self) -> list[str]:
        return sorted(self._factories)

    def __contains__(self, name: object) -> bool:
        return name in self._factories

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def get(self, name: str) -> Callable[..., T]:
        """Return the factory for ``name`` or raise naming the allowed names."""
        if name not in self._factories:
            hint = difflib.get_close_matches(str(name), self.names(), n=1)
            extra = f" (did you mean {hint[0]!r}?)" if hint else ""
            raise RegistryError(
                f"unknown {self.kind} {name!r}{extra}; allowed: {', '.join(self.names())}"
            )
        return self._factories[name]

    def create(self, name: str, **kwargs: Any) -> T:
        """Call the factory for ``name`` after checking ``kwargs`` against its signature."""
        factory = self.get(name)
        check_kwargs(f"{self.kind} {name!r}", factory, kwargs)
        return factory(**kwargs)

    def parameters(self, name: str) -> dict[str, inspect.Parameter]:
        """The keyword parameters ``name``'s factory accepts."""
        return dict(inspect.signature(self.get(name)).parameters)


def check_kwargs(what: str, factory: Callable[..., Any], kwargs: dict[str, Any]) -> None:
    """Raise ``RegistryError`` if ``kwargs`` holds names ``factory`` does not accept."""
    params = inspect.signature(factory).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    unknown = sorted(set(kwargs) - set(params))
    if unknown:
        allowed = ", ".join(n for n in params if n != "self") or "(none)"
        raise RegistryError(f"{what} got unknown argument(s) {', '.join(unknown)}; allowed: {allowed}")
