"""Refuse space arguments that make a network too large to allocate, before allocating it.

``check_space_size(name, args)`` builds the space on PyTorch's ``meta`` device (shapes only, no
memory), counting the parameters and buffers as modules register them, and stops with a
``ConfigError`` naming the arguments as soon as the network would hold more than
``MAX_PARAMETERS`` values (default 1,000,000,000: 4 GB of float32 weights before gradients,
optimiser state and activations; the built-in spaces with their defaults hold 0.4 to 2 million)
or register more than ``MAX_MODULES`` modules (default 50,000; the built-in spaces with their
defaults register at most about 5,000, ``darts`` with 20 cells about 12,000), which stops a huge
layer count within seconds instead of building for minutes. The environment variables
``SUPERNAS_MAX_PARAMETERS`` and ``SUPERNAS_MAX_MODULES`` change the bounds.

A space that cannot be built on the meta device (an argument it refuses, code that needs real
values) is left to the real build, which reports its own error.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn
from torch.nn.modules import module as nn_module

from supernas.errors import ConfigError

MAX_PARAMETERS = 1_000_000_000
MAX_MODULES = 50_000


class _TooLarge(Exception):
    def __init__(self, what: str) -> None:
        self.what = what


def _bound(env: str, default: int) -> int:
    raw = os.environ.get(env, "")
    try:
        return int(raw) if raw.strip() else default
    except ValueError:
        raise ConfigError(f"{env}={raw!r} is invalid; allowed: a positive integer") from None


def _meta_build(name: str, args: Mapping[str, Any], max_values: int, max_modules: int) -> bool:
    """Build space ``name`` on ``meta``: ``True`` if built, ``False`` if it cannot be built there;
    raises ``_TooLarge`` past ``max_values`` parameter/buffer values or ``max_modules`` modules."""
    from supernas.spaces import create_space

    seen: set[int] = set()
    counts = {"values": 0, "modules": 0}

    def tensor(module: nn.Module, key: str, value: torch.Tensor | None) -> None:
        if value is not None and id(value) not in seen:
            seen.add(id(value))
            counts["values"] += value.numel()
            if counts["values"] > max_values:
                raise _TooLarge("parameters")

    def submodule(module: nn.Module, key: str, child: nn.Module | None) -> None:
        counts["modules"] += 1
        if counts["modules"] > max_modules:
            raise _TooLarge("modules")

    handles = [nn_module.register_module_parameter_registration_hook(tensor),
               nn_module.register_module_buffer_registration_hook(tensor),
               nn_module.register_module_module_registration_hook(submodule)]
    try:
        with torch.device("meta"):
            create_space(name, **args)
    except _TooLarge:
        raise
    except Exception:  # noqa: BLE001 - the real build reports its own error
        return False
    finally:
        for handle in handles:
            handle.remove()
    return True


def check_space_size(name: str, args: Mapping[str, Any], given: Mapping[str, Any] | None = None,
                     field: str = "space-arg") -> None:
    """Raise ``ConfigError`` when space ``name`` with ``args`` would be too large to allocate.

    ``given``: the arguments the user set (named in the message; default all of ``args``);
    ``field``: how the user set them (``space-arg``, ``architecture space_args``)."""
    max_params = _bound("SUPERNAS_MAX_PARAMETERS", MAX_PARAMETERS)
    max_modules = _bound("SUPERNAS_MAX_MODULES", MAX_MODULES)
    shown = ",".join(f"{k}={v}" for k, v in (given if given else args).items()) or "(defaults)"
    try:
        _meta_build(name, args, max_params, max_modules)
    except _TooLarge as exc:
        if exc.what == "modules":
            limit = f"at most {max_modules:,} modules (SUPERNAS_MAX_MODULES changes the bound)"
            why = f"would register more than {max_modules:,} modules"
        else:
            limit = (f"at most {max_params:,} parameters, {max_params * 4 / 1e9:,.1f} GB as float32 "
                     "(SUPERNAS_MAX_PARAMETERS changes the bound)")
            why = f"would hold more than {max_params:,} parameters and buffers"
        raise ConfigError(f"{field}={shown!r} is invalid: space {name!r} {why} before training; "
                          f"allowed: arguments giving {limit}") from None
