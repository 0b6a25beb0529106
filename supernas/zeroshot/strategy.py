"""Zero-shot search (``zero-shot``): score untrained children with a proxy, keep the best.

As in NASWOT's search (Mellor et al. 2021, arXiv 2006.04647, section 5): draw ``num_samples``
architectures uniformly (seeded), score each frozen child at initialisation with a proxy
(``naswot`` by default, ``zen`` or ``epe-nas``) on the first ``score_batches`` batches (scores
averaged), and keep the highest (the first of equal ones): the ``best-of-n`` strategy
(``supernas.strategies.best_of_n``) run against the proxy by ``run_strategy``, the search loop
of every one-shot selection. The same ``max_params`` / ``max_macs`` limits as SPOS apply:
architectures over the limit are never scored, and an impossible limit is refused at creation.
The paper's default N is 10 or 100 (N = 100 here).

Children are frozen from the supernet as it is (untrained), so they share one random
initialisation. ``rank`` scores a given list of architectures the same way. With a
rank-aggregating ensemble (``az-nas``, ``ensemble``: ``supernas.zeroshot.ensemble``) both rank
within the candidates compared, as AZ-NAS does: each candidate's member scores are recorded
(``components`` in the history) and, once all are scored, every candidate's score is its log-rank
sum over those candidates; the strategy's own per-candidate reward is the ensemble's
single-network face.
"""
from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import torch
from torch import nn

from supernas.accuracy import device_of
from supernas.architecture import Architecture
from supernas.errors import ConfigError, bad_value
from supernas.freeze import freeze
from supernas.mutator import ChoiceMutator
from supernas.oneshot.base import Backward, Batch, OneShotAlgorithm, plain_backward, register_algorithm
from supernas.oneshot.constraints import Choices, CostLimit, _check_input_size, _check_limit
from supernas.settings import Settings, check_seed, integer, with_settings
from supernas.space import Choice, decisions
from supernas.strategies.best_of_n import TRIES_PER_SAMPLE, BestOfN
from supernas.strategies.feasible import draw_feasible, uniform_drawer
from supernas.strategies.run import run_strategy
from supernas.zeroshot.ensemble import Ensemble
from supernas.zeroshot.registry import PROXIES, get_proxy


def _as_batch(batch: Batch | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    if isinstance(batch, torch.Tensor):
        return batch, None
    x, y = batch
    return x, y


def child_components(child: nn.Module, batches: Sequence[Batch | torch.Tensor], ensemble: Ensemble,
                     seed: int = 0) -> dict[str, float]:
    """``ensemble``'s member scores of ``child``, each averaged over ``batches``."""
    device = device_of(child)
    per_batch = []
    for batch in batches:
        x, y = _as_batch(batch)
        per_batch.append(ensemble.components(child, x.to(device), None if y is None else y.to(device),
                                             seed=seed))
    return {m: sum(c[m] for c in per_batch) / len(per_batch) for m in ensemble.members}


def score_child(child: nn.Module, batches: Sequence[Batch | torch.Tensor],
                proxy: Callable[..., float], seed: int = 0) -> float:
    """Mean proxy score of ``child`` over ``batches``; NaN counts as ``-inf``."""
    device = device_of(child)
    scores = []
    for batch in batches:
        x, y = _as_batch(batch)
        s = proxy(child, x.to(device), None if y is None else y.to(device), seed=seed)
        scores.append(-math.inf if math.isnan(s) else s)
    return sum(scores) / len(scores)


@dataclass
class Ranked:
    """One entry of ``rank``: position in the input list, the architecture, its score."""

    index: int
    choices: Choices
    score: float


def rank(architectures: Iterable[Mapping[str, Choice] | Architecture], space: nn.Module,
         batch: Batch | torch.Tensor, proxy: str | Callable[..., float] = "naswot",
         seed: int = 0) -> list[Ranked]:
    """Score each architecture's frozen child (from ``space``) on ``batch``, best first."""
    fn = get_proxy(proxy)
    archs = [dict(cast("Mapping[str, Choice]", getattr(a, "choices", a))) for a in architectures]
    if isinstance(fn, Ensemble):  # population face: log-rank sum within these architectures
        comps = [child_components(freeze(space, c), [batch], fn, seed) for c in archs]
        scores = fn.aggregate(comps)
    else:
        scores = [score_child(freeze(space, c), [batch], fn, seed) for c in archs]
    out = [Ranked(i, c, s) for i, (c, s) in enumerate(zip(archs, scores))]
    return sorted(out, key=lambda r: -r.score)


@dataclass(frozen=True)
class ZeroShotSettings(Settings):
    """Proxy, sample count and cost limits of ``zero-shot`` (sources in the module docstring)."""

    proxy: str = "naswot"  # NASWOT (Mellor et al. 2021)
    num_samples: int = 100  # NASWOT's N = 100
    seed: int = 0
    score_batches: int = 1  # ours: one batch per score, as NASWOT
    max_params: int | None = None  # no limit
    max_macs: int | None = None  # no limit
    input_size: tuple[int, ...] | None = None  # one sample's shape; needed with max_macs

    def validate(self) -> None:
        if not callable(self.proxy):  # a registered name (RegistryError naming them), or a function
            PROXIES.get(self.proxy)
        integer("num_samples", self.num_samples, low=1)
        check_seed("seed", self.seed)
        integer("score_batches", self.score_batches, low=1)
        _check_limit("max_params", self.max_params)
        _check_limit("max_macs", self.max_macs)
        _check_input_size(self.input_size, self.max_macs is not None)


@register_algorithm("zero-shot")
@with_settings(ZeroShotSettings)
class ZeroShot(OneShotAlgorithm):
    """Best of ``num_samples`` uniform architectures by a zero-shot proxy; no supernet training."""

    needs_training = False
    settings: ZeroShotSettings
    settings_class: type[ZeroShotSettings]
    mutator: ChoiceMutator

    def __init__(self, space: nn.Module, **settings: Any) -> None:
        super().__init__(space)
        self.settings = s = self.settings_class.build(settings)
        self.proxy_name = s.proxy
        self.proxy = get_proxy(s.proxy)
        self.num_samples, self.seed, self.score_batches = s.num_samples, s.seed, s.score_batches
        self.limit = CostLimit(space, s.max_params, s.max_macs, s.input_size)
        self.decisions = decisions(space)
        self.mutator = ChoiceMutator().bind(space)
        self.reference = self._draw(1, f"{s.seed}-reference")[0]
        self.mutator.set_current(self.reference)
        self.best: Choices | None = None
        self.history: list[dict[str, Any]] = []

    def _draw(self, n: int, rng_seed: str) -> list[Choices]:
        drawer = uniform_drawer(self.decisions, random.Random(rng_seed))
        return draw_feasible(self.limit, drawer, n, n * TRIES_PER_SAMPLE)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        return {}

    def weight_step(self, batch: Batch, optimizers: Mapping[str, torch.optim.Optimizer],
                    backward: Backward = plain_backward) -> dict[str, float]:
        return {}  # nothing to train (needs_training is False)

    def derive(self) -> dict[str, Choice]:
        return dict(self.best if self.best is not None else self.reference)

    def eval_forward(self, x: torch.Tensor) -> torch.Tensor:
        self.mutator.attach()
        self.mutator.set_current(self.derive())
        return self.space(x)

    def select(self, batches: Iterable[Batch]) -> dict[str, Choice]:
        scoring = [b for _, b in zip(range(self.score_batches), batches)]
        if not scoring:
            raise bad_value("batches", "[]", "at least one (x, y) batch to score architectures on")
        self.history = []
        strategy = BestOfN(self.decisions, limit=self.limit, rng=random.Random(f"{self.seed}-search"),
                           seed=self.seed, num_samples=self.num_samples)
        run_strategy(strategy, lambda choices: self._score(choices, scoring))
        if isinstance(self.proxy, Ensemble):
            self._aggregate(self.proxy)
        top = max(self.history, key=lambda r: r["score"])
        if top["score"] == -math.inf:
            raise ConfigError(f"proxy={self.proxy_name!r} scored every one of {len(self.history)} "
                              "architectures -inf (naswot needs nn.ReLU units); allowed: a proxy "
                              f"that suits this space, one of {', '.join(PROXIES.names())}")
        self.best = dict(top["choices"])
        return dict(self.best)

    def _score(self, choices: Choices, scoring: Sequence[Batch]) -> float:
        """The proxy score of ``choices``'s frozen child, recorded in ``history`` (-inf kept: the
        pick below is over the records); an ensemble's member scores are recorded too."""
        record: dict[str, Any] = {"choices": choices}
        if isinstance(self.proxy, Ensemble):
            record["components"] = child_components(freeze(self.space, choices), scoring,
                                                    self.proxy, self.seed)
            score = self.proxy.cell_score(record["components"])
        else:
            score = score_child(freeze(self.space, choices), scoring, self.proxy, self.seed)
        record["score"] = score
        if self.limit.active:
            record.update(self.limit.cost(choices))
        self.history.append(record)
        return score

    def _aggregate(self, ensemble: Ensemble) -> None:
        """Replace every record's score by its log-rank sum among the recorded candidates
        (``-inf`` for a candidate every member scored ``-inf``: nothing to rank it by)."""
        scores = ensemble.aggregate([r["components"] for r in self.history])
        for record, score in zip(self.history, scores):
            dead = all(v == -math.inf for v in record["components"].values())
            record["score"] = -math.inf if dead else score

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "history": self.history}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.best = dict(state["best"]) if state.get("best") is not None else None
        self.history = list(state.get("history", []))
