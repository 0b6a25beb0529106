"""SPOS's zero-shot prior, the selection population's frequencies, and the evolution warm start."""
from __future__ import annotations

import math

import pytest
import torch
from spos_helpers import TinySpace, synthetic_batches

from supernas.errors import ConfigError
from supernas.freeze import freeze
from supernas.oneshot import ALGORITHMS
from supernas.oneshot.constraints import CostLimit, arch_key
from supernas.oneshot.strength import decision_strength, population_frequencies
from supernas.oneshot.zero_shot_prior import ZeroShotPrior
from supernas.space import Decision
from supernas.spaces import create_space
from supernas.zeroshot.naswot import naswot

EVOLUTION = {"population": 6, "iterations": 3, "top_k": 3, "mutations": 4, "crossovers": 4}


def nb201() -> torch.nn.Module:
    torch.manual_seed(0)
    return create_space("nb201", C=4, N=1, affine=False)


def images(n: int = 16, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 32, 32, generator=g), torch.randint(0, 10, (n,), generator=g)


def test_prior_admits_the_best_fraction_of_its_pool_best_first() -> None:
    space = nb201()
    prior = ZeroShotPrior(space, CostLimit(space), pool=40, keep=0.25).fit(images()[0])
    ranked = prior.ranked()
    assert len(ranked) == 10  # ceil(0.25 * 40)
    scores = [prior.score(c) for c in ranked]
    assert scores == sorted(scores, reverse=True) and scores[-1] == prior.threshold
    pool_scores = sorted(prior.scores.values(), reverse=True)
    assert pool_scores[:10] == scores and pool_scores[10] < prior.threshold


def test_prior_scores_untrained_children_whatever_the_supernet_learnt() -> None:
    space = nb201()
    x, y = images()
    before = ZeroShotPrior(space, CostLimit(space), pool=8, seed=3).fit(x)
    algo = ALGORITHMS.create("spos", space=space, prior=None, lr=0.5)
    opts = algo.configure_optimizers()
    for _ in range(3):
        algo.weight_step((x, y), opts)
    after = ZeroShotPrior(space, CostLimit(space), pool=8, seed=3).fit(x)
    assert before.scores == after.scores
    arch = after.ranked()[0]
    trained = naswot(freeze(space, arch), x)
    assert not math.isclose(trained, after.score(arch))


def test_spos_with_prior_evaluates_only_admitted_cells_starting_from_the_best() -> None:
    space = nb201()
    algo = ALGORITHMS.create("spos", space=space, prior_pool=30, prior_keep=0.3, **EVOLUTION)
    opts = algo.configure_optimizers()
    x, y = images(seed=1)
    for _ in range(2):
        algo.weight_step((x, y), opts)
    held_out = [images(seed=2)]
    best = algo.select(held_out)
    prior = algo.prior
    assert all(prior.admits(r["choices"]) for r in algo.history)
    first = [arch_key(r["choices"]) for r in algo.history[:EVOLUTION["population"]]]
    assert first == [arch_key(c) for c in prior.ranked()[:EVOLUTION["population"]]]
    assert prior.admits(best) and best == max(algo.history, key=lambda r: r["accuracy"])["choices"]


def test_small_spaces_admit_at_least_one_population() -> None:
    algo = ALGORITHMS.create("spos", space=TinySpace(), prior_keep=0.01, **EVOLUTION)
    algo.configure_optimizers()
    algo.select(synthetic_batches(1))
    assert len(algo.prior.ranked()) >= EVOLUTION["population"]


def test_arch_summary_is_uniform_before_selection_then_the_selection_population() -> None:
    algo = ALGORITHMS.create("spos", space=TinySpace(), prior=None, **EVOLUTION)
    algo.configure_optimizers()
    assert algo.arch_summary()["b1"] == {c: 0.25 for c in ("skip", "conv1", "conv3", "conv5")}
    algo.select(synthetic_batches(2))
    top = sorted(algo.history, key=lambda r: -r["accuracy"])[: EVOLUTION["top_k"]]
    summary = algo.arch_summary()
    for key in ("b1", "b2"):
        assert math.isclose(sum(summary[key].values()), 1.0)
        for op, share in summary[key].items():
            assert share == sum(r["choices"][key] == op for r in top) / len(top)
    assert decision_strength(summary) >= 0.25


def test_population_frequencies_count_inputs_per_candidate() -> None:
    ds = [Decision("op", "layer", choices=("a", "b")),
          Decision("in", "input", n_candidates=3, n_chosen=2)]
    freq = population_frequencies(ds, [{"op": "a", "in": [0, 2]}, {"op": "a", "in": [1, 2]}])
    assert freq == {"op": {"a": 1.0, "b": 0.0}, "in": {"0": 0.5, "1": 0.5, "2": 1.0}}


@pytest.mark.parametrize("settings,field", [({"prior": "nope"}, "prior"),
                                            ({"prior_keep": 0}, "prior_keep"),
                                            ({"prior_keep": 1.5}, "prior_keep"),
                                            ({"prior_pool": 0}, "prior_pool")])
def test_bad_prior_settings_fail_at_creation_naming_the_field(settings: dict, field: str) -> None:
    with pytest.raises(ConfigError, match=f"{field}="):
        ALGORITHMS.create("spos", space=TinySpace(), **settings)


def test_spos_search_records_the_selection_population_in_arch_probabilities(tmp_path) -> None:
    """A real (short) ``supernas search --algorithm spos`` on digits: every epoch trains
    uniformly (strength 0.2), then the selection record holds the population's frequencies and
    ``metrics.json``'s decision strength is that record's."""
    import json

    from trial_templates.config import SearchConfig
    from trial_templates.runner import run_search

    cfg = SearchConfig(algorithm="spos", space="nb201", space_args={"C": 4, "N": 1}, data="digits",
                       epochs=2, output=str(tmp_path), progress=False, accelerator="cpu",
                       report="none", plots=False, finetune_steps=10,
                       settings={**EVOLUTION, "prior_pool": 20})
    result = run_search(cfg)
    epochs = json.loads((tmp_path / "arch_probabilities.json").read_text())["epochs"]
    assert [e.get("stage") for e in epochs] == [None, None, "selection"]
    assert all(e["decision_strength"] == pytest.approx(0.2) for e in epochs[:2])
    assert result["metrics"]["decision_strength"] == pytest.approx(epochs[-1]["decision_strength"])
    assert epochs[-1]["decision_strength"] > 0.2
    chosen = result["architecture"]["choices"]
    assert all(epochs[-1]["probabilities"][k][v] > 0 for k, v in chosen.items())
