"""DARTS with DrNAS's Dirichlet mixing (``mixing="dirichlet"``): sampling, sharpening, gradients."""
from __future__ import annotations

import pytest
import torch

from supernas.errors import ConfigError
from supernas.oneshot.darts import DartsSearch
from supernas.oneshot.dirichlet import concentration, dirichlet_weights, sharpen
from tests.test_darts_decide import ReluBn, _data


def test_training_passes_draw_fresh_weights_evaluation_uses_the_mean() -> None:
    torch.manual_seed(0)
    space = ReluBn()
    algo = DartsSearch(space, mixing="dirichlet", temperature_schedule="constant", aux_skip=0.0)
    x = torch.randn(8, 6)
    space.train()
    first, second = space.e1(x), space.e1(x)
    assert not torch.allclose(first, second)  # a new Dirichlet draw per forward pass
    space.eval()
    assert torch.equal(space.e1(x), space.e1(x))
    alpha = algo.mutator.alpha["e1"].detach()
    mean = concentration(alpha) / concentration(alpha).sum()
    assert torch.allclose(algo.mutator.layer_weights("e1"), mean)


def test_one_pass_shares_one_draw_per_key() -> None:
    torch.manual_seed(1)
    algo = DartsSearch(ReluBn(), mixing="dirichlet")
    with algo.mutator.once_per_pass():
        a = algo.mutator.layer_weights("e1", sample=True)
        b = algo.mutator.layer_weights("e1", sample=True)
    assert a is b


def test_sharpening_is_a_power_and_keeps_the_argmax() -> None:
    w = torch.tensor([0.5, 0.3, 0.2])
    sharp = sharpen(w, 0.5)
    assert torch.allclose(sharp, w ** 2 / (w ** 2).sum())
    assert int(sharp.argmax()) == 0 and float(sharp.max()) > 0.5
    assert torch.allclose(sharpen(w, 1.0), w)


def test_pathwise_gradient_reaches_alpha_and_the_search_decides() -> None:
    """The rsample gradient is finite and moves alpha; derive is the argmax of alpha."""
    torch.manual_seed(0)
    algo = DartsSearch(ReluBn(), mixing="dirichlet", warmup_epochs=0, arch_lr=0.05, aux_skip=0.0)
    opts = algo.configure_optimizers()
    (xt, yt), (xv, yv) = ((x.float(), y) for x, y in _data(2))
    before = [a.detach().clone() for a in algo.arch_parameters()]
    algo.space.train()
    for epoch in range(3):
        algo.on_epoch_start(epoch, 3)
        for _ in range(10):
            algo.arch_step((xv, yv), opts)
            algo.weight_step((xt, yt), opts)
    after = algo.arch_parameters()
    assert all(torch.isfinite(a).all() for a in after)
    assert any(not torch.allclose(a, b) for a, b in zip(after, before))
    names = ["relu", "bn", "skip"]
    assert algo.derive()["e1"] == names[int(algo.mutator.alpha["e1"].argmax())]
    extras = algo.arch_extras()["probabilities_t1"]["e1"]
    assert sum(extras.values()) == pytest.approx(1.0)


def test_unknown_mixing_is_refused_at_creation() -> None:
    with pytest.raises(ConfigError, match="mixing.*'gumbel'.*softmax, dirichlet"):
        DartsSearch(ReluBn(), mixing="gumbel")


def test_weights_sum_to_one_under_sampling_and_temperature() -> None:
    torch.manual_seed(3)
    alpha = torch.randn(5)
    for t in (1.0, 0.3, 0.1):
        w = dirichlet_weights(alpha, t, sample=True)
        assert torch.isfinite(w).all() and float(w.sum()) == pytest.approx(1.0, abs=1e-5)
