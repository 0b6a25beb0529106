"""supernas ask/tell strategies as an NNI 3.0 NAS strategy, on NNI's own execution engine."""
from __future__ import annotations

import nni
import pytest
import torch
from nni.nas.evaluator import FunctionalEvaluator
from nni.nas.execution import SequentialExecutionEngine
from nni.nas.nn.pytorch import InputChoice, LayerChoice, ModelSpace
from nni.nas.space import RawFormatModelSpace
from torch import nn

from nni_plugins.nas_strategy import SupernasNasStrategy
from supernas.errors import SupernasError

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


class TinySpace(ModelSpace):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.op = LayerChoice({"relu": nn.ReLU(), "tanh": nn.Tanh(), "sig": nn.Sigmoid()}, label="op")
        self.skip = InputChoice(2, 1, label="skip")
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, 64] -> [B, 10]
        h = torch.relu(self.fc1(x))
        return self.fc2(self.skip([h, self.op(h)]))


def score(model: nn.Module) -> float:
    """A deterministic metric read off the frozen model NNI built (tanh and the skip are best)."""
    return 0.5 + 0.2 * isinstance(model.op, nn.Tanh) + 0.1 * (model.skip.chosen == [1])


def evaluate(model: nn.Module) -> None:
    if isinstance(model.op, nn.Sigmoid):
        raise TypeError("this architecture's trial crashes")  # NNI marks the model failed
    model(torch.randn(2, 64))
    nni.report_final_result(score(model))


@pytest.mark.parametrize("name, settings", [("evolution", {"population_size": 3, "sample_size": 2}),
                                            ("enas", {"batch_size": 2}), ("random", {})])
def test_strategy_searches_through_nni_engine(name: str, settings: dict) -> None:
    space = RawFormatModelSpace.from_model(TinySpace(), FunctionalEvaluator(evaluate))
    engine = SequentialExecutionEngine(max_model_count=8, continue_on_failure=True)
    strategy = SupernasNasStrategy(name, seed=0, **settings)
    strategy.initialize(space, engine)
    strategy.run()
    history = strategy.search.history
    assert len(history) == 8
    for choices, reward in history:
        if choices["op"] == "sig":
            assert reward is None  # failed trial observed as a failure
        else:
            expected = 0.5 + 0.2 * (choices["op"] == "tanh") + 0.1 * (choices["skip"] == [1])
            assert reward == pytest.approx(expected)


def test_bad_settings_fail_at_construction() -> None:
    with pytest.raises(SupernasError, match="population_size=0"):
        SupernasNasStrategy("evolution", population_size=0)
