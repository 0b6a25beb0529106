"""Progressive search with a surrogate (PNAS) as an ask/tell strategy.

Liu et al., "Progressive Neural Architecture Search", ECCV 2018, arXiv 1712.00559: a sequential
model-based search in order of increasing complexity. PNAS grows cells block by block; at each
step it expands every cell of its beam by one block, ranks the expansions with a surrogate
trained on the results so far, trains the top K, and refits the surrogate on them.

Variant implemented (for any space, in the space's decision order): a *partial architecture* is a
choice for the first ``d`` decisions. A round expands every prefix of the beam by every option of
decision ``d + 1``; the surrogate (``supernas.strategies.surrogate``, an MLP ensemble over the
encoding of ``supernas.strategies.encoding``, averaged as PNAS averages its ensemble) scores each
expansion by its best predicted completion among ``completions`` completions of the remaining
decisions (the same for every expansion of the round: those of the ``beam_size`` best results so
far, then uniform random ones); the top
``beam_size`` expansions become the beam and their best unseen completions are suggested (PNAS
trains cells with fewer blocks as they are; a partial architecture of a general space is not a
network, so it is completed). After the last decision the next round starts again from the empty
prefix with the refitted surrogate, so the search never ends. The first ``initial`` successes
come from uniform random architectures (PNAS' first stage trains every 1-block cell).

State: the base history plus the round (depth, beam) and the queue of the round's suggestions;
the networks are refitted at the same points when the calls are replayed.

Defaults (source): the procedure and the surrogate's ensemble (PNAS); ``beam_size=10`` (ours:
PNAS keeps a far larger beam for thousands of trained cells; a round here must fit in a trial
budget of about 100), ``completions=32`` and the network size (ours, ``surrogate.py``).
NAS-Bench-201 tuning seeds 0-29, 100 trials (``benchmarks/nb201_strategy_quick.py``): random
completions only 93.82 +/- 0.61; with the best results' completions 94.01 +/- 0.46 (beam 5:
94.02).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from supernas.mutator import sample_uniform
from supernas.settings import integer, with_settings
from supernas.space import Choice, Decision
from supernas.strategies.base import register_strategy
from supernas.strategies.dedupe import arch_key
from supernas.strategies.encoding import encoder_for
from supernas.strategies.queued import QueuedStrategy
from supernas.strategies.surrogate import MlpEnsemble, SurrogateSettings, fit_on, successes, top_distinct

Choices = dict[str, Choice]


@dataclass(frozen=True)
class PnasSettings(SurrogateSettings):
    """PNAS settings (sources in the module docstring)."""

    beam_size: int = 10  # ours (PNAS' K, scaled to ~100 trials)
    completions: int = 32  # ours: random completions that score a partial architecture

    def validate(self) -> None:
        super().validate()
        integer("beam_size", self.beam_size, low=1, high=100_000)
        integer("completions", self.completions, low=1, high=100_000)


@register_strategy("pnas")
@with_settings(PnasSettings, leading=("space_decisions",))
class PnasStrategy(QueuedStrategy):
    """Beam search over decision prefixes ranked by an MLP-ensemble surrogate."""

    settings: PnasSettings

    def __init__(self, space_decisions: Sequence[Decision], **settings: Any) -> None:
        super().__init__(space_decisions, **settings)
        self.encode = encoder_for(self.decisions, self.settings.encoding)
        self.depth = 0  # decisions fixed by the beam's prefixes
        self.beam: list[Choices] = [{}]
        self.queue: list[Choices] = []

    def _fill(self) -> Choices | None:
        """Expand the beam by one decision, keep the best ``beam_size``, queue their completions."""
        done = successes(self.history)
        if len(done) < self.settings.initial:
            return None
        model = fit_on(done, self.encode, self.settings, self.rng.getrandbits(62))
        decision = self.decisions[self.depth]
        prefixes = [dict(p, **{decision.key: o}) for p in self.beam for o in decision.options()]
        tails = self._tails(done)
        ranked = sorted(((self._best_completion(model, p, tails), i, p) for i, p in enumerate(prefixes)),
                        key=lambda t: (-t[0][0], t[1]))
        kept = ranked[: self.settings.beam_size]
        self.depth = (self.depth + 1) % len(self.decisions)
        self.beam = [p for _, _, p in kept] if self.depth else [{}]
        self.queue = [c for (score, c), _, _ in kept if c is not None]
        return self._pop()

    def _tails(self, done: Sequence[tuple[Choices, float]]) -> list[Choices]:
        """Completions of the decisions after ``depth``: those of the best ``beam_size`` results,
        then uniform random ones, ``completions`` in all (one, empty, at the last decision)."""
        rest = self.decisions[self.depth + 1:]
        if not rest:
            return [{}]
        keys = [d.key for d in rest]
        tails = [{k: a[k] for k in keys} for a in top_distinct(done, self.settings.beam_size)]
        while len(tails) < self.settings.completions:
            tails.append(sample_uniform(rest, self.rng))
        return tails[: self.settings.completions]

    def _best_completion(self, model: MlpEnsemble, prefix: Choices,
                         tails: Sequence[Choices]) -> tuple[float, Choices | None]:
        """(best predicted reward, its architecture) over the unseen completions of ``prefix``."""
        full = [self._ordered({**prefix, **t}) for t in tails]
        fresh_ones = [c for c in full if arch_key(c) not in self.seen_keys]
        if not fresh_ones:
            return float("-inf"), None
        mean, _ = model.predict([self.encode(c) for c in fresh_ones])
        i = int(mean.argmax())
        return float(mean[i]), fresh_ones[i]

    def _ordered(self, choices: Choices) -> Choices:
        return {d.key: choices[d.key] for d in self.decisions}

    def _observe(self, choices: Choices, reward: float | None) -> None:
        """Nothing beyond the history: the next round's fit reads it."""

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state.update(depth=self.depth, beam=[dict(p) for p in self.beam],
                     queue=[dict(c) for c in self.queue])
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.depth = int(state["depth"])
        self.beam = [dict(p) for p in state["beam"]]
        self.queue = [dict(c) for c in state["queue"]]
