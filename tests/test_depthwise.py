"""``DepthwiseConv2d`` gives ``nn.Conv2d``'s outputs and gradients (float64), also second order."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from supernas.ops.depthwise import DepthwiseConv2d, _DepthwiseFn

CASES = [(3, 1, 1), (5, 1, 1), (3, 1, 2), (5, 1, 2), (3, 2, 1), (5, 2, 2), (5, 2, 1)]  # k, s, d


def _pair(k: int, s: int, d: int) -> tuple[nn.Conv2d, DepthwiseConv2d]:
    pad = d * (k - 1) // 2
    ours = DepthwiseConv2d(4, k, s, pad, d).double()
    ref = nn.Conv2d(4, 4, k, s, pad, d, groups=4, bias=False).double()
    ref.load_state_dict(ours.state_dict())
    return ref, ours


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize(("k", "s", "d"), CASES)
def test_forward_and_gradients_match_conv2d(k: int, s: int, d: int, channels_last: bool) -> None:
    ref, ours = _pair(k, s, d)
    x = torch.randn(2, 4, 9, 9, dtype=torch.float64)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    outs = []
    for m in (ref, ours):
        xi = x.clone().requires_grad_(True)
        y = m(xi)
        g = torch.autograd.grad((y * y.detach().cos()).sum(), [xi, m.weight])
        outs.append((y, *g))
    for a, b in zip(*outs):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize(("k", "s", "d"), [(3, 1, 1), (5, 1, 2), (3, 2, 1)])
def test_double_backward_matches_conv2d(k: int, s: int, d: int) -> None:
    """The Hessian-vector products of second-order DARTS go through this backward."""
    ref, ours = _pair(k, s, d)
    x = torch.randn(2, 4, 7, 7, dtype=torch.float64)
    outs = []
    for m in (ref, ours):
        xi = x.clone().requires_grad_(True)
        gx, gw = torch.autograd.grad(m(xi).tanh().sum(), [xi, m.weight], create_graph=True)
        outs.append(torch.autograd.grad((gx.sin().sum() + (gw * gw).sum()), [xi, m.weight]))
    for a, b in zip(*outs):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("stride", [1, 2])
def test_gradgradcheck(stride: int) -> None:
    x = torch.randn(1, 2, 6, 6, dtype=torch.float64, requires_grad=True)
    w = torch.randn(2, 1, 3, 3, dtype=torch.float64, requires_grad=True)
    m = DepthwiseConv2d(2, 3, stride, 2, 2).double()
    fn = lambda a, b: _DepthwiseFn.apply(a, b, m)
    assert torch.autograd.gradgradcheck(fn, (x, w))
