"""Conformance kit: every registered ask/tell strategy obeys the ``Strategy`` contract."""
from __future__ import annotations

import json
import math

import pytest

from supernas.architecture import validate
from supernas.errors import ArchitectureError, ConfigError
from supernas.space import Decision
from supernas.strategies import STRATEGIES

SPACE = [
    Decision("op0", "layer", choices=("conv", "pool", "skip")),
    Decision("in1", "input", n_candidates=3, n_chosen=2),
    Decision("skip2", "input", n_candidates=3, n_chosen=None),
    Decision("op1", "layer", choices=("conv", "pool")),
]
NAMES = STRATEGIES.names()
FOREIGN = {"op0": "skip", "in1": [0, 2], "skip2": [1], "op1": "pool"}


pytestmark = pytest.mark.usefixtures("one_thread")


def _make(name: str, seed: int = 3):
    return STRATEGIES.create(name, space_decisions=SPACE, seed=seed)


def _reward(arch: dict) -> float:
    return (arch["op0"] == "conv") + 0.5 * len(arch["skip2"]) - 0.1 * sum(arch["in1"])


def _drive(strategy, rounds: int = 12) -> None:
    """Suggest two, observe them in reverse order with one failure per round."""
    for i in range(rounds):
        a, b = strategy.suggest(2)
        strategy.observe(b, None if i % 5 == 4 else _reward(b))
        strategy.observe(a, _reward(a))


@pytest.mark.parametrize("name", NAMES)
def test_suggestions_are_valid(name: str) -> None:
    s = _make(name)
    _drive(s, 6)
    for arch in s.suggest(10):
        validate(arch, SPACE)
    assert s.suggest(0) == []
    with pytest.raises(ConfigError, match="n="):
        s.suggest(-1)


@pytest.mark.parametrize("name", NAMES)
def test_accepts_foreign_observations_and_failures(name: str) -> None:
    s = _make(name)
    s.observe(FOREIGN, 1.0)
    s.observe(FOREIGN, None)
    s.observe(dict(FOREIGN, op1="conv"), float("nan"))
    s.observe(dict(FOREIGN, op0="pool"), float("inf"))
    _drive(s, 4)
    assert s.best() is not None
    for arch in s.suggest(3):
        validate(arch, SPACE)
    for value in json.dumps(s.state_dict()).split(","):
        assert "NaN" not in value


@pytest.mark.parametrize("name", NAMES)
def test_invalid_observation_is_refused(name: str) -> None:
    with pytest.raises(ArchitectureError, match="op0"):
        _make(name).observe(dict(FOREIGN, op0="dilated"), 1.0)


@pytest.mark.parametrize("name", NAMES)
def test_state_round_trip_through_json(name: str) -> None:
    s = _make(name)
    _drive(s, 7)
    state = json.loads(json.dumps(s.state_dict()))
    other = _make(name, seed=99)
    other.load_state_dict(state)
    assert other.suggest(4) == s.suggest(4)
    _drive(s, 2)
    _drive(other, 2)
    assert json.dumps(other.state_dict(), sort_keys=True) == json.dumps(s.state_dict(), sort_keys=True)


@pytest.mark.parametrize("name", NAMES)
def test_replaying_the_calls_rebuilds_the_same_state(name: str) -> None:
    first, second = _make(name), _make(name)
    _drive(first, 9)
    _drive(second, 9)
    assert json.dumps(first.state_dict(), sort_keys=True) == json.dumps(second.state_dict(),
                                                                         sort_keys=True)
    assert first.suggest(3) == second.suggest(3)


@pytest.mark.parametrize("name", NAMES)
def test_best_is_the_highest_reward(name: str) -> None:
    s = _make(name)
    _drive(s, 5)
    done = [r for _, r in s.history if r is not None and math.isfinite(r)]
    assert s.best()[1] == max(done)
