"""The registry of zero-shot proxies and helpers shared by them.

A proxy is a function ``score(network, x, y=None, *, seed=0) -> float`` (higher is better) of an
untrained network and one data batch; it leaves the network's weights, buffers and training flag
as it found them. ``PROXIES.get(name)`` returns the function (an unknown name is refused with the
list of registered ones).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import torch
from torch import nn

from supernas.registry import Registry


class Proxy(Protocol):
    def __call__(self, network: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None, *,
                 seed: int = 0) -> float: ...


PROXIES: Registry[float] = Registry("zero-shot proxy")
register_proxy = PROXIES.register


def get_proxy(proxy: str | Callable[..., float]) -> Callable[..., float]:
    """The proxy function for a registered name (or ``proxy`` itself when it is callable)."""
    return proxy if callable(proxy) else PROXIES.get(proxy)


class KeepState:
    """Context manager: restore the network's parameters, buffers and training flag on exit."""

    def __init__(self, network: nn.Module) -> None:
        self.network = network

    def __enter__(self) -> None:
        self.training = self.network.training
        self.saved = {k: v.detach().clone() for k, v in self.network.state_dict().items()}

    def __exit__(self, *exc: object) -> None:
        self.network.load_state_dict(self.saved)
        self.network.train(self.training)
