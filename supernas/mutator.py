"""Mutators decide how each mutable of a space runs in ``forward``.

Call order: construct, ``bind(space)`` once (this validates and attaches the mutator to every
mutable), then run the space's ``forward`` as often as needed. Two families:

* ``ChoiceMutator``: one architecture at a time (``current``), as in a fixed child, ENAS or
  uniform single-path sampling. ``SamplingMutator`` adds ``sample()``; a learned sampler (ENAS)
  also exposes the log-probability and entropy of its last sample.
* ``MixingMutator``: every candidate runs and outputs are mixed with weights that the subclass
  supplies (DARTS/BATS ``softmax(alpha / T)``).
"""
from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar, cast

import torch
from torch import nn

from supernas.architecture import Architecture
from supernas.mutables import InputChoice, LayerChoice, Mutable, reduce_inputs, weighted_sum
from supernas.space import Choice, Decision, decisions, mutables_by_key, validate

M = TypeVar("M", bound="Mutator")


class Mutator(ABC):
    """Base class. Subclasses implement ``layer_forward`` and ``input_forward``."""

    def __init__(self) -> None:
        self.decisions: list[Decision] = []
        self.mutables: dict[str, list[Mutable]] = {}

    def bind(self: M, model: nn.Module) -> M:  # noqa: PYI019 (no Self in 3.10)
        """Attach to every mutable in ``model`` (replacing any previously bound mutator)."""
        self.mutables = mutables_by_key(model)
        self.decisions = decisions(model)
        for group in self.mutables.values():
            for m in group:
                m.bind_mutator(self)
        self.on_bind(model)
        return self

    def on_bind(self, model: nn.Module) -> None:
        """Hook for subclasses (create parameters, validate), called at the end of ``bind``."""

    def attach(self) -> None:
        """Make the mutables found by ``bind`` call this mutator again (another mutator may have
        been bound to the same space since), without re-running ``bind`` or ``on_bind``."""
        for group in self.mutables.values():
            for m in group:
                m.bind_mutator(self)

    @abstractmethod
    def layer_forward(self, mutable: LayerChoice, *args: Any, **kwargs: Any) -> Any:
        """Run ``mutable`` on its inputs."""

    @abstractmethod
    def input_forward(self, mutable: InputChoice, inputs: list[torch.Tensor]) -> torch.Tensor | None:
        """Select and reduce ``inputs`` for ``mutable``."""

    def active_inputs(self, mutable: InputChoice) -> list[int] | None:
        """Which inputs ``input_forward`` will read (``None``: all)."""
        return None


class ChoiceMutator(Mutator):
    """Runs exactly the candidates of ``current`` (an architecture's choices)."""

    def __init__(self) -> None:
        super().__init__()
        self.current: dict[str, Choice] = {}

    def set_current(self, choices: Mapping[str, Choice]) -> None:
        """Make ``choices`` (validated against the bound space) the running architecture."""
        self.current = validate(choices, self.decisions)

    def layer_forward(self, mutable: LayerChoice, *args: Any, **kwargs: Any) -> Any:
        return mutable.candidates[self.current[mutable.key]](*args, **kwargs)

    def input_forward(self, mutable: InputChoice, inputs: list[torch.Tensor]) -> torch.Tensor | None:
        chosen = [inputs[i] for i in self.current[mutable.key]]
        return reduce_inputs(chosen, mutable.reduction)

    def active_inputs(self, mutable: InputChoice) -> list[int] | None:
        return list(self.current[mutable.key])


class FixedMutator(ChoiceMutator):
    """Run one architecture (a choices mapping or an ``Architecture``)."""

    def __init__(self, architecture: Mapping[str, Choice] | Architecture) -> None:
        super().__init__()
        self._choices = dict(cast("Mapping[str, Choice]", getattr(architecture, "choices", architecture)))

    def on_bind(self, model: nn.Module) -> None:
        self.set_current(self._choices)


class SamplingMutator(ChoiceMutator):
    """A ``ChoiceMutator`` that draws its architecture with ``sample()``.

    Learned samplers (ENAS) set ``log_prob`` and ``entropy`` (scalar tensors that carry the
    gradient to the sampler's parameters) on every ``sample()``.
    """

    log_prob: torch.Tensor | None = None
    entropy: torch.Tensor | None = None

    @abstractmethod
    def sample(self) -> dict[str, Choice]:
        """Draw an architecture, make it current and return its choices."""


class UniformMutator(SamplingMutator):
    """Uniform random architectures (single-path one-shot / random search), seeded."""

    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.rng = random.Random(seed)

    def on_bind(self, model: nn.Module) -> None:
        self.sample()

    def sample(self) -> dict[str, Choice]:
        self.current = sample_uniform(self.decisions, self.rng)
        return dict(self.current)

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.getstate(), "current": dict(self.current)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.rng.setstate(_as_rng_state(state["rng"]))
        self.current = dict(state["current"])


def _as_rng_state(state: Any) -> tuple[Any, ...]:
    """``random.Random`` state after a JSON/torch round trip (lists back to tuples)."""
    version, internal, gauss = state
    return (version, tuple(internal), gauss)


def sample_uniform(space_decisions: Sequence[Decision], rng: random.Random) -> dict[str, Choice]:
    """One uniformly random architecture (input choices: uniform over the allowed subsets)."""
    out: dict[str, Choice] = {}
    for d in space_decisions:
        if d.kind == "layer":
            out[d.key] = rng.choice(d.choices)
        elif d.n_chosen is not None:
            out[d.key] = sorted(rng.sample(range(d.n_candidates), d.n_chosen))
        else:
            out[d.key] = _uniform_subset(d, rng)
    return out


def _uniform_subset(d: Decision, rng: random.Random) -> list[int]:
    while True:
        subset = [i for i in range(d.n_candidates) if rng.random() < 0.5]
        if subset or d.allow_empty:
            return subset


class MixingMutator(Mutator):
    """Run every candidate and mix the outputs with ``layer_weights``/``input_weights``.

    Subclasses return a 1-D tensor of mixing weights per decision key (e.g. DARTS's
    ``softmax(alpha / T)``). ``input_weights`` may return ``None``: the inputs are then reduced
    with every candidate included (DARTS cells sum all predecessor edges).
    """

    @abstractmethod
    def layer_weights(self, key: str) -> torch.Tensor:
        """Weights over the candidates of layer decision ``key`` (shape ``[n_choices]``)."""

    def input_weights(self, key: str) -> torch.Tensor | None:
        return None

    def layer_forward(self, mutable: LayerChoice, *args: Any, **kwargs: Any) -> Any:
        weights = self.layer_weights(mutable.key)
        outputs = [op(*args, **kwargs) for op in mutable.candidates.values()]
        return weighted_sum(outputs, weights)

    def input_forward(self, mutable: InputChoice, inputs: list[torch.Tensor]) -> torch.Tensor | None:
        weights = self.input_weights(mutable.key)
        if weights is None:
            return reduce_inputs(inputs, mutable.reduction)
        if mutable.reduction == "concat":
            return torch.cat([t * w for t, w in zip(inputs, weights)], dim=1)
        return weighted_sum(inputs, weights)
