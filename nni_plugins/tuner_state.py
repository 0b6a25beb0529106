"""Everything a supernas tuner knows, kept apart from NNI's callbacks so it can be tested alone.

``TunerState`` owns the search space (registered or converted from NNI JSON), the strategy,
the trials in flight and counters, converts between trial parameters and architectures, and
writes itself after every event (``persist``: one appended record of what changed,
``nni_plugins.state``). ``restore`` + ``import_history`` is the resume
path: the saved strategy state is loaded, and imported trials already in its history are not
observed twice.

NNI 3.0 delivers ``trial_end`` and final results on different threads, so the end of a trial can
come before its result, and a result can be delivered more than once. Each trial is counted once:
a trial that ends without a result is observed as a failure *provisionally* (``provisional``:
parameter id -> its place in the history) and that failure is replaced by the result if it
arrives later; a second result of the same parameter id (``finished``) is ignored. A reward is a
finite real number: ``inf``, ``1e309``, NaN and booleans count as failures.
"""
from __future__ import annotations

import json
import logging
import math
from collections import Counter
from collections.abc import Mapping
from typing import Any

from nni_plugins.search_space import ConvertedSpace, from_nni, from_params, to_params
from nni_plugins.state import StateWriter, checkpoint_dir, load_state
from supernas.architecture import Architecture
from supernas.errors import ConfigError, bad_value
from supernas.space import Choice, Decision, decisions
from supernas.strategies import STRATEGIES, Strategy

_logger = logging.getLogger(__name__)


def parsed_settings(strategy_name: str, seed: int, settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` read and validated by the strategy's settings dataclass (``Settings.parse``,
    as the CLI's ``--set`` and Katib's settings are): the typed values of the keys given."""
    schema = STRATEGIES.get(strategy_name).settings_class  # type: ignore[attr-defined]
    parsed = schema.parse_given({**settings, "seed": seed})
    return {k: v for k, v in parsed.items() if k != "seed"}


def check_settings(strategy_name: str, seed: int, settings: Mapping[str, Any]) -> None:
    """Raise the strategy's own clear error if ``settings`` are not valid for it."""
    parsed_settings(strategy_name, seed, settings)


class TunerState:
    """Search state of one tuner (see module docstring)."""

    def __init__(self, strategy_name: str, settings: dict[str, Any], seed: int, optimize_mode: str,
                 metric: str, state_dir: str | None, tuner_name: str = "tuner") -> None:
        self.strategy_name, self.settings, self.seed = strategy_name, settings, seed
        self.sign = 1.0 if optimize_mode == "maximize" else -1.0
        self.metric, self.state_dir, self.tuner_name = metric, state_dir, tuner_name
        self.space_name: str | None = None
        self.space_args: dict[str, Any] = {}
        self.converted: ConvertedSpace | None = None
        self.strategy: Strategy | None = None
        self.pending: dict[int, dict[str, Choice]] = {}
        self.finished: set[int] = set()  # parameter ids whose final result was recorded
        self.provisional: dict[int, int] = {}  # parameter id -> history index of its failure
        self.stats = {"suggested": 0, "succeeded": 0, "failed": 0, "errors": 0, "imported": 0}
        self.fatal: str | None = None
        self.suggest_errors = 0
        self.restored: dict[str, Any] | None = None
        self.writer: StateWriter | None = None  # for the current checkpoint directory

    # ----- space and strategy ---------------------------------------------------------------

    def use_registered_space(self, name: str, args: dict[str, Any]) -> None:
        """Search registered space ``name`` (built once here to read its decisions)."""
        from supernas.spaces import SPACES, create_space

        if name not in SPACES:
            raise bad_value("space", name, "one of " + ", ".join(SPACES.names()))
        model = create_space(name, **args)
        self.space_name, self.space_args = name, dict(model.space_args)
        self._make_strategy(decisions(model))

    def set_search_space(self, search_space: Mapping[str, Any]) -> None:
        """NNI's ``searchSpace``: ignored for a registered space, else converted and searched."""
        if self.space_name is not None:
            if search_space:
                _logger.info("searchSpace ignored: classArgs.space=%r is searched", self.space_name)
            return
        converted = from_nni(search_space)
        _check_unique_keys(converted)
        self.converted = converted
        self._make_strategy(self.converted.decisions)

    def _make_strategy(self, space_decisions: list[Decision]) -> None:
        self.strategy = STRATEGIES.create(self.strategy_name, space_decisions=space_decisions,
                                          seed=self.seed, **self.settings)
        if self.restored is not None:
            self._apply_restored(space_decisions)

    def _apply_restored(self, space_decisions: list[Decision]) -> None:
        saved = self.restored or {}
        keys = [d.key for d in space_decisions]
        if saved.get("decision_keys") != keys or saved.get("strategy_name") != self.strategy_name:
            _logger.warning("saved tuner state is for another space or strategy; not restored")
            return
        self.strategy.load_state_dict(saved["strategy"])
        self.stats.update(saved.get("stats", {}))
        self.provisional = {int(k): int(v) for k, v in saved.get("provisional", {}).items()}
        in_flight = saved.get("pending", {})
        if in_flight:  # killed by `nnictl stop`; NNI re-runs them and sends their results as imports
            _logger.info("resume: %d trial(s) were in flight at stop; NNI re-runs them", len(in_flight))
        _logger.info("resume: %s state restored with %d observed trial(s)", self.strategy_name,
                     len(self.strategy.history))

    # ----- parameters <-> architectures ----------------------------------------------------

    def params_of(self, choices: Mapping[str, Choice]) -> dict[str, Any]:
        """What a trial receives: architecture JSON (registered space) or NNI flat params."""
        if self.converted is not None:
            return to_params(self.converted, choices)
        return Architecture(dict(choices), self.space_name, self.space_args).to_dict()

    def choices_of(self, params: Any) -> dict[str, Choice]:
        """Inverse of ``params_of`` (for results of trials this instance did not suggest)."""
        if isinstance(params, str):
            params = json.loads(params)
        if self.converted is not None:
            return from_params(self.converted, params)
        return dict(Architecture.from_dict(params).choices)

    def reward_of(self, value: Any) -> float | None:
        """The reward (sign-adjusted metric) of a final result, or None if it has none."""
        if isinstance(value, Mapping):
            if self.metric not in value:
                _logger.error("final result %r has no %r key; counted as a failure", value, self.metric)
                return None
            value = value[self.metric]
        if type(value).__name__ in ("bool", "bool_"):  # Python's and numpy's booleans
            _logger.error("final result %r is a boolean, not a metric; counted as a failure", value)
            return None
        try:
            reward = float(value)
        except (TypeError, ValueError, OverflowError):
            _logger.error("final result %r is not a number; counted as a failure", value)
            return None
        if not math.isfinite(reward):
            _logger.error("final result %r is not finite; counted as a failure", value)
            return None
        return self.sign * reward

    # ----- events ---------------------------------------------------------------------------

    def record_result(self, parameter_id: int, parameters: Any, value: Any) -> None:
        """A final result: observed once (a result without a usable metric is a failure)."""
        if parameter_id in self.finished:
            _logger.warning("repeated final result of parameter %s ignored", parameter_id)
            return
        reward = self.reward_of(value)
        if parameter_id in self.provisional:  # its end came first: replace that failure
            self._replace_failure(self.provisional.pop(parameter_id), reward)
        else:
            choices = self.pending.pop(parameter_id, None)
            if choices is None:
                choices = self.choices_of(parameters)
            self.stats["succeeded" if reward is not None else "failed"] += 1
            self._require_strategy().observe(choices, reward)
        self.finished.add(parameter_id)
        self.persist()

    def record_end(self, parameter_id: int, success: bool) -> None:
        """End of a trial; one still pending reported no final result (yet): a provisional failure."""
        choices = self.pending.pop(parameter_id, None)
        if choices is None:
            return
        why = "succeeded without a final result" if success else "failed or was cancelled"
        _logger.warning("trial of parameter %s %s; counted as a failure unless its result "
                        "arrives", parameter_id, why)
        strategy = self._require_strategy()
        self.provisional[parameter_id] = len(strategy.history)
        self.stats["failed"] += 1
        strategy.observe(choices, None)
        self.persist()

    def _replace_failure(self, index: int, reward: float | None) -> None:
        """Turn the provisional failure at ``history[index]`` into a result with ``reward``.

        The history (hence best, evolution's population, ENAS's reward log) is rewritten through
        ``state_dict``/``load_state_dict``; an ENAS update already made from the failure stays.
        """
        if reward is None:  # still a failure, already counted
            return
        strategy = self._require_strategy()
        state = strategy.state_dict()
        arch, _ = state["history"][index]
        state["history"][index] = (arch, reward)
        strategy.load_state_dict(state)
        self.stats["failed"] -= 1
        self.stats["succeeded"] += 1

    def import_history(self, data: list[Mapping[str, Any]]) -> None:
        """Replay finished trials (NNI resume / ``nnictl experiment import``) not yet observed."""
        strategy = self._require_strategy()
        known = Counter(_record_key(a, r) for a, r in strategy.history)
        for record in data:
            choices = self.choices_of(record.get("parameter"))
            reward = self.reward_of(record.get("value"))
            key = _record_key(choices, reward)
            if known[key] > 0:
                known[key] -= 1
                continue
            provisional = self._provisional_of(choices) if reward is not None else None
            if provisional is not None:  # ended before the stop, its result came with the resume
                self._replace_failure(self.provisional.pop(provisional), reward)
                continue
            strategy.observe(choices, reward)
            self.stats["imported"] += 1
        self.persist()

    def _provisional_of(self, choices: Mapping[str, Choice]) -> int | None:
        """The parameter id of a provisional failure of architecture ``choices``, if any."""
        history, key = self._require_strategy().history, _record_key(choices, None)
        return next((pid for pid, i in self.provisional.items()
                     if i < len(history) and _record_key(*history[i]) == key), None)

    def _require_strategy(self) -> Strategy:
        if self.strategy is None:
            raise ConfigError("searchSpace: not received yet and classArgs.space not given")
        return self.strategy

    # ----- persistence ----------------------------------------------------------------------

    def persist(self) -> None:
        """Write the state (never raises: a full disk must not stop the experiment)."""
        try:
            self._write()
        except Exception:
            _logger.exception("supernas tuner state not written; a resume would start afresh")

    def _write(self) -> None:
        directory = checkpoint_dir(self.state_dir)
        if directory is None or self.strategy is None:
            return
        if self.writer is None or self.writer.directory != directory:
            self.writer = StateWriter(directory)
        self.writer.save({
            "tuner": self.tuner_name, "strategy_name": self.strategy_name,
            "decision_keys": [d.key for d in self.strategy.decisions],
            "strategy": self.strategy.state_dict(), "stats": self.stats,
            "pending": {str(k): v for k, v in self.pending.items()},
            "provisional": {str(k): v for k, v in self.provisional.items()},
            "best": _best_json(self),
        })

    def restore(self) -> None:
        """Load the saved state (applied when the strategy exists or is created)."""
        directory = checkpoint_dir(self.state_dir)
        self.restored = load_state(directory) if directory is not None else None
        if self.restored is not None and self.strategy is not None:
            self._apply_restored(self.strategy.decisions)


def _check_unique_keys(space: ConvertedSpace) -> None:
    """Refuse a search space whose flattened keys collide (``a/x/k`` at the root beside a
    nested ``a -> x -> k``): their choices could not be told apart."""
    counts = Counter(d.key for d in space.decisions)
    clashes = sorted(k for k, n in counts.items() if n > 1)
    if clashes:
        raise ConfigError(f"searchSpace keys {', '.join(map(repr, clashes))} collide: a top-level "
                          "key equals the path <key>/<option>/<sub key> of a nested choice; "
                          "allowed: keys that are unique after flattening (rename one of them)")


def _record_key(choices: Mapping[str, Choice], reward: float | None) -> str:
    return json.dumps([dict(choices), None if reward is None else round(reward, 9)], sort_keys=True)


def _best_json(state: TunerState) -> dict[str, Any] | None:
    best = state.strategy.best() if state.strategy is not None else None
    if best is None:
        return None
    choices, reward = best
    return {"params": state.params_of(choices), "metric": state.sign * reward}
