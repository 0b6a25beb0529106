"""Issue 12 (reliability), NNI side: each trial counted once whatever the order of ``trial_end``
and its result (NNI 3.0 handles them on different threads); non-finite and boolean metrics are
failures; colliding search-space keys are refused; the one-shot grid keeps its in-flight points
across a resume; ENAS refuses a non-finite ``failure_reward`` and z-scores huge rewards finitely.
All tuner tests drive the real NNI ``Tuner`` callbacks in process (no nnictl)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import nni
import pytest

from nni_plugins import SupernasEnas, SupernasEvolution, SupernasOneShot, SupernasRandom
from nni_plugins.tuner_state import TunerState
from supernas.errors import ConfigError, SupernasError
from supernas.space import Decision
from supernas.strategies.enas import EnasStrategy

ONESHOT = {"algorithm": "darts", "space": "mlp", "settings": {"order": 1},
           "grid": {"temperature": [1.0, 0.5], "seed": [0, 1]}}


def rewards(tuner: Any) -> list[float | None]:
    return [r for _, r in tuner.state.strategy.history]


# ----- item 12: a trial counted twice ---------------------------------------------------------

@pytest.mark.parametrize("cls", [SupernasEnas, SupernasEvolution, SupernasRandom])
def test_end_before_result_counts_the_trial_once_as_a_success(cls: type) -> None:
    tuner = cls(space="mlp", seed=0)
    params = tuner.generate_parameters(0)
    tuner.trial_end(0, True)  # NNI's trial-end thread overtook the final metric
    tuner.receive_trial_result(0, params, 0.7)
    assert rewards(tuner) == [0.7]
    assert tuner.state.stats["succeeded"] == 1 and tuner.state.stats["failed"] == 0
    assert tuner.state.strategy.best()[1] == 0.7


def test_result_before_end_counts_the_trial_once() -> None:
    tuner = SupernasEnas(space="mlp", seed=0)
    params = tuner.generate_parameters(0)
    tuner.receive_trial_result(0, params, 0.7)
    tuner.trial_end(0, True)
    assert rewards(tuner) == [0.7]
    assert tuner.state.stats["succeeded"] == 1 and tuner.state.stats["failed"] == 0


@pytest.mark.parametrize("end_first", [True, False])
def test_a_result_delivered_three_times_is_observed_once(end_first: bool) -> None:
    tuner = SupernasEvolution(space="mlp", seed=0, population_size=3, sample_size=2)
    params = tuner.generate_parameters(5)
    if end_first:
        tuner.trial_end(5, True)
    for _ in range(3):
        tuner.receive_trial_result(5, params, 0.4)
    tuner.trial_end(5, True)
    assert rewards(tuner) == [0.4]
    assert tuner.state.stats["succeeded"] == 1 and tuner.state.stats["failed"] == 0


def test_end_without_result_stays_a_failure_among_other_trials() -> None:
    tuner = SupernasRandom(space="mlp", seed=0)
    _, p1, p2 = (tuner.generate_parameters(pid) for pid in range(3))
    tuner.trial_end(0, False)  # never reports
    tuner.trial_end(1, True)   # its result comes after trial 2's
    tuner.receive_trial_result(2, p2, 0.2)
    tuner.trial_end(2, True)
    tuner.receive_trial_result(1, p1, 0.9)
    assert rewards(tuner) == [None, 0.9, 0.2]
    assert tuner.state.stats["failed"] == 1 and tuner.state.stats["succeeded"] == 2
    assert tuner.state.strategy.best()[1] == 0.9


def test_late_result_of_an_unusable_value_stays_one_failure() -> None:
    tuner = SupernasRandom(space="mlp", seed=0)
    params = tuner.generate_parameters(0)
    tuner.trial_end(0, True)
    tuner.receive_trial_result(0, params, "oops")
    assert rewards(tuner) == [None] and tuner.state.stats["failed"] == 1


def test_provisional_failure_is_replaced_by_its_result_after_resume(tmp_path: Path) -> None:
    """The trial ended before ``nnictl stop``; its result comes as imported data on resume."""
    first = SupernasEvolution(space="mlp", seed=0, population_size=3, sample_size=2,
                              state_dir=str(tmp_path))
    params = first.generate_parameters(0)
    first.trial_end(0, True)
    resumed = SupernasEvolution(space="mlp", seed=0, population_size=3, sample_size=2,
                                state_dir=str(tmp_path))
    resumed.load_checkpoint()
    resumed.update_search_space({})
    resumed.import_data([{"parameter": params, "value": 0.6}])
    assert rewards(resumed) == [0.6]
    assert resumed.state.stats["failed"] == 0 and resumed.state.stats["succeeded"] == 1


def test_enas_controller_state_is_consistent_after_a_replaced_failure() -> None:
    tuner = SupernasEnas(space="mlp", seed=0, batch_size=2)
    params = tuner.generate_parameters(0)
    tuner.trial_end(0, False)
    tuner.receive_trial_result(0, params, 0.5)
    for pid in range(1, 4):  # the controller keeps training and suggesting
        p = tuner.generate_parameters(pid)
        tuner.receive_trial_result(pid, p, 0.1 * pid)
    assert rewards(tuner)[0] == 0.5 and len(tuner.state.strategy.rewards) == 4


# ----- item 13: non-finite and boolean metrics; the one-shot grid ------------------------------

def test_oneshot_best_ignores_non_finite_and_boolean_metrics() -> None:
    tuner = SupernasOneShot(**ONESHOT)
    params = [tuner.generate_parameters(pid) for pid in range(4)]
    for pid, value in enumerate([float("inf"), 0.3, True, "1e309"]):
        tuner.receive_trial_result(pid, params[pid], {"default": value})
    assert tuner.best() == (1, 0.3)
    assert tuner.results == {"0": None, "1": 0.3, "2": None, "3": None}


@pytest.mark.parametrize("index", [4, -1, 99, "0", True])
def test_oneshot_refuses_a_result_for_an_index_outside_the_grid(index: Any) -> None:
    tuner = SupernasOneShot(**ONESHOT)
    good = tuner.generate_parameters(0)
    stranger = {**good, "index": index}
    tuner.receive_trial_result(7, stranger, {"default": 0.9})  # unknown id: index from params
    tuner.import_data([{"parameter": stranger, "value": {"default": 0.9}}])
    assert tuner.results == {} and tuner.best() is None


def test_oneshot_reissues_grid_points_in_flight_at_the_stop(tmp_path: Path) -> None:
    kwargs = {**ONESHOT, "state_dir": str(tmp_path)}
    first = SupernasOneShot(**kwargs)
    p0, _, p2 = (first.generate_parameters(pid) for pid in range(3))
    first.receive_trial_result(0, p0, {"default": 0.5})
    first.trial_end(0, True)  # grid points 1 and 2 still running at `nnictl stop`

    resumed = SupernasOneShot(**kwargs)
    resumed.load_checkpoint()
    resumed.update_search_space({})
    resumed.import_data([{"parameter": p0, "value": {"default": 0.5}},
                         {"parameter": p2, "value": {"default": 0.6}}])  # NNI re-ran point 2
    handed = [resumed.generate_parameters(pid)["index"] for pid in (10, 11)]
    assert handed == [3, 1]  # the rest of the grid, then the point still without a result
    with pytest.raises(nni.NoMoreTrialError):
        resumed.generate_parameters(12)
    assert resumed.best() == (2, 0.6)


def test_oneshot_imported_result_replaces_a_failure_of_the_same_point() -> None:
    tuner = SupernasOneShot(**ONESHOT)
    p0 = tuner.generate_parameters(0)
    tuner.trial_end(0, False)  # recorded as a failed search
    tuner.import_data([{"parameter": p0, "value": {"default": 0.4}}])  # NNI's re-run reported
    tuner.import_data([{"parameter": p0, "value": {"default": 0.1}}])  # a result is kept
    assert tuner.results == {"0": 0.4} and tuner.best() == (0, 0.4)


# ----- item 14: colliding search-space keys -----------------------------------------------------

COLLIDING = {
    "a/x/k": {"_type": "choice", "_value": [1, 2]},
    "a": {"_type": "choice", "_value": [{"_name": "x", "k": {"_type": "choice", "_value": [3, 4]}}]},
}


def test_colliding_search_space_keys_are_refused_naming_them() -> None:
    tuner = SupernasRandom()
    tuner.update_search_space(COLLIDING)  # must not raise (an NNI callback)
    with pytest.raises(nni.NoMoreTrialError, match="'a/x/k' collide"):
        tuner.generate_parameters(0)


def test_colliding_keys_are_refused_when_the_space_is_set() -> None:
    state = TunerState("random", {}, 0, "maximize", "default", None)
    with pytest.raises(ConfigError, match=r"searchSpace keys 'a/x/k' collide.*allowed"):
        state.set_search_space(COLLIDING)
    assert state.strategy is None


# ----- item 9 (NNI side): ENAS failure_reward and z-score overflow -----------------------------

SPACE = [Decision("op", "layer", choices=("a", "b", "c"))]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf"), 10 ** 400, True],
                         ids=["nan", "inf", "-inf", "10**400", "True"])
def test_enas_refuses_a_non_finite_failure_reward(value: Any) -> None:
    with pytest.raises(SupernasError, match=r"failure_reward=.* is invalid; allowed: 'worst', a finite"):
        EnasStrategy(SPACE, failure_reward=value)


def test_enas_tuner_refuses_a_nan_failure_reward_at_init() -> None:
    with pytest.raises(SupernasError, match="failure_reward=nan"):
        SupernasEnas(space="mlp", failure_reward=float("nan"))


@pytest.mark.parametrize("values", [[1e300, -1e300, 1.7e308, -1.7e308, 0.5],
                                    [1e155, 1e155, 2e155], [0.5, 0.5, 1e300]])
def test_enas_zscore_of_huge_rewards_is_finite(values: list[float]) -> None:
    strategy = EnasStrategy(SPACE, seed=0, reward_norm="zscore", batch_size=2)
    for v in values:
        strategy.observe(strategy.suggest(1)[0], v)
        assert math.isfinite(strategy._reward_value(v))
    strategy.suggest(1)
    assert all(math.isfinite(p) for ps in strategy.probabilities().values() for p in ps)


def test_enas_zscore_of_ordinary_rewards_is_unchanged() -> None:
    strategy = EnasStrategy(SPACE, seed=0, reward_norm="zscore")
    for v in (0.2, 0.4, 0.9):
        strategy.observe(strategy.suggest(1)[0], v)
    mean = 0.5
    std = math.sqrt(((0.2 - mean) ** 2 + (0.4 - mean) ** 2 + (0.9 - mean) ** 2) / 3)
    assert strategy._reward_value(0.7) == pytest.approx((0.7 - mean) / (std + 1e-8), rel=1e-12)
