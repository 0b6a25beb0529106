"""The one search loop: the ask/tell ``constrained-evolution`` and ``best-of-n`` strategies, driven by
``run_strategy``, are the generational algorithms they replace, draw for draw.

Each reference below is the plain loop as SPOS's Algorithm 1 (Guo et al. 2020, arXiv 1904.00420)
and random search / NASWOT's best of N describe it: score a whole population, then make the next
one. Same seed, same operators: the strategy must evaluate the same architectures in the same
order and return the same best (what keeps the one-shot selections' results unchanged).
"""
from __future__ import annotations

import hashlib
import random

import pytest

from supernas.errors import ConfigError
from supernas.mutator import sample_uniform
from supernas.space import Decision
from supernas.strategies import STRATEGIES, run_strategy
from supernas.strategies.best_of_n import TRIES_PER_SAMPLE, BestOfN
from supernas.strategies.constrained_evolution import TRIES_PER_CANDIDATE, ConstrainedEvolution
from supernas.strategies.dedupe import arch_key
from supernas.strategies.feasible import draw_feasible, uniform_drawer
from supernas.strategies.mutation import crossover, mutate_each

OPS = ("none", "skip", "conv1", "conv3", "pool")
SPACE = [Decision(f"e{i}", "layer", choices=OPS) for i in range(5)] + \
    [Decision("in", "input", n_candidates=4, n_chosen=2)]
SETTINGS = {"population": 8, "iterations": 5, "top_k": 3, "mutations": 5, "crossovers": 4,
            "mutation_prob": 0.2}


class CountLimit:
    """At most ``k`` convolutions (a stand-in for a parameter limit)."""

    def __init__(self, k: int) -> None:
        self.k = k

    def fits(self, choices: dict) -> bool:
        return sum(str(v).startswith("conv") for v in choices.values()) <= self.k


def fitness(choices: dict) -> float:
    """Deterministic, and with ties (rounded), so the first-of-equal rules matter."""
    return round(int(hashlib.sha256(arch_key(choices).encode()).hexdigest()[:6], 16) / 16**6, 1)


def reference_evolution(seed: int, limit: CountLimit, start: list[dict], admits) -> tuple[list, dict]:
    """SPOS's evolution as a generational loop: (every scored architecture in order, the best)."""
    rng, s, scores, history = random.Random(seed), SETTINGS, {}, []
    population = [c for c in start if limit.fits(c)][: s["population"]] or draw_feasible(
        limit, uniform_drawer(SPACE, rng), s["population"], s["population"] * TRIES_PER_CANDIDATE)
    for iteration in range(s["iterations"]):
        for c in population:
            if arch_key(c) not in scores:
                scores[arch_key(c)] = fitness(c)
                history.append((c, scores[arch_key(c)]))
        top = sorted(history, key=lambda cs: -cs[1])[: s["top_k"]]
        if iteration == s["iterations"] - 1:
            break
        population = next_population([c for c, _ in top], scores, rng, limit, start, admits)
        if not population:
            break
    return history, top[0][0]


def next_population(parents: list[dict], scores: dict, rng: random.Random, limit: CountLimit,
                    start: list[dict], admits) -> list[dict]:
    """Mutations, crossovers, then top-ups: new, unscored, feasible and admitted."""
    s, children = SETTINGS, {}

    def add(n: int, make) -> None:
        wanted = len(children) + max(n, 0)
        for _ in range(max(n, 0) * TRIES_PER_CANDIDATE):
            if len(children) >= wanted:
                return
            child = make()
            key = arch_key(child)
            if key not in scores and key not in children and limit.fits(child) and admits(child):
                children[key] = child

    add(s["mutations"], lambda: mutate_each(rng.choice(parents), SPACE, rng, s["mutation_prob"]))
    add(s["crossovers"], lambda: crossover(*rng.sample(parents, 2), rng=rng))
    add(s["population"] - len(children),
        lambda: dict(rng.choice(start)) if start else sample_uniform(SPACE, rng))
    return list(children.values())


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("prior", [False, True])
def test_constrained_evolution_is_the_generational_loop(seed: int, prior: bool) -> None:
    limit = CountLimit(2)
    pool = draw_feasible(limit, uniform_drawer(SPACE, random.Random(f"{seed}-pool")), 40, 800)
    start = sorted(pool, key=lambda c: -fitness(c))[:12] if prior else []
    admits = (lambda c: c["e0"] != "none") if prior else (lambda c: True)
    history, best = reference_evolution(seed, limit, start, admits)
    strategy = ConstrainedEvolution(SPACE, limit=limit, start=start, admits=admits if prior else None,
                                    rng=random.Random(seed), **SETTINGS)
    found, score = run_strategy(strategy, fitness)
    assert [arch_key(a) for a, _ in strategy.history] == [arch_key(c) for c, _ in history]
    assert found == best and score == max(r for _, r in history)
    assert strategy.finished() and len(history) > SETTINGS["population"]


@pytest.mark.parametrize("seed", [0, 3])
def test_best_of_n_is_the_first_best_of_the_feasible_draws(seed: int) -> None:
    limit = CountLimit(1)
    draws = draw_feasible(limit, uniform_drawer(SPACE, random.Random(seed)), 30, 30 * TRIES_PER_SAMPLE)
    scores = [fitness(c) for c in draws]
    strategy = BestOfN(SPACE, limit=limit, rng=random.Random(seed), num_samples=30)
    found, score = run_strategy(strategy, fitness)
    assert [a for a, _ in strategy.history] == draws
    assert found == draws[scores.index(max(scores))] and score == max(scores)


def test_a_finished_search_keeps_answering_a_platform() -> None:
    """After its last generation a platform still gets architectures (further generations)."""
    s = STRATEGIES.create("constrained-evolution", space_decisions=SPACE, seed=4, **SETTINGS)
    run_strategy(s, fitness)
    assert s.finished()
    assert len(s.suggest(3)) == 3


def test_budget_stops_the_loop_and_is_required_for_endless_strategies() -> None:
    s = STRATEGIES.create("constrained-evolution", space_decisions=SPACE, seed=0, **SETTINGS)
    run_strategy(s, fitness, budget=5)
    assert len(s.history) == 5
    with pytest.raises(ConfigError, match="budget=None"):
        run_strategy(STRATEGIES.create("random", space_decisions=SPACE), fitness)
    run_strategy(STRATEGIES.create("random", space_decisions=SPACE), fitness, budget=3)
