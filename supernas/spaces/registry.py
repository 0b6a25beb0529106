"""The registry of built-in search spaces, created by name with keyword arguments."""
from __future__ import annotations

import inspect
from typing import Any, Mapping

from torch import nn

from supernas.architecture import Architecture, validate
from supernas.registry import Registry, check_kwargs
from supernas.space import Choice, decisions

SPACES: Registry[nn.Module] = Registry("space")
register_space = SPACES.register


def create_space(name: str, **kwargs: Any) -> nn.Module:
    """Create space ``name``; the model records ``space_name`` and resolved ``space_args``."""
    factory = SPACES.get(name)
    check_kwargs(f"space {name!r}", factory, kwargs)
    bound = inspect.signature(factory).bind(**kwargs)
    bound.apply_defaults()
    model = factory(**bound.arguments)
    model.space_name = name  # type: ignore[assignment]
    model.space_args = dict(bound.arguments)  # type: ignore[assignment]
    decisions(model)  # refuse duplicate keys at creation time
    return model


def architecture_of(space: nn.Module, choices: Mapping[str, Choice]) -> Architecture:
    """Wrap validated ``choices`` with the space's name and constructor arguments."""
    return Architecture(choices=validate(choices, decisions(space)),
                        space=getattr(space, "space_name", None),
                        space_args=dict(getattr(space, "space_args", {})))
