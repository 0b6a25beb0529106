"""Building blocks shared by the candidate ops and the space skeletons.

Shapes follow the DARTS reference code (Liu et al. 2019, arXiv 1806.09055, ``cnn/operations.py``)
and NAS-Bench-201 (Dong & Yang 2020, arXiv 2001.00326): ReLU -> conv -> BN ordering, bias-free
convolutions, ``padding = dilation * (kernel - 1) // 2`` so a stride-``s`` op maps ``H`` to
``ceil(H / s)`` for every op (convs, pools, ``Zero`` and ``FactorizedReduce`` agree on odd sizes).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from supernas.ops.depthwise import DepthwiseConv2d


def same_padding(kernel: int, dilation: int = 1) -> int:
    """Padding that keeps ``H`` at stride 1 and gives ``ceil(H / s)`` at stride ``s``."""
    return dilation * (kernel - 1) // 2


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv(k, stride, dilation, no bias) -> BN: ``[B, C_in, H, W] -> [B, C_out, H/s, W/s]``."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1,
                 dilation: int = 1, affine: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride, same_padding(kernel, dilation), dilation,
                      bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )

    def after_relu(self, r: torch.Tensor) -> torch.Tensor:
        """The op on ``r = relu(x)`` (``supernas.ops.shared_relu``)."""
        return _rest(self, r)


def _rest(seq: nn.Sequential, r: torch.Tensor) -> torch.Tensor:
    """``seq`` without its leading ReLU, applied to ``r``."""
    for m in list(seq)[1:]:
        r = m(r)
    return r


class ConvBNReLU(nn.Sequential):
    """Conv -> BN -> ReLU (the ENAS ordering, Pham et al. 2018 arXiv 1802.03268)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1,
                 affine: bool = True, groups: int = 1) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, stride, same_padding(kernel), groups=groups,
                      bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
            nn.ReLU(inplace=False),
        )


class DilConv(nn.Sequential):
    """ReLU -> depthwise conv (dilated) -> pointwise conv -> BN (DARTS ``DilConv``); the
    depthwise conv is ``DepthwiseConv2d`` (same maths, faster CPU backward)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, dilation: int,
                 affine: bool = True) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            DepthwiseConv2d(c_in, kernel, stride, same_padding(kernel, dilation), dilation),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )

    def after_relu(self, r: torch.Tensor) -> torch.Tensor:
        """The op on ``r = relu(x)`` (``supernas.ops.shared_relu``)."""
        return _rest(self, r)


class SepConv(nn.Sequential):
    """``DilConv`` (dilation 1) applied twice, the first with ``stride`` (DARTS ``SepConv``)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int,
                 affine: bool = True) -> None:
        super().__init__(
            DilConv(c_in, c_in, kernel, stride, 1, affine),
            DilConv(c_in, c_out, kernel, 1, 1, affine),
        )

    def after_relu(self, r: torch.Tensor) -> torch.Tensor:
        """The op on ``r = relu(x)`` (``supernas.ops.shared_relu``)."""
        first, second = self[0], self[1]
        assert isinstance(first, DilConv)
        return second(first.after_relu(r))


class Zero(nn.Module):
    """The ``none`` op: zeros of shape ``[B, C, ceil(H/s), ceil(W/s)]`` (zero gradient to ``x``)."""

    def __init__(self, stride: int = 1) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # multiply (not new_zeros) so the result stays in the autograd graph, as in DARTS
        s = self.stride
        return x.mul(0.0) if s == 1 else x[:, :, ::s, ::s].mul(0.0)

    def extra_repr(self) -> str:
        return f"stride={self.stride}"


class FactorizedReduce(nn.Module):
    """Halve the resolution with two offset stride-2 1x1 convs, concatenated, then BN.

    ``[B, C_in, H, W] -> [B, C_out, ceil(H/2), ceil(W/2)]``. The second conv sees the input
    shifted by one pixel (zero-padded at the far edge, so odd sizes work too).
    """

    def __init__(self, c_in: int, c_out: int, affine: bool = True) -> None:
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out - c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.after_relu(self.relu(x))

    def after_relu(self, x: torch.Tensor) -> torch.Tensor:
        """The op on ``x = relu(input)`` (``supernas.ops.shared_relu``)."""
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]  # [B, C_in, H, W], one pixel over
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))
