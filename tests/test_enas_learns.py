"""One-shot ENAS learns on a small real problem: NB201 cells on scikit-learn digits (1x8x8).

Real short training (no timing assertions): with the defaults the controller is updated tens of
times, its marginals move away from uniform, and the parameter-free penalty keeps the greedy
cell off the all-parameter-free cell; the schedule, warm-up and batch-statistics rewards are
pinned on their own. Every run is seeded, so the outcomes are deterministic on one platform.
"""
from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterator

import pytest
import torch
from sklearn.datasets import load_digits

from supernas.oneshot import ALGORITHMS
from supernas.oneshot.enas import EnasOneShot
from supernas.oneshot.strength import decision_strength
from supernas.oneshot.supernet_eval import batch_norms
from supernas.spaces import create_space

Batch = tuple[torch.Tensor, torch.Tensor]
FREE = {"none", "skip_connect", "avg_pool_3x3"}  # NB201's parameter-free ops


def _digits() -> tuple[Batch, Batch]:
    d = load_digits()
    x = torch.tensor(d.images / 16.0, dtype=torch.float32).unsqueeze(1)  # [1797, 1, 8, 8]
    y = torch.tensor(d.target)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    x, y = x[perm], y[perm]
    return (x[:900], y[:900]), (x[900:1800], y[900:1800])


def _batches(data: Batch, seed: int, size: int = 64) -> list[Batch]:
    perm = torch.randperm(len(data[1]), generator=torch.Generator().manual_seed(seed))
    return [(data[0][perm[i:i + size]], data[1][perm[i:i + size]])
            for i in range(0, len(perm) - size + 1, size)]


def _space() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_space("nb201", C=4, N=1, in_channels=1, num_classes=10)


def _search(algo: EnasOneShot, epochs: int, start: int = 0, total: int | None = None) -> None:
    """Epochs ``start..epochs-1`` of ``total`` (default ``epochs``): arch step, then weight step."""
    train, val = _digits()
    opts = algo.configure_optimizers()
    for epoch in range(start, epochs):
        algo.on_epoch_start(epoch, total or epochs)
        for tb, vb in zip(_batches(train, epoch), _batches(val, epoch + 100)):
            algo.arch_step(vb, opts)
            algo.weight_step(tb, opts)


@pytest.fixture(scope="module")
def searched() -> Iterator[tuple[EnasOneShot, list[torch.Tensor]]]:
    """Six epochs with the default settings (14 steps each; the first 25% are warm-up)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    algo = ALGORITHMS.create("enas", space=_space())
    initial = [p.detach().clone() for p in algo.controller.parameters()]
    _search(algo, 6)
    yield algo, initial
    torch.set_num_threads(before)


def test_controller_updates_are_finite_and_change_the_policy(searched) -> None:
    algo, initial = searched
    # 4 of 6 epochs after the warm-up, 14 steps of 4 rewarded children, 10 per update
    assert algo.trainer.updates == 4 * 14 * 4 // 10
    params = list(algo.controller.parameters())
    assert all(torch.isfinite(p).all() for p in params)
    assert any(not torch.equal(p, q) for p, q in zip(params, initial))


def test_marginals_move_away_from_uniform(searched) -> None:
    algo, _ = searched
    summary = algo.arch_summary()
    assert all(sum(p.values()) == pytest.approx(1.0) for p in summary.values())
    assert decision_strength(summary) > 0.27  # uniform: 0.2; this run: 0.31


def test_greedy_cell_is_not_all_parameter_free(searched) -> None:
    algo, _ = searched
    assert not set(algo.derive().values()) <= FREE
    assert not set(algo.select(_batches(_digits()[1], 7)[:4]).values()) <= FREE


def test_no_controller_update_during_warmup() -> None:
    algo = ALGORITHMS.create("enas", space=_space(), warmup=0.5)
    _search(algo, 2, total=4)
    assert algo.trainer.updates == 0 and algo.warming_up()
    _search(algo, 3, start=2, total=4)
    assert algo.trainer.updates > 0 and not algo.warming_up()


def test_weight_lr_follows_the_cosine() -> None:
    algo = ALGORITHMS.create("enas", space=_space())
    opt = algo.configure_optimizers()["weights"]
    lrs = []
    for epoch in range(10):
        algo.on_epoch_start(epoch, 10)
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs[0] == pytest.approx(0.05)
    assert lrs == sorted(lrs, reverse=True)
    assert algo.cosine_lr(10, 10) == pytest.approx(5e-4)
    assert lrs[5] == pytest.approx(5e-4 + 0.5 * (0.05 - 5e-4) * (1 + math.cos(math.pi / 2)))


def test_reward_uses_batch_statistics_and_keeps_bn_buffers() -> None:
    algo = ALGORITHMS.create("enas", space=_space())
    _search(algo, 1)
    x, y = _batches(_digits()[1], 3)[0]
    norms = batch_norms(algo.space)
    before = [m.running_mean.clone() for m in norms]
    arch = algo.mutator.sample()
    reward = algo.evaluate(arch, [(x, y)])
    assert all(torch.equal(m.running_mean, b) for m, b in zip(norms, before))
    algo.space.train()
    with torch.no_grad():
        expected = float((algo.space(x).argmax(-1) == y).float().mean())  # BN on x's statistics
    assert reward == pytest.approx(expected)


def test_resume_mid_search_gives_identical_results() -> None:
    a = ALGORITHMS.create("enas", space=_space(), seed=3)
    _search(a, 2, total=4)
    b = ALGORITHMS.create("enas", space=copy.deepcopy(a.space), seed=9)
    b.load_state_dict(json.loads(json.dumps(a.state_dict())))
    assert b.warming_up() == a.warming_up()
    assert b.configure_optimizers()["weights"].param_groups[0]["lr"] == a.cosine_lr(1, 4)
    _search(a, 3, start=2, total=4)
    _search(b, 3, start=2, total=4)
    assert a.trainer.updates == b.trainer.updates > 0
    for p, q in zip(list(a.controller.parameters()) + list(a.space.parameters()),
                    list(b.controller.parameters()) + list(b.space.parameters())):
        assert torch.equal(p, q)


def test_parameter_free_penalty_is_one_sided() -> None:
    """The ENAS skip KL on the parameter-free ops' total probability, only above the target."""
    from supernas.controller.distributions import excess_kl

    assert float(excess_kl(torch.tensor(0.3), 0.4)) == 0.0
    kl = 0.6 * math.log(0.6 / 0.4) + 0.4 * math.log(0.4 / 0.6)
    assert float(excess_kl(torch.tensor(0.6), 0.4)) == pytest.approx(kl, rel=1e-5)
    ctrl = ALGORITHMS.create("enas", space=_space()).controller
    assert all(v == [0, 1, 4] for v in ctrl.free_ops.values())  # none, skip, avg_pool
    assert len(ctrl.free_ops) == 6
    assert float(ctrl(greedy=True).skip_penalty.detach()) > 0  # near uniform: mass 3/5 > 0.4
    off = ALGORITHMS.create("enas", space=_space(), free_target=None).controller
    assert off.free_ops == {} and float(off(greedy=True).skip_penalty) == 0.0
