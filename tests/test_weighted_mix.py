"""``weighted_mix`` and ``run_candidates`` equal the plain DARTS sum, also in gradients."""
from __future__ import annotations

import pytest
import torch

from supernas.oneshot.weighted_mix import weighted_mix
from supernas.ops import create_op
from supernas.ops.darts import DARTS_OPS
from supernas.ops.shared_relu import run_candidates

INDEX = [0, 2, 3]


def _inputs(channels_last: bool) -> tuple[torch.Tensor, list[torch.Tensor]]:
    w = torch.randn(4, dtype=torch.float64, requires_grad=True)
    outs = [torch.randn(2, 3, 4, 4, dtype=torch.float64) for _ in INDEX]
    if channels_last:
        outs = [o.contiguous(memory_format=torch.channels_last) for o in outs]
    return w, [o.requires_grad_(True) for o in outs]


@pytest.mark.parametrize("channels_last", [False, True])
def test_mix_value_and_gradients_match_plain_sum(channels_last: bool) -> None:
    w, outs = _inputs(channels_last)
    got = weighted_mix(outs, w, INDEX)
    want = sum(o * w[i] for o, i in zip(outs, INDEX))
    torch.testing.assert_close(got, want)
    g = torch.randn_like(got)
    ours = torch.autograd.grad(got, [w, *outs], g)
    plain = torch.autograd.grad(want, [w, *outs], g)
    for a, b in zip(ours, plain):
        torch.testing.assert_close(a, b)


def test_mix_second_derivatives() -> None:
    w, outs = _inputs(False)
    assert torch.autograd.gradgradcheck(lambda a, *o: weighted_mix(o, a, INDEX), (w, *outs))


def test_mix_without_weight_gradient_keeps_output_gradients() -> None:
    w, outs = _inputs(False)
    w.requires_grad_(False)
    weighted_mix(outs, w, INDEX).sum().backward()
    for o, i in zip(outs, INDEX):
        torch.testing.assert_close(o.grad, torch.full_like(o, float(w[i])))


@pytest.mark.parametrize("stride", [1, 2])
def test_shared_relu_gives_each_ops_own_outputs_and_gradients(stride: int) -> None:
    torch.manual_seed(0)
    ops = [create_op(n, 4, stride, affine=True).double() for n in DARTS_OPS if n != "none"]
    x = torch.randn(2, 4, 8, 8, dtype=torch.float64, requires_grad=True)
    shared = run_candidates(ops, x)
    alone = [op(x) for op in ops]
    for a, b in zip(shared, alone):
        torch.testing.assert_close(a, b)
    params = [p for op in ops for p in op.parameters()]
    g1 = torch.autograd.grad(sum(o.sum() for o in shared), [x, *params])
    g2 = torch.autograd.grad(sum(o.sum() for o in alone), [x, *params])
    for a, b in zip(g1, g2):
        torch.testing.assert_close(a, b)
