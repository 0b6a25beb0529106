"""The operations of a Katib ``nasConfig`` (``operationType`` + parameters), for the ``katib-macro``
space (``supernas.spaces.katib_macro``).

An operation token is Katib's type followed by its parameters, e.g.
``convolution:filter_size=3,num_filter=8,stride=1``. ``KATIB_OPS`` maps each buildable type to a
factory ``(channels, params) -> module``; params are the token's ``name -> value`` strings and a
factory reads only the ones it knows (missing ones take Katib's defaults). Every operation maps
``[B, C, H, W]`` to ``[B, C, H/s, W/s]``; ``num_filter`` sets an inner width followed by a 1x1
projection back to ``channels``. Unlike ``supernas.ops.OPS`` the stride is a parameter of the token
(``reduction`` always halves, pooling and dilated convolutions keep the size), so these factories
have their own registry and contract.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

from torch import nn

from supernas.errors import SpaceError
from supernas.registry import Registry

Params = Mapping[str, str]
KATIB_OPS: Registry[nn.Module] = Registry("Katib operation type")
register_katib_op = KATIB_OPS.register


def parse_token(token: str) -> tuple[str, dict[str, str]]:
    """``convolution:filter_size=3,stride=1`` -> ``("convolution", {"filter_size": "3", ...})``."""
    kind, _, rest = token.partition(":")
    return kind, dict(item.split("=", 1) for item in rest.split(",") if item)


def build_katib_op(token: str, channels: int) -> nn.Module:
    """The module of operation ``token`` at width ``channels``; an unknown type or a parameter
    that is not a number raises ``SpaceError`` naming the token."""
    kind, params = parse_token(token)
    if kind not in KATIB_OPS:
        raise SpaceError(f"operation {token!r}: type {kind!r} is not buildable; allowed: "
                         + ", ".join(KATIB_OPS))
    try:
        return KATIB_OPS.get(kind)(channels, params)
    except ValueError as exc:
        raise SpaceError(f"operation {token!r}: {exc}") from None


def _bn_project(width: int, channels: int) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.BatchNorm2d(width)]
    if width != channels:
        layers += [nn.Conv2d(width, channels, 1, bias=False), nn.BatchNorm2d(channels)]
    return layers


@register_katib_op("convolution")
def convolution(c: int, p: Params) -> nn.Module:
    """ReLU -> conv ``filter_size`` (``num_filter`` wide, ``stride``) -> BN (-> 1x1 back to ``c``)."""
    k, f, s = int(p.get("filter_size", 3)), int(p.get("num_filter", c)), int(p.get("stride", 1))
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c, f, k, s, k // 2, bias=False), *_bn_project(f, c))


@register_katib_op("separable_convolution")
def separable_convolution(c: int, p: Params) -> nn.Module:
    """ReLU -> depthwise ``filter_size`` (x ``depth_multiplier``) -> pointwise -> BN (-> 1x1)."""
    k, f, s = int(p.get("filter_size", 3)), int(p.get("num_filter", c)), int(p.get("stride", 1))
    m = int(p.get("depth_multiplier", 1))
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c, c * m, k, s, k // 2, groups=c, bias=False),
                         nn.Conv2d(c * m, f, 1, bias=False), *_bn_project(f, c))


@register_katib_op("depthwise_convolution")
def depthwise_convolution(c: int, p: Params) -> nn.Module:
    """ReLU -> depthwise ``filter_size`` (x ``depth_multiplier``) -> pointwise back to ``c`` -> BN."""
    k, s, m = int(p.get("filter_size", 3)), int(p.get("stride", 1)), int(p.get("depth_multiplier", 1))
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c, c * m, k, s, k // 2, groups=c, bias=False),
                         nn.Conv2d(c * m, c, 1, bias=False), nn.BatchNorm2d(c))


@register_katib_op("reduction")
def reduction(c: int, p: Params) -> nn.Module:
    """Max (``reduction_type=max_pooling``, default) or average pooling of ``pool_size``, stride 2."""
    size = int(p.get("pool_size", 2))
    pool = nn.MaxPool2d if p.get("reduction_type", "max_pooling") == "max_pooling" else nn.AvgPool2d
    return pool(size, 2, (size - 1) // 2)


@register_katib_op("dilated_convolution")
def dilated_convolution(c: int, p: Params) -> nn.Module:
    """ReLU -> conv ``filter_size`` with dilation 2 (size kept) -> BN."""
    k = int(p.get("filter_size", 3))
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, k, 1, k - 1, dilation=2, bias=False), nn.BatchNorm2d(c))


def _pool(kind: type) -> Callable[[int, Params], nn.Module]:
    return lambda c, p: kind(int(p.get("filter_size", 3)), 1, int(p.get("filter_size", 3)) // 2)


register_katib_op("max_pooling")(_pool(nn.MaxPool2d))
register_katib_op("avg_pooling")(_pool(nn.AvgPool2d))
register_katib_op("skip_connection")(lambda c, p: nn.Identity())
