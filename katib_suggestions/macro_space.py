"""``katib-macro``: the trainable supernas space behind a Katib ``nasConfig`` (see nas_config.py).

Registered in ``supernas.spaces.SPACES`` when ``katib_suggestions.macro_space`` is imported (the
``supernas`` CLI imports it through its ``katib_suggestions.cli`` extension hook), so the
architectures of ``supernas-enas/-evolution/-random`` build with ``Architecture.build()``.

Network (constant width ``channels``, Katib's ``inputSizes`` are ``[H, W, C]``):
stem 3x3 conv + BN -> ``num_layers`` layers -> global average pool -> linear(``outputSizes[-1]``).
Layer ``i`` reads the previous output plus the sum of its chosen skip inputs (``skip{i}``: index
0 = the stem output, ``j`` = layer ``j-1``'s output; larger ones are average-pooled to the
previous output's size), then applies its chosen operation ``layer{i}``. Katib's ENAS trial
concatenates the inputs instead (``ModelConstructor.py``); summing keeps every candidate's
weights the same shape in the supernet, so trials can share them. Operations map
``[B, C, H, W]`` to ``[B, C, H/s, W/s]``; ``num_filter`` sets an inner width followed by a 1x1
projection back to ``channels``.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from supernas.errors import SpaceError, bad_value
from supernas.mutables import InputChoice, LayerChoice
from supernas.spaces.registry import SPACES, register_space


def parse_token(token: str) -> tuple[str, dict[str, str]]:
    """``convolution:filter_size=3,stride=1`` -> ``("convolution", {"filter_size": "3", ...})``."""
    kind, _, rest = token.partition(":")
    return kind, dict(item.split("=", 1) for item in rest.split(",") if item)


def _bn_project(width: int, channels: int) -> list[nn.Module]:
    layers: list[nn.Module] = [nn.BatchNorm2d(width)]
    if width != channels:
        layers += [nn.Conv2d(width, channels, 1, bias=False), nn.BatchNorm2d(channels)]
    return layers


def _conv(c: int, p: dict[str, str]) -> nn.Module:
    k, f, s = int(p.get("filter_size", 3)), int(p.get("num_filter", c)), int(p.get("stride", 1))
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c, f, k, s, k // 2, bias=False), *_bn_project(f, c))


def _sep_conv(c: int, p: dict[str, str]) -> nn.Module:
    k, f, s = int(p.get("filter_size", 3)), int(p.get("num_filter", c)), int(p.get("stride", 1))
    m = int(p.get("depth_multiplier", 1))
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c, c * m, k, s, k // 2, groups=c, bias=False),
                         nn.Conv2d(c * m, f, 1, bias=False), *_bn_project(f, c))


def _dw_conv(c: int, p: dict[str, str]) -> nn.Module:
    k, s, m = int(p.get("filter_size", 3)), int(p.get("stride", 1)), int(p.get("depth_multiplier", 1))
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c, c * m, k, s, k // 2, groups=c, bias=False),
                         nn.Conv2d(c * m, c, 1, bias=False), nn.BatchNorm2d(c))


def _reduction(c: int, p: dict[str, str]) -> nn.Module:
    size = int(p.get("pool_size", 2))
    pool = nn.MaxPool2d if p.get("reduction_type", "max_pooling") == "max_pooling" else nn.AvgPool2d
    return pool(size, 2, (size - 1) // 2)


def _dil_conv(c: int, p: dict[str, str]) -> nn.Module:
    k = int(p.get("filter_size", 3))
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, k, 1, k - 1, dilation=2, bias=False), nn.BatchNorm2d(c))


def _pool(kind: type) -> Callable[[int, dict[str, str]], nn.Module]:
    return lambda c, p: kind(int(p.get("filter_size", 3)), 1, int(p.get("filter_size", 3)) // 2)


BUILDERS: dict[str, Callable[[int, dict[str, str]], nn.Module]] = {
    "convolution": _conv, "separable_convolution": _sep_conv, "depthwise_convolution": _dw_conv,
    "reduction": _reduction, "dilated_convolution": _dil_conv, "max_pooling": _pool(nn.MaxPool2d),
    "avg_pooling": _pool(nn.AvgPool2d), "skip_connection": lambda c, p: nn.Identity(),
}


def build_op(token: str, channels: int) -> nn.Module:
    kind, params = parse_token(token)
    if kind not in BUILDERS:
        raise SpaceError(f"operation {token!r}: type {kind!r} is not buildable; allowed: "
                         + ", ".join(BUILDERS))
    try:
        return BUILDERS[kind](channels, params)
    except ValueError as exc:
        raise SpaceError(f"operation {token!r}: {exc}") from None


class KatibLayer(nn.Module):
    """(previous + chosen skips) -> chosen operation."""

    def __init__(self, index: int, operations: Sequence[str], channels: int) -> None:
        super().__init__()
        self.op = LayerChoice({t: build_op(t, channels) for t in operations}, key=f"layer{index}")
        self.skip = InputChoice(index, None, f"skip{index}", reduction="sum", allow_empty=True) if index else None

    def forward(self, prev: torch.Tensor, earlier: list[torch.Tensor]) -> torch.Tensor:
        x = prev  # [B, C, H, W]
        if self.skip is not None:
            active = self.skip.active()
            size = prev.shape[-2:]
            inputs = [_fit(t, size) if active is None or j in active else None for j, t in enumerate(earlier)]
            skips = self.skip(inputs)
            x = x if skips is None else x + skips
        return self.op(x)


def _fit(t: torch.Tensor, size: torch.Size) -> torch.Tensor:
    return t if t.shape[-2:] == size else F.adaptive_avg_pool2d(t, size)


class KatibMacroNetwork(nn.Module):
    """Stem -> layers -> GAP -> linear: ``[B, C_in, H, W] -> [B, classes]``."""

    def __init__(self, num_layers: int, in_channels: int, classes: int, operations: Sequence[str],
                 channels: int) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(channels))
        self.layers = nn.ModuleList(KatibLayer(i, operations, channels) for i in range(num_layers))
        self.classifier = nn.Linear(channels, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stem(x)
        outs = [h]  # skip candidates: stem output, then each layer's output
        for layer in self.layers:
            h = layer(h, outs[:-1])
            outs.append(h)
        return self.classifier(h.mean(dim=(2, 3)))


def katib_macro(num_layers: int = 1, input_sizes: Sequence[int] = (32, 32, 3),
                output_sizes: Sequence[int] = (10,), operations: Sequence[str] = ("skip_connection",),
                channels: int = 32) -> nn.Module:
    """The space of a Katib ``nasConfig``; arguments as ``NasSpace.space_args()``."""
    if len(input_sizes) != 3:
        raise bad_value("input_sizes", list(input_sizes), "[height, width, channels]")
    if num_layers < 1 or channels < 1 or not output_sizes:
        raise bad_value("num_layers/channels/output_sizes", (num_layers, channels, output_sizes),
                        "positive layers and channels, non-empty output sizes")
    return KatibMacroNetwork(num_layers, int(input_sizes[-1]), int(output_sizes[-1]), list(operations), channels)


if "katib-macro" not in SPACES:
    register_space("katib-macro")(katib_macro)
