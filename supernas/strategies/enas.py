"""Ask/tell ENAS: the LSTM controller trained with REINFORCE on trial rewards (multi-trial).

Pham et al. 2018, arXiv 1802.03268 (controller and REINFORCE as in ``supernas.controller``), used
the way NAS-Bench-201 (arXiv 2001.00326) runs "REINFORCE" as a multi-trial searcher: every trial
is one sample, its reward (e.g. validation accuracy) trains the controller.

``observe`` scores the *observed* architecture under the current controller, so credit goes to
the architecture that earned it even when trials finish out of order or were imported. Updates
are aggregated over ``batch_size`` observations; the pending batch is part of the trainer state.

Multi-trial defaults differ from the one-shot ones because a trial budget is ~100 samples, not
~10^5 (each is documented where set, see ``EnasStrategy.__init__``):

* ``reward_norm="rank"``: the reward becomes its quantile among the rewards seen so far, so the
  learning rate works whatever the reward's scale (percent, fraction, loss) and late, tiny
  improvements still give a clear signal;
* ``lr=0.05``, ``batch_size=10``, ``baseline_decay=0.9``: the controller must move within tens of
  samples, not thousands (official one-shot values: lr 1e-3, 20 samples per update, decay 0.99).
  Tuned with ``benchmarks/nb201_strategy_quick.py`` on NAS-Bench-201 (seeds 0-29, 100 trials;
  batch 5/10/20, lr 0.02/0.05/0.1, decay 0.8-0.99, tanh 1.5/2.5, temperature, hidden 32/64 all
  within about 0.1 point of each other; z-score normalisation was clearly worse, 93.66).
  Held-out seeds 100-149: mean 94.11 +/- 0.25 (random 93.71, regularised evolution 94.04 in the same
  run), against 93.85 for the NB201 paper's REINFORCE;
* ``dedupe=True``: an architecture already suggested is not suggested again (a repeated trial
  on a tabular or deterministic benchmark gives no information). A duplicate first draw is
  replaced by the first new architecture among batched draws (``DUPLICATE_BATCHES``: 16, then
  48, each batch one controller pass, ``supernas.controller.batched``; sequential redraws cost one
  pass each, up to 50 of them, the Katib service's latency tail); after those 64 duplicate draws a
  one-decision mutation of the draw is used (NB201 seeds 0-29: 94.12 with, 94.08 without, measured
  with sequential redraws);
* ``exploit_after=None``: from that many observations on, suggestions exploit: the controller's
  greedy architecture if it is new, else a new one-decision neighbour of the best result (local
  search around the incumbent). The strategy does not know the trial budget, so it is off by
  default; adapters that know it should pass about 70% of it. NB201, 100 trials,
  ``exploit_after=70``: 94.17 on seeds 0-29 (94.12 without), 94.22 +/- 0.20 on held-out seeds
  100-149 (94.11 without);
* failures: ``failure_reward="worst"`` treats a failed trial as the worst reward seen so far
  (``None`` skips the update, a finite number is used as the reward); a failure never produces
  NaN. ``reward_norm="zscore"`` is computed on rewards scaled by their largest magnitude and
  clipped to +-``ZSCORE_LIMIT``, so rewards up to the float maximum give a finite value.
"""
from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from supernas.controller import MAX_HIDDEN_SIZE, EnasController, Reinforce
from supernas.controller.batched import sample_batch
from supernas.controller.jsonstate import generator_state_from_json, generator_state_to_json
from supernas.errors import bad_value
from supernas.settings import boolean, choice, integer, is_number, number, with_settings
from supernas.space import Choice, Decision
from supernas.strategies.base import Strategy, StrategySettings, register_strategy
from supernas.strategies.dedupe import arch_key, fresh, fresh_batched
from supernas.strategies.mutation import mutate_one

Choices = dict[str, Choice]
REWARD_NORMS = ("rank", "zscore", "none")
DUPLICATE_TRIES = 50
#: Redraws after a duplicate, batch by batch (a batch costs about one draw; tail <= 2 passes).
DUPLICATE_BATCHES = (16, 48)
#: Bound of a z-scored reward (a reward far outside equal earlier rewards divides by ~1e-8).
ZSCORE_LIMIT = 1e12
#: Largest ``failure_reward`` magnitude: Katib clips objective values to the same +-1e150
#: (``katib_suggestions.trials.MAX_REWARD``), so squares of a million rewards stay finite.
MAX_FAILURE_REWARD = 1e150
#: Above this magnitude ``(r - mean) ** 2`` may overflow: such rewards are z-scored scaled.
_ZSCORE_SAFE = 1e150


@dataclass(frozen=True)
class EnasSettings(StrategySettings):
    """Controller and trainer settings of multi-trial ENAS (sources in the module docstring)."""

    hidden_size: int = 64  # ENAS lstm_size; at most MAX_HIDDEN_SIZE
    tanh_constant: float | None = 1.5  # ENAS macro controller_tanh_constant
    temperature: float = 1.0  # ENAS macro
    skip_target: float = 0.4  # ENAS macro controller_skip_target
    lr: float = 0.05  # tuned on NB201 (module docstring); one-shot ENAS 1e-3
    baseline_decay: float = 0.9  # tuned on NB201; one-shot ENAS 0.99
    entropy_weight: float = 1e-4  # ENAS controller_entropy_weight
    skip_weight: float = 0.8  # ENAS macro controller_skip_weight
    grad_clip: float | None = 5.0  # ENAS controller grad bound
    batch_size: int = 10  # tuned on NB201; one-shot ENAS aggregates 20
    reward_norm: str = "rank"  # ours (module docstring)
    dedupe: bool = True  # ours (module docstring)
    failure_reward: float | str | None = "worst"  # ours: worst reward seen so far
    exploit_after: int | None = None  # off: the strategy does not know the trial budget

    def validate(self) -> None:
        super().validate()
        integer("hidden_size", self.hidden_size, low=1, high=MAX_HIDDEN_SIZE)
        number("tanh_constant", self.tanh_constant, low=0.0, low_open=True, none_ok=True)
        number("temperature", self.temperature, low=0.0, low_open=True)
        number("skip_target", self.skip_target, low=0.0, high=1.0, low_open=True, high_open=True)
        number("lr", self.lr, low=0.0, low_open=True)
        number("baseline_decay", self.baseline_decay, low=0.0, high=1.0, high_open=True)
        number("entropy_weight", self.entropy_weight, low=0.0)
        number("skip_weight", self.skip_weight, low=0.0)
        number("grad_clip", self.grad_clip, low=0.0, low_open=True, none_ok=True)
        integer("batch_size", self.batch_size, low=1)
        choice("reward_norm", self.reward_norm, REWARD_NORMS)
        boolean("dedupe", self.dedupe)
        check_failure_reward(self.failure_reward)
        integer("exploit_after", self.exploit_after, low=0, none_ok=True)


def check_failure_reward(value: Any) -> None:
    """``'worst'``, None or a finite number within +-``MAX_FAILURE_REWARD``."""
    if value is None or value == "worst" or is_number(value) and abs(value) <= MAX_FAILURE_REWARD:
        return
    raise bad_value("failure_reward", value,
                    f"'worst', a finite number within +-{MAX_FAILURE_REWARD:g}, or None (skip)")


@register_strategy("enas")
@with_settings(EnasSettings, leading=("space_decisions",))
class EnasStrategy(Strategy):
    """REINFORCE-trained LSTM controller behind ``suggest``/``observe``."""

    settings: EnasSettings

    def __init__(self, space_decisions: Sequence[Decision], **settings: Any) -> None:
        super().__init__(space_decisions, **settings)
        s = self.settings
        with torch.random.fork_rng(devices=[]):  # seeded init, global RNG untouched
            torch.manual_seed(s.seed)
            self.controller = EnasController(self.decisions, s.hidden_size, 1, s.tanh_constant,
                                             s.temperature, skip_target=s.skip_target)
        self.trainer = Reinforce(self.controller, s.lr, s.baseline_decay, s.entropy_weight,
                                 s.skip_weight, s.grad_clip, s.batch_size, accumulate=True)
        self.gen = torch.Generator().manual_seed(s.seed)
        self.reward_norm, self.dedupe, self.failure_reward = s.reward_norm, s.dedupe, s.failure_reward
        self.exploit_after = s.exploit_after
        self.rewards = RewardLog()

    def _suggest_one(self) -> Choices:
        seen = self.seen_keys
        choices = self._exploit(seen) if self._exploiting() else self._draw()
        if self.dedupe and arch_key(choices) in seen:
            choices = (fresh_batched(self._draw_batch, seen, DUPLICATE_BATCHES)
                       or fresh(lambda: mutate_one(choices, self.decisions, self.rng), seen,
                                DUPLICATE_TRIES)
                       or choices)
        self._remember(choices)
        return dict(choices)

    def _exploiting(self) -> bool:
        return (self.exploit_after is not None and len(self.history) >= self.exploit_after
                and self.best() is not None)

    def _exploit(self, seen: set[str]) -> Choices:
        """The controller's greedy architecture if new, else a fresh one-decision neighbour of
        the best result so far (local search around the incumbent)."""
        with torch.no_grad():
            greedy = self.controller(greedy=True, score=False).choices
        if arch_key(greedy) not in seen:
            return greedy
        best = self.best()[0]  # type: ignore[index]
        return fresh(lambda: mutate_one(best, self.decisions, self.rng), seen,
                     DUPLICATE_TRIES) or self._draw()

    def _draw(self) -> Choices:
        with torch.no_grad():
            return self.controller(generator=self.gen, score=False).choices

    def _draw_batch(self, n: int) -> list[Choices]:
        return sample_batch(self.controller, n, self.gen)

    def _observe(self, choices: Choices, reward: float | None) -> None:
        value = self._reward_value(reward)
        self.rewards.add(reward)
        if value is None:
            return
        with torch.enable_grad():  # the graph is kept for the batched update (no second pass)
            sample = self.controller(fixed=choices)
        self.trainer.record(choices, value, float(sample.entropy.detach()), sample=sample)

    def _reward_value(self, reward: float | None) -> float | None:
        """The (normalised) reward the controller sees, against the earlier successes."""
        done = self.rewards
        if reward is None:
            if self.failure_reward is None or (self.failure_reward == "worst" and not done):
                return None
            reward = done.min() if self.failure_reward == "worst" else float(self.failure_reward)
        return _normalise(float(reward), done, self.reward_norm)

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state.update(trainer=self.trainer.state_dict(), gen=generator_state_to_json(self.gen))
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.trainer.load_state_dict(state["trainer"])
        generator_state_from_json(self.gen, state["gen"])
        self.rewards = RewardLog(r for _, r in self.history)

    def probabilities(self) -> dict[str, list[float]]:
        """Per decision, the controller's probabilities along its greedy path."""
        with torch.no_grad():
            return self.controller(greedy=True, record_probs=True).probs or {}


class RewardLog:
    """The successful rewards so far, in arrival order and sorted (kept incrementally, so ranking
    one more reward costs O(log n) lookups rather than sorting the whole history)."""

    def __init__(self, rewards: Iterable[float | None] = ()) -> None:
        self.ordered: list[float] = []  # arrival order
        self.sorted: list[float] = []
        for r in rewards:
            self.add(r)

    def add(self, reward: float | None) -> None:
        if reward is not None:
            self.ordered.append(reward)
            bisect.insort(self.sorted, reward)

    def min(self) -> float:
        return self.sorted[0]

    def __len__(self) -> int:
        return len(self.ordered)


def _normalise(reward: float, log: RewardLog, how: str) -> float:
    if how == "none" or not log:
        return reward if how == "none" else 0.5
    if how == "rank":  # fraction of earlier rewards below (ties count half)
        ordered = log.sorted
        lo, hi = bisect.bisect_left(ordered, reward), bisect.bisect_right(ordered, reward)
        return (lo + 0.5 * (hi - lo)) / len(ordered)
    previous = log.ordered  # arrival order: the same sums as before, bit for bit
    scale = max(abs(reward), max(previous), -min(previous))
    if scale <= _ZSCORE_SAFE:
        return _clip(_zscore(reward, previous, 1e-8))
    # scaled by the largest magnitude, so no square or sum can overflow
    return _clip(_zscore(reward / scale, [r / scale for r in previous], 1e-8 / scale))


def _zscore(reward: float, previous: Sequence[float], eps: float) -> float:
    mean = sum(previous) / len(previous)
    var = sum((r - mean) ** 2 for r in previous) / len(previous)
    return (reward - mean) / (var ** 0.5 + eps)


def _clip(value: float) -> float:
    return max(-ZSCORE_LIMIT, min(ZSCORE_LIMIT, value))
