"""Every registered op (parametrised over ``OPS``, so ops registered later are covered too)."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from supernas.errors import ConfigError, RegistryError
from supernas.ops import OPS, create_op
from supernas.ops.darts import DARTS_OPS
from supernas.ops.enas import ENAS_MACRO_OPS
from supernas.ops.layers import FactorizedReduce
from supernas.ops.nb201 import NB201_OPS

CHANNELS = 16  # divisible by the group counts of grouped ops


@pytest.mark.parametrize(("stride", "size"), [(1, 8), (2, 7)])  # odd size: ceil(H / 2)
@pytest.mark.parametrize("name", OPS.names())
def test_op_shape_and_backward(name: str, stride: int, size: int) -> None:
    op = create_op(name, CHANNELS, stride=stride)
    x = torch.randn(2, CHANNELS, size, size, requires_grad=True)
    y = op(x)
    out = -(-size // stride)
    assert y.shape == (2, CHANNELS, out, out)
    (y * torch.randn_like(y)).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()


@pytest.mark.parametrize("name", OPS.names())
def test_op_affine_flag_reaches_batch_norm(name: str) -> None:
    for affine in (True, False):
        bns = [m for m in create_op(name, CHANNELS, 2, affine).modules()
               if isinstance(m, nn.BatchNorm2d)]
        assert all(bn.affine == affine for bn in bns)


def test_op_sets_are_registered() -> None:
    for name in (*DARTS_OPS, *NB201_OPS, *ENAS_MACRO_OPS):
        assert name in OPS


def test_none_is_zero_and_skip_is_identity() -> None:
    x = torch.randn(2, 4, 6, 6)
    assert torch.equal(create_op("none", 4)(x), torch.zeros_like(x))
    assert torch.equal(create_op("none", 4, stride=2)(x), torch.zeros(2, 4, 3, 3))
    assert torch.equal(create_op("skip_connect", 4)(x), x)
    assert isinstance(create_op("skip_connect", 4, stride=2), FactorizedReduce)


def test_avg_pool_does_not_count_padding() -> None:
    x = torch.arange(16.0).reshape(1, 1, 4, 4)
    corner = create_op("avg_pool_3x3", 1)(x)[0, 0, 0, 0]
    assert corner == pytest.approx((0 + 1 + 4 + 5) / 4)  # 4 real neighbours, not 9 with zeros


def test_darts_convs_follow_the_paper() -> None:
    def convs(name: str) -> list[nn.Conv2d]:
        return [m for m in create_op(name, 4).modules() if isinstance(m, nn.Conv2d)]

    sep = convs("sep_conv_3x3")  # (depthwise 3x3 + pointwise) applied twice
    assert [c.kernel_size for c in sep] == [(3, 3), (1, 1)] * 2
    assert [c.groups for c in sep] == [4, 1, 4, 1]
    dil = convs("dil_conv_5x5")  # one dilated depthwise 5x5 + pointwise
    assert [(c.kernel_size, c.dilation) for c in dil] == [((5, 5), (2, 2)), ((1, 1), (1, 1))]
    nor = create_op("nor_conv_3x3", 4)  # ReLU -> Conv -> BN
    assert [type(m) for m in nor] == [nn.ReLU, nn.Conv2d, nn.BatchNorm2d]


def test_factorized_reduce_sees_both_offsets() -> None:
    fr = FactorizedReduce(1, 2, affine=False).eval()
    for conv in (fr.conv_1, fr.conv_2):
        nn.init.ones_(conv.weight)
    x = torch.zeros(1, 1, 4, 4)
    x[0, 0, 1, 1] = 1.0  # only the shifted conv reads odd positions
    y = fr(x)
    assert y[0, 0].abs().sum() == 0 and y[0, 1].abs().sum() > 0


def test_unknown_op_names_allowed_ones() -> None:
    with pytest.raises(RegistryError) as err:
        create_op("sep_conv_3x4", 4)
    msg = str(err.value)
    assert "'sep_conv_3x4'" in msg and "did you mean 'sep_conv_3x3'" in msg
    assert "allowed:" in msg and "nor_conv_1x1" in msg


def test_op_bad_kwargs_and_values() -> None:
    with pytest.raises(RegistryError, match="unknown argument.*kernel.*allowed: channels, stride, affine"):
        create_op("sep_conv_3x3", 4, kernel=3)
    with pytest.raises(ConfigError, match=r"stride=3 is invalid; allowed: 1 or 2"):
        create_op("max_pool_3x3", 4, stride=3)
    with pytest.raises(ConfigError, match=r"channels=0 is invalid; allowed: a positive integer"):
        create_op("nor_conv_1x1", 0)


@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("shape", [(4, 3, 9, 9), (2, 8, 16, 16)])
def test_max_pool_matches_torch_exactly(stride: int, shape: tuple[int, ...]) -> None:
    """The channels-last CPU path gives torch's NCHW result and gradient, bit for bit."""
    from supernas.ops.pooling import MaxPool2d

    x = torch.randn(*shape, requires_grad=True)
    ours, stock = MaxPool2d(3, stride, padding=1), nn.MaxPool2d(3, stride, padding=1)
    y = ours(x)
    assert y.is_contiguous() and type(create_op("max_pool_3x3", 8, stride)) is MaxPool2d
    g = torch.randn_like(y)
    (gx_ours,) = torch.autograd.grad(y, x, g)
    (gx_stock,) = torch.autograd.grad(stock(x), x, g)
    assert torch.equal(y, stock(x)) and torch.equal(gx_ours, gx_stock)
    x_cl = x.detach().contiguous(memory_format=torch.channels_last)
    assert torch.equal(ours(x_cl), stock(x_cl))  # already channels-last: the stock path


@pytest.mark.parametrize("stride", [1, 2])
def test_avg_pool_matches_torch(stride: int) -> None:
    """The channels-last CPU path gives torch's NCHW result and gradient (to rounding)."""
    from supernas.ops.pooling import AvgPool2d

    x = torch.randn(2, 8, 9, 9, requires_grad=True)
    ours = create_op("avg_pool_3x3", 8, stride)
    stock = nn.AvgPool2d(3, stride, padding=1, count_include_pad=False)
    y = ours(x)
    assert y.is_contiguous() and type(ours) is AvgPool2d
    g = torch.randn_like(y)
    torch.testing.assert_close(y, stock(x))
    torch.testing.assert_close(torch.autograd.grad(y, x, g)[0], torch.autograd.grad(stock(x), x, g)[0])
