"""The registry of built-in search spaces, created by name with keyword arguments.

Building from an architecture lives here too, beside the registry that knows the spaces:
``space_of(arch)`` recreates the (super)net an architecture names, ``build_child(arch)`` its
frozen child (fresh weights, or initial weights passed in as ``init_from``).
"""
from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from supernas.architecture import Architecture
from supernas.errors import ArchitectureError
from supernas.freeze import freeze
from supernas.registry import Registry, check_kwargs
from supernas.space import Choice, decisions, validate

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


def space_of(arch: Architecture) -> nn.Module:
    """Create the (super)net ``arch`` belongs to, from its space name and arguments."""
    if not arch.space:
        raise ArchitectureError(["space: missing; cannot build without a space name"])
    return create_space(arch.space, **arch.space_args)


def build_child(arch: Architecture, init_from: Mapping[str, torch.Tensor] | None = None) -> nn.Module:
    """The frozen child of ``arch`` (validated against its space), with fresh weights.

    ``init_from`` is a ``state_dict`` keyed by supernet module paths (e.g. shared supernet weights
    saved by another trial): the child takes every tensor it holds, the rest stay fresh.
    """
    child = freeze(space_of(arch), arch)
    if init_from is not None:
        own = child.state_dict()
        child.load_state_dict({k: init_from.get(k, v) for k, v in own.items()})
    return child
