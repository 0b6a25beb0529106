"""Mutators: fixed, uniform (seeded, resumable), mixing; how mutables hand their forward over."""
from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from supernas import ArchitectureError, FixedMutator, MixingMutator, UniformMutator, create_space
from supernas.mutables import InputChoice, LayerChoice
from supernas.mutator import sample_uniform
from supernas.space import Decision


class Scale(nn.Module):
    """Multiply by a constant and record that it ran."""

    def __init__(self, factor: float, log: list[float]) -> None:
        super().__init__()
        self.factor, self.log = factor, log

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.log.append(self.factor)
        return x * self.factor


class Tiny(nn.Module):
    """op(x) combined with x by an input choice over [x, op(x), 2 op(x)]."""

    def __init__(self, log: list[float]) -> None:
        super().__init__()
        self.op = LayerChoice({"two": Scale(2.0, log), "three": Scale(3.0, log)}, key="op")
        self.pick = InputChoice(3, None, "pick", reduction="sum")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.op(x)
        return self.pick([x, y, 2 * y])


def test_fixed_mutator_runs_only_the_chosen_candidate() -> None:
    log: list[float] = []
    model = Tiny(log)
    FixedMutator({"op": "three", "pick": [2, 0]}).bind(model)
    out = model(torch.ones(2))
    assert log == [3.0] and torch.equal(out, torch.full((2,), 7.0))  # x + 2 * 3x
    assert model.pick.active() == [0, 2]


def test_fixed_mutator_validates_at_bind() -> None:
    with pytest.raises(ArchitectureError) as err:
        FixedMutator({"op": "four", "pick": []}).bind(Tiny([]))
    assert "op: 'four' is not allowed" in str(err.value) and "pick: empty input list" in str(err.value)


def test_rebinding_replaces_the_mutator() -> None:
    log: list[float] = []
    model = Tiny(log)
    FixedMutator({"op": "two", "pick": [1]}).bind(model)
    FixedMutator({"op": "three", "pick": [1]}).bind(model)
    assert torch.equal(model(torch.ones(1)), torch.full((1,), 3.0)) and log == [3.0]


def test_uniform_mutator_is_seeded_and_resumable() -> None:
    space = create_space("nb201", C=2, N=1)
    a, b = UniformMutator(seed=7).bind(space), UniformMutator(seed=7)
    first = [a.sample() for _ in range(5)]
    b.bind(space)
    assert [b.sample() for _ in range(5)] == first
    assert [UniformMutator(seed=8).bind(space).sample() for _ in range(5)] != first
    state = json.loads(json.dumps(a.state_dict()))  # survives a JSON round trip
    c = UniformMutator(seed=0).bind(space)
    c.load_state_dict(state)
    assert c.current == a.current and [c.sample() for _ in range(5)] == [a.sample() for _ in range(5)]


def test_sample_uniform_respects_each_decision() -> None:
    import random

    ds = [Decision("op", "layer", choices=("a", "b")),
          Decision("k2", "input", n_candidates=4, n_chosen=2),
          Decision("any", "input", n_candidates=3, n_chosen=None),
          Decision("maybe", "input", n_candidates=2, n_chosen=None, allow_empty=True)]
    rng = random.Random(0)
    draws = [sample_uniform(ds, rng) for _ in range(300)]
    assert all(d.problem(x[d.key]) is None for x in draws for d in ds)
    assert {tuple(x["any"]) for x in draws} == {tuple(o) for o in ds[2].options()}
    assert [] in [x["maybe"] for x in draws]  # P(never empty in 300) = 0.75^300


class FixedWeights(MixingMutator):
    def __init__(self, weights: dict[str, torch.Tensor],
                 inputs: dict[str, torch.Tensor] | None = None) -> None:
        super().__init__()
        self.weights, self.inputs = weights, inputs or {}

    def layer_weights(self, key: str) -> torch.Tensor:
        return self.weights[key]

    def input_weights(self, key: str) -> torch.Tensor | None:
        return self.inputs.get(key)


def test_mixing_mutator_weights_every_candidate() -> None:
    log: list[float] = []
    model = Tiny(log)
    FixedWeights({"op": torch.tensor([0.25, 0.75])}).bind(model)
    x = torch.ones(3)
    y = 0.25 * 2 + 0.75 * 3
    assert torch.allclose(model(x), x + y + 2 * y) and sorted(log) == [2.0, 3.0]
    assert model.pick.active() is None
    FixedWeights({"op": torch.tensor([1.0, 0.0])},
                 {"pick": torch.tensor([0.5, 0.0, 1.0])}).bind(model)
    assert torch.allclose(model(x), 0.5 * x + 2 * (2 * x))


def test_mixing_mutator_gradients_reach_the_weights() -> None:
    alpha = torch.zeros(2, requires_grad=True)

    class Softmax(MixingMutator):
        def layer_weights(self, key: str) -> torch.Tensor:
            return torch.softmax(alpha, 0)

    model = Tiny([])
    Softmax().bind(model)
    model(torch.ones(2)).sum().backward()
    assert alpha.grad is not None and alpha.grad[1] > 0 > alpha.grad[0]  # "three" helps more


def test_attach_routes_mutables_back_without_rebinding() -> None:
    space = create_space("mlp")
    sampler = UniformMutator(seed=3).bind(space)
    current, rng_state = dict(sampler.current), sampler.rng.getstate()
    FixedMutator({"hidden": "h10", "activation": "relu"}).bind(space)
    sampler.attach()
    assert all(m._mutator is sampler for group in sampler.mutables.values() for m in group)
    assert sampler.current == current and sampler.rng.getstate() == rng_state  # no re-sample
