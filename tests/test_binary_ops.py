"""Binary ops (BATS): sign STE, binary convolution, channel shuffle, mode switch, ``bats`` space."""
from __future__ import annotations

from typing import Any

import pytest
import torch

from supernas.binarize import binary_convs, binary_mode, set_binary_mode
from supernas.errors import ConfigError
from supernas.freeze import freeze
from supernas.mutator import FixedMutator, UniformMutator
from supernas.ops import OPS, create_op
from supernas.ops.binary import BINARY_OPS, BinaryConv2d, ChannelShuffle, binarize_weight, sign_ste
from supernas.space import decisions
from supernas.spaces import create_space


def test_sign_forward_and_clipped_straight_through_gradient() -> None:
    x = torch.tensor([-2.0, -1.0, -0.3, 0.0, 0.4, 1.0, 1.5], requires_grad=True)
    y = sign_ste(x)
    assert y.tolist() == [-1, -1, -1, 1, 1, 1, 1]
    y.backward(torch.arange(1.0, 8.0))
    assert x.grad.tolist() == [0, 2, 3, 4, 5, 6, 0]  # passed through only where |x| <= 1


def test_binarised_weight_is_sign_times_mean_abs_per_output_channel() -> None:
    w = torch.randn(6, 2, 3, 3)
    b = binarize_weight(w)
    alpha = w.abs().mean(dim=(1, 2, 3))
    for o in range(6):
        assert torch.allclose(b[o].abs(), alpha[o].expand_as(b[o]))
        assert torch.equal(torch.sign(b[o]), torch.where(w[o] >= 0, 1.0, -1.0))


def _record_operands(conv: BinaryConv2d, seen: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
    """Wrap the convolution's kernel call so the test sees the exact operands it multiplies."""
    original = conv._conv_forward

    def spy(x: torch.Tensor, weight: torch.Tensor, bias: Any) -> torch.Tensor:
        seen.append((x.detach(), weight.detach()))
        return original(x, weight, bias)

    conv._conv_forward = spy  # type: ignore[method-assign]


def check_binary_operands(seen: list[tuple[torch.Tensor, torch.Tensor]],
                          convs: list[BinaryConv2d]) -> None:
    """Activations are exactly +-1; each output filter is +-alpha with alpha = mean|W|."""
    assert seen
    for (x, w), conv in zip(seen, convs):
        assert set(x.unique().tolist()) <= {-1.0, 1.0}
        alpha = conv.weight.detach().abs().mean(dim=(1, 2, 3))  # [O]
        assert torch.allclose(w.abs(), alpha.view(-1, 1, 1, 1).expand_as(w))


def test_binary_conv_sees_only_signs_and_scaled_signs_when_fully_binary() -> None:
    conv = BinaryConv2d(4, 8, 3, padding=1, groups=2)
    conv.binary_weights = True
    seen: list = []
    _record_operands(conv, seen)
    out = conv(torch.randn(2, 4, 5, 5))
    assert out.shape == (2, 8, 5, 5)
    check_binary_operands(seen, [conv])
    conv.binary_weights = False
    conv(torch.randn(2, 4, 5, 5))
    assert torch.equal(seen[-1][1], conv.weight.detach())  # real weights in stage 1


@pytest.mark.parametrize("name", sorted(BINARY_OPS))
@pytest.mark.parametrize("stride, size", [(1, 6), (2, 6), (2, 7)])
def test_binary_ops_shapes_and_gradients(name: str, stride: int, size: int) -> None:
    op = create_op(name, 8, stride)
    x = (0.5 * torch.randn(2, 8, size, size)).requires_grad_(True)
    out = op(x)
    expect = -(-size // stride)
    assert out.shape == (2, 8, expect, expect)
    out.square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    conv = binary_convs(op)[0]
    assert conv.weight.grad is not None and conv.weight.grad.abs().sum() > 0
    assert name in OPS


def test_binary_op_gradient_reaches_input_through_sign_only_inside_clip() -> None:
    op = create_op("bin_conv_3x3", 4, 1)
    conv = binary_convs(op)[0]
    x = torch.randn(1, 4, 5, 5, requires_grad=True)
    conv(x).sum().backward()
    outside = x.detach().abs() > 1
    assert torch.all(x.grad[outside] == 0)
    assert x.grad[~outside].abs().sum() > 0


def test_channel_shuffle_interleaves_groups() -> None:
    x = torch.arange(6.0).view(1, 6, 1, 1)
    assert ChannelShuffle(2)(x).flatten().tolist() == [0, 3, 1, 4, 2, 5]
    assert torch.equal(ChannelShuffle(3)(ChannelShuffle(2)(x)), x)  # inverse shuffle


def test_groups_must_divide_channels() -> None:
    with pytest.raises(ConfigError, match="groups=4.*channels=6"):
        create_op("bin_group_conv_3x3", 6, groups=4)
    assert binary_convs(create_op("bin_group_conv_3x3", 6))[0].groups == 3  # largest <= 12, 2 per group


def test_mode_switch_covers_the_whole_model() -> None:
    model = create_space("bats", channels=4, layers=3, nodes=2)
    assert binary_mode(model) == "activations"
    set_binary_mode(model, "full")
    assert binary_mode(model) == "full"
    assert all(c.binary_weights and c.binary_activations for c in binary_convs(model))
    set_binary_mode(model, "real")
    assert not any(c.binary_activations for c in binary_convs(model))
    with pytest.raises(ConfigError, match="binary_mode='half'"):
        set_binary_mode(model, "half")


def test_bats_space_decisions_forward_and_frozen_child_agree() -> None:
    space = create_space("bats", channels=4, layers=3, nodes=2, num_classes=5)
    ds = decisions(space)
    inputs = [d for d in ds if d.kind == "input"]
    assert {d.key for d in inputs} == {"normal/n2", "normal/n3", "reduce/n2", "reduce/n3"}
    assert all(d.n_chosen == 2 for d in inputs)
    assert len(ds) == 4 + 2 * (2 + 3)
    mutator = UniformMutator(seed=1).bind(space)
    arch = mutator.current
    FixedMutator(arch).bind(space)
    space.eval()
    x = torch.randn(2, 3, 8, 8)
    child = freeze(space, arch).eval()
    assert space(x).shape == (2, 5)
    assert torch.allclose(space(x), child(x), atol=1e-6)


def test_bats_space_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="layers"):
        create_space("bats", layers=2)
    with pytest.raises(ConfigError, match="ops"):
        create_space("bats", ops=["bin_conv_3x3", "no_such_op"])
