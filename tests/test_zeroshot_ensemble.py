"""The cheap proxies (SynFlow, params, MACs, AZ-NAS's three) and the rank-aggregating ensembles.

The registry-wide invariants (finite, deterministic, network unchanged, all-``none`` NB201 cell
last) run on every one of them in ``tests/test_zeroshot.py``; here: their definitions on tiny
real models, the aggregation on synthetic scores, and the ensembles through the search paths.
"""
from __future__ import annotations

import itertools
import math
import random

import numpy as np
import pytest
import torch
from spos_helpers import TinySpace, synthetic_batches
from torch import nn

from supernas.cost import count_macs, count_parameters
from supernas.freeze import freeze
from supernas.oneshot import ALGORITHMS
from supernas.oneshot.constraints import CostLimit
from supernas.oneshot.zero_shot_prior import ZeroShotPrior
from supernas.spaces import create_space
from supernas.spaces.nb201 import from_nb201_string
from supernas.strategies.dedupe import arch_key
from supernas.zeroshot import PROXIES, Ensemble, macs, params, rank, synflow
from supernas.zeroshot.aggregate import average_ranks, log_rank_sum, relative_score
from supernas.zeroshot.az_nas import az_statistics, jacobian_score, spectral_entropy
from supernas.zeroshot.block_features import block_features, block_modules
from supernas.zeroshot.ensemble import AZ_NAS, ENSEMBLE

NEW = {"synflow", "params", "macs", "az-expressivity", "az-progressivity", "az-trainability",
       "az-nas", "ensemble"}
GOOD = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


def test_new_proxies_are_registered_and_accepted_by_name() -> None:
    assert NEW <= set(PROXIES.names())
    assert set(ENSEMBLE) | set(AZ_NAS) <= set(PROXIES.names())
    for name in ("az-nas", "ensemble"):
        ALGORITHMS.create("zero-shot", space=TinySpace(), proxy=name)
        ALGORITHMS.create("spos", space=TinySpace(), prior=name)


def chain(bias: bool = False) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 3, bias=bias), nn.ReLU(), nn.Linear(3, 2, bias=bias))


def test_synflow_of_a_bias_free_chain_is_depth_times_the_flow() -> None:
    """R = 1^T |W2| |W1| 1 is homogeneous of degree 2 in the weights, so sum theta dR/dtheta = 2R."""
    net = chain()
    w1, w2 = net[0].weight.detach().abs().double(), net[2].weight.detach().abs().double()
    flow = float(torch.ones(2, dtype=torch.float64) @ w2 @ w1 @ torch.ones(4, dtype=torch.float64))
    assert synflow(net, torch.randn(5, 4)) == pytest.approx(math.log(2 * flow), rel=1e-12)
    dead = chain()
    with torch.no_grad():
        dead[0].weight.zero_()
    assert synflow(dead, torch.randn(5, 4)) == -math.inf  # no flow reaches any parameter


def test_synflow_prefers_the_wider_conv_cell() -> None:
    space = create_space("nb201", C=4, N=1)
    x = torch.randn(2, 3, 16, 16)
    convs = synflow(freeze(space, from_nb201_string(GOOD)), x)
    pools = synflow(freeze(space, from_nb201_string(GOOD.replace("nor_conv_3x3", "avg_pool_3x3"))), x)
    assert convs > pools


def test_params_and_macs_are_the_cost_functions() -> None:
    net, x = freeze(TinySpace(), {"b1": "conv3", "b2": "conv5"}), torch.randn(3, 1, 8, 8)
    small = freeze(TinySpace(), {"b1": "skip", "b2": "conv1"})
    assert params(net, x) == count_parameters(net) > params(small, x)
    assert macs(net, x) == count_macs(net, (1, 8, 8)) > macs(small, x)


def test_spectral_entropy_is_log_channels_for_isotropic_features_and_zero_for_rank_one() -> None:
    g = torch.Generator().manual_seed(0)
    iso = torch.randn(256, 8, 4, 4, generator=g)
    assert spectral_entropy(iso) == pytest.approx(math.log(8), abs=0.01)
    rank_one = torch.randn(256, 1, 4, 4, generator=g) * torch.arange(1.0, 9.0).view(1, 8, 1, 1)
    assert spectral_entropy(rank_one) == pytest.approx(0.0, abs=1e-3)
    assert spectral_entropy(torch.zeros(4, 8, 4, 4)) == -math.inf


def test_trainability_is_best_for_norm_preserving_blocks() -> None:
    f_in = torch.randn(64, 4, 8, 8, requires_grad=True)
    g = torch.Generator().manual_seed(0)
    flip, double = jacobian_score(f_in, -f_in, g), jacobian_score(f_in, 2 * f_in, g)
    shuffle = jacobian_score(f_in, nn.functional.pixel_unshuffle(f_in, 2), g)  # a stride-2 permutation
    assert flip == pytest.approx(0.0, abs=0.01)  # s = 1 up to the Rademacher estimate's noise
    assert shuffle == pytest.approx(0.0, abs=0.1)  # 16 x 16 estimate from 1,024 positions: noisier
    assert double == pytest.approx(2 - 2 - 0.5, abs=0.02) and double < flip
    assert jacobian_score(f_in, f_in * 1, g) == -math.inf  # exactly the identity (AZ-NAS)


def test_nb201_blocks_are_the_stem_cells_and_reductions() -> None:
    """As AZ-NAS's NB201 code: the stem's output, then every cell's and reduction's, no head."""
    net = freeze(create_space("nb201", C=4, N=2), from_nb201_string(GOOD))
    assert block_modules(net) == [net.stem, *net.cells]
    shapes = [tuple(f.shape[1:]) for f in block_features(net, torch.randn(2, 3, 16, 16))]
    assert shapes == [(4, 16, 16)] * 3 + [(8, 8, 8)] * 3 + [(16, 4, 4)] * 3
    tiny = freeze(TinySpace(), {"b1": "conv3", "b2": "conv5"})
    assert len(block_features(tiny, torch.randn(2, 1, 8, 8))) == 3  # no block list: stem, b1, b2


def test_az_statistics_are_deterministic_per_seed_and_rank_the_dead_cell_lowest() -> None:
    space = create_space("nb201", C=4, N=1)
    x = torch.randn(8, 3, 16, 16)
    good = freeze(space, from_nb201_string(GOOD))
    assert az_statistics(good, x, seed=1) == az_statistics(good, x, seed=1)
    assert az_statistics(good, x, seed=1) != az_statistics(good, x, seed=2)
    dead = az_statistics(freeze(space, from_nb201_string(GOOD.replace("nor_conv_3x3", "none")
                                                         .replace("skip_connect", "none"))), x)
    assert dead["az-expressivity"] == -math.inf < az_statistics(good, x)["az-expressivity"]


def test_average_ranks_average_ties_and_put_minus_infinity_lowest() -> None:
    ranks = average_ranks(np.array([3.0, -np.inf, 3.0, 1.0, -np.inf]))
    assert ranks.tolist() == [4.5, 1.5, 4.5, 3.0, 1.5]


def test_log_rank_sum_prefers_consistently_good_over_mixed() -> None:
    """Linear rank sums tie all three (4 each); AZ-NAS's log ranks put the consistent one first."""
    pop = [{"a": 3, "b": 1}, {"a": 2, "b": 2}, {"a": 1, "b": 3}]
    scores = log_rank_sum(pop, ["a", "b"])
    assert scores == pytest.approx([math.log(1 / 3), 2 * math.log(2 / 3), math.log(1 / 3)])
    assert scores[1] > scores[0] == scores[2]


def test_relative_score_equals_leave_one_out_aggregate() -> None:
    rng = random.Random(0)
    pop = [{"a": rng.choice([0.0, 1.0, 2.0, -math.inf]), "b": rng.random(), "c": float(rng.randint(0, 3))}
           for _ in range(25)]
    names = ["a", "b", "c"]
    full = log_rank_sum(pop, names)
    for i in range(len(pop)):
        assert relative_score(pop[:i] + pop[i + 1:], pop[i], names) == pytest.approx(full[i], abs=1e-12)


def test_ensemble_components_and_both_faces() -> None:
    ens = Ensemble(["params", "az-expressivity", "az-trainability"])
    net, (x, _) = freeze(TinySpace(), {"b1": "conv3", "b2": "conv5"}), synthetic_batches(1)[0]
    comps = ens.components(net, x, seed=0)
    assert comps == {"params": params(net, x), **{k: v for k, v in az_statistics(net, x).items()
                                                  if k in comps}}
    assert ens(net, x) == pytest.approx(sum(math.asinh(v) for v in comps.values()))


def test_rank_and_zero_shot_search_aggregate_within_the_candidates() -> None:
    space = TinySpace()
    archs = [{"b1": a, "b2": b} for a, b in itertools.product(("skip", "conv1", "conv5"), repeat=2)]
    batch = synthetic_batches(1)[0]
    ens = PROXIES.get("az-nas")
    ranked = rank(archs, space, batch, "az-nas")
    expected = ens.aggregate([ens.components(freeze(space, a), batch[0], batch[1]) for a in archs])
    assert {r.index: r.score for r in ranked} == pytest.approx(dict(enumerate(expected)))
    algo = ALGORITHMS.create("zero-shot", space=space, num_samples=8, seed=1, proxy="ensemble")
    best = algo.select([batch])
    scores = PROXIES.get("ensemble").aggregate([r["components"] for r in algo.history])
    assert [r["score"] for r in algo.history] == pytest.approx(scores)
    assert best == algo.history[int(np.argmax(scores))]["choices"]


def test_prior_with_an_ensemble_ranks_its_pool_and_places_newcomers_on_that_scale() -> None:
    torch.manual_seed(0)
    space = create_space("nb201", C=4, N=1, affine=False)
    x = torch.randn(8, 3, 16, 16)
    prior = ZeroShotPrior(space, CostLimit(space), proxy="az-nas", pool=12, keep=0.25).fit(x)
    ens = PROXIES.get("az-nas")
    pool_keys = [arch_key(c) for c in prior.ranked()] + [
        arch_key(c) for c in prior._pool if not prior.admits(c)]
    pool_keys = sorted(pool_keys, key=[arch_key(c) for c in prior._pool].index)
    aggregate = ens.aggregate([prior.components[k] for k in pool_keys])
    assert [prior.scores[k] for k in pool_keys] == pytest.approx(aggregate)
    assert len(prior.ranked()) == 3
    newcomer = from_nb201_string(GOOD)
    reference = [prior.components[k] for k in pool_keys]
    if arch_key(newcomer) not in pool_keys:
        assert prior.score(newcomer) == pytest.approx(
            ens.relative(reference, prior.components[arch_key(newcomer)]))
