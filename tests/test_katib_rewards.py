"""Non-finite numbers never reach an ENAS controller: non-finite settings are refused, huge
metrics are clipped, and the REINFORCE trainer skips a sample or an update whose reward, loss or
gradient is not finite, so the saved controller stays finite and the experiment goes on."""
from __future__ import annotations

import math
from pathlib import Path

import grpc
import pytest
import torch

from katib_suggestions.state import StateStore
from katib_suggestions.testing import MINIMAL_ENAS, C, KatibSim, with_algorithm
from supernas.controller import EnasController, Reinforce
from supernas.controller.jsonstate import from_json
from supernas.errors import ConfigError
from supernas.space import Decision


def controller_is_finite(state: dict) -> bool:
    weights = from_json(state["strategy"]["trainer"]["controller"])
    return all(bool(torch.isfinite(t).all()) for t in weights.values())


@pytest.mark.parametrize("algorithm, settings", [
    ("supernas-enas", {"reward_norm": "zscore", "batch_size": "2"}),
    ("supernas-enas", {"reward_norm": "none", "batch_size": "1"}),
    ("supernas-enas", {"reward_norm": "rank", "batch_size": "2", "failure_reward": "-1e150"}),
    ("enas", {}),
])
def test_huge_metrics_leave_the_controller_finite(channel: grpc.Channel, tmp_path: Path,
                                                 algorithm: str, settings: dict) -> None:
    sim = KatibSim(channel, with_algorithm(MINIMAL_ENAS, algorithm, settings, exp_name="huge"))
    values = ["1e300", "-1e300", "1e308", "-1.7e308", "0.5", "1e-300"]
    for i in range(6):
        assert len(sim.call(2).parameter_assignments) == 2
        for k, name in enumerate(sim.running()):
            if (i + k) % 5 == 4:
                sim.finish(name, C.FAILED)
            else:
                sim.finish(name, C.SUCCEEDED, values[(i + k) % len(values)])
    sim.call(1)
    state = StateStore(tmp_path / "state").load("huge", algorithm)
    assert len(state["seen"]) == 12
    assert controller_is_finite(state)
    assert all(math.isfinite(r) for _, r in state["strategy"]["history"] if r is not None)


@pytest.mark.parametrize("algorithm, name, value", [
    ("supernas-enas", "failure_reward", "nan"), ("supernas-enas", "failure_reward", "inf"),
    ("supernas-enas", "failure_reward", "-inf"), ("supernas-enas", "failure_reward", "1e300"),
    ("supernas-enas", "tanh_constant", "inf"), ("enas", "controller_temperature", "nan"),
])
def test_non_finite_settings_are_refused(channel: grpc.Channel, algorithm: str, name: str,
                                         value: str) -> None:
    sim = KatibSim(channel, with_algorithm(MINIMAL_ENAS, algorithm, {name: value}))
    with pytest.raises(grpc.RpcError) as info:
        sim.validate()
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert info.value.details().startswith(f"{name}=")


SPACE = [Decision("op0", "layer", choices=("a", "b", "c")),
         Decision("skip", "input", n_candidates=2, allow_empty=True)]


@pytest.mark.parametrize("accumulate", [True, False])
def test_reinforce_skips_non_finite_rewards_and_updates(accumulate: bool) -> None:
    ctrl = EnasController(SPACE)
    trainer = Reinforce(ctrl, lr=0.1, aggregate=2, accumulate=accumulate)
    arch = {"op0": "b", "skip": [1]}
    trainer.record(arch, 0.5, 0.0)
    baseline = trainer.baseline
    for bad in (float("nan"), float("inf"), -float("inf"), 1e300, -1e200):
        assert trainer.record(arch, bad, 0.0) is False
        assert trainer.baseline == baseline and len(trainer.pending) == 1
    assert trainer.record(arch, 0.9, 0.0) is True  # a normal reward still completes the batch
    assert trainer.updates == 1
    assert all(bool(torch.isfinite(p).all()) for p in ctrl.parameters())


def test_reinforce_drops_an_update_with_a_non_finite_loss_or_gradient() -> None:
    ctrl = EnasController(SPACE)
    trainer = Reinforce(ctrl, aggregate=1)
    before = [p.detach().clone() for p in ctrl.parameters()]
    sample = ctrl(fixed={"op0": "a", "skip": []})
    assert math.isnan(trainer.update([sample.log_prob * float("inf")]))
    sample = ctrl(fixed={"op0": "a", "skip": []})  # a finite loss (0) with a non-finite gradient
    assert not math.isfinite(trainer.update([torch.sqrt(sample.log_prob - sample.log_prob.detach())]))
    assert trainer.updates == 0 and trainer.skipped_updates == 2
    assert all(torch.equal(a, b) for a, b in zip(before, ctrl.parameters()))


@pytest.mark.parametrize("kwargs", [{"lr": float("inf")}, {"entropy_weight": float("nan")},
                                    {"skip_weight": float("inf")}])
def test_reinforce_refuses_non_finite_settings(kwargs: dict) -> None:
    with pytest.raises(ConfigError, match=next(iter(kwargs))):
        Reinforce(EnasController(SPACE), **kwargs)


@pytest.mark.parametrize("kwargs", [{"tanh_constant": float("inf")}, {"temperature": float("inf")}])
def test_controller_refuses_non_finite_settings(kwargs: dict) -> None:
    with pytest.raises(ConfigError, match=next(iter(kwargs))):
        EnasController(SPACE, **kwargs)
