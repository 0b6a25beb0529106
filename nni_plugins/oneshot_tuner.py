"""``SupernasOneShot``: an NNI tuner that launches one-shot searches, one per trial.

Each trial receives the settings of one whole weight-sharing search (DARTS with temperature,
arXiv 1806.09055 + the temperature of BATS, arXiv 2003.01711; BATS; ENAS one-shot; uniform
sampling), i.e. one point of a grid over the algorithm's settings, e.g. one trial per seed or
per temperature::

    tuner:
      name: SupernasOneShot
      classArgs:
        algorithm: darts
        space: mlp
        settings: {order: 1}
        grid: {temperature: [1.0, 0.5, 0.2], seed: [0, 1]}   # 6 trials

Trial parameters: ``{"format": "supernas.oneshot/1", "algorithm", "space", "space_args",
"settings", "index"}``; the trial (``supernas search --params nni``: the Lightning runtime,
``trial_templates.nni_params``) runs the search and reports its derived architecture. When
every grid point has been handed out the tuner raises ``NoMoreTrialError``: NNI 3.0 then shows TUNER_NO_MORE_TRIAL (its finished state when a tuner
runs out before ``maxTrialNumber``) and runs no further trial. Callbacks never raise
otherwise; state (next grid point, grid points in flight, results, best) is written after every
event and restored on ``nnictl resume``. NNI 3.0 re-runs the trials in flight at the stop itself
and sends their results as imported data, which replace a failure recorded for the same point;
a grid point that was in flight and still has no result when the rest of the grid has been
handed out (its re-run crashed, or NNI did not recover it) is handed out again, so none is lost
(one whose re-run is still running then runs twice). A metric is a finite real number (``inf``,
NaN and booleans count as a failed search); a result naming a grid index outside the grid is
refused. Every grid point is read and validated by the algorithm's settings dataclass
(``supernas.settings``: the parser of the CLI's ``--set`` and of Katib's settings), so ``3e-4``
in ``settings`` or ``grid`` is a number although nnictl's YAML 1.1 reader leaves it a string
(``supernas.yamlnum.numbers`` does the same for ``space_args``).
"""
from __future__ import annotations

import itertools
import json
import logging
import math
import threading
from collections.abc import Mapping
from typing import Any

import nni
from nni.tuner import Tuner

from nni_plugins.startup import Startup
from nni_plugins.state import checkpoint_dir, load_state, save_state

_logger = logging.getLogger(__name__)
ONESHOT_FORMAT = "supernas.oneshot/1"  # read by trial_templates.nni_params (tests pin the two equal)


class SupernasOneShot(Tuner):
    """Hands each trial one grid point of a one-shot search (see module docstring)."""

    def __init__(self, algorithm: str | None = None, space: str | None = None,
                 space_args: Mapping[str, Any] | None = None,
                 settings: Mapping[str, Any] | None = None,
                 grid: Mapping[str, list[Any]] | None = None, optimize_mode: str = "maximize",
                 metric: str = "default", state_dir: str | None = None, **unknown: Any) -> None:
        super().__init__()
        self.metric, self.state_dir = metric, state_dir
        self.sign = 1.0 if optimize_mode == "maximize" else -1.0
        self.lock = threading.RLock()
        self.points: list[dict[str, Any]] = []
        self.next_index = 0
        self.pending: dict[int, int] = {}  # parameter id -> grid index
        self.results: dict[str, Any] = {}  # grid index -> metric (None: failed)
        self.reissue: list[int] = []  # grid indexes in flight at a stop, to hand out again
        args = (algorithm, space, dict(space_args or {}), dict(settings or {}), dict(grid or {}),
                optimize_mode, unknown)
        self.startup = Startup(lambda: self._check(*args), "SupernasOneShot")

    def _check(self, algorithm: str | None, space: str | None, space_args: dict[str, Any],
               settings: dict[str, Any], grid: dict[str, list[Any]], mode: str,
               unknown: dict[str, Any]) -> None:
        from supernas.errors import bad_value
        from supernas.oneshot import ALGORITHMS
        from supernas.spaces import SPACES, create_space
        from supernas.yamlnum import numbers

        settings, grid, space_args = numbers(settings), numbers(grid), numbers(space_args)
        if unknown:
            raise bad_value(", ".join(sorted(unknown)), unknown, "algorithm, space, space_args, settings, "
                            "grid, optimize_mode, metric, state_dir")
        points = _grid_points(settings, grid)
        if algorithm not in ALGORITHMS:
            raise bad_value("algorithm", algorithm, "one of " + ", ".join(ALGORITHMS.names()))
        if space not in SPACES:
            raise bad_value("space", space, "one of " + ", ".join(SPACES.names()))
        if mode not in ("maximize", "minimize"):
            raise bad_value("optimize_mode", mode, "'maximize' or 'minimize'")
        schema = ALGORITHMS.get(algorithm).settings_class  # Settings.parse, as --set and Katib
        points = [schema.parse_given(p) for p in points]
        model = create_space(space, **space_args)
        for point in points:  # every grid point must be a valid setting: fail now, not in a trial
            ALGORITHMS.create(algorithm, space=model, **point)
        self.algorithm, self.space, self.space_args = algorithm, space, dict(model.space_args)
        self.points = points

    def update_search_space(self, search_space: Mapping[str, Any]) -> None:
        if self.startup.wait() is not None:
            return
        if search_space:
            _logger.info("searchSpace ignored: SupernasOneShot searches classArgs.space=%r", self.space)

    def generate_parameters(self, parameter_id: int, **kwargs: Any) -> dict[str, Any]:
        failure = self.startup.wait()
        if failure is not None:
            raise nni.NoMoreTrialError(failure)
        with self.lock:
            if self.next_index < len(self.points):
                index = self.next_index
                self.next_index += 1
            elif self.reissue:  # in flight at the stop, still no result: hand it out again
                index = self.reissue.pop(0)
            else:
                _logger.info("every one of the %d grid point(s) was handed out", len(self.points))
                raise nni.NoMoreTrialError("one-shot grid exhausted")
            self.pending[parameter_id] = index
            self._persist()
            return self._params(index)

    def _params(self, index: int) -> dict[str, Any]:
        return {"format": ONESHOT_FORMAT, "algorithm": self.algorithm, "space": self.space,
                "space_args": self.space_args, "settings": self.points[index], "index": index}

    def receive_trial_result(self, parameter_id: int, parameters: Any, value: Any,
                             **kwargs: Any) -> None:
        if self.startup.wait() is not None:
            return
        with self.lock:
            try:
                index = self.pending.pop(parameter_id, None)
                if index is None:
                    index = self._grid_index(parameters)
                self._drop_reissue(index)
                self.results[str(index)] = self._metric(value)
                self._persist()
            except Exception:
                _logger.exception("SupernasOneShot: result of parameter %s not recorded", parameter_id)

    def trial_end(self, parameter_id: int, success: bool, **kwargs: Any) -> None:
        if self.startup.wait() is not None:
            return
        with self.lock:
            try:
                index = self.pending.pop(parameter_id, None)
                if index is not None:
                    _logger.warning("one-shot trial %s (grid point %d) ended without a result",
                                    parameter_id, index)
                    self.results[str(index)] = None
                    self._persist()
            except Exception:
                _logger.exception("SupernasOneShot: end of parameter %s not recorded", parameter_id)

    def _metric(self, value: Any) -> float | None:
        if isinstance(value, Mapping):
            value = value.get(self.metric)
        try:
            if type(value).__name__ in ("bool", "bool_"):  # Python's and numpy's booleans
                raise TypeError("a boolean is not a metric")
            metric = float(value)
            if not math.isfinite(metric):
                raise ValueError("not finite")
            return metric
        except (TypeError, ValueError, OverflowError):
            _logger.error("final result %r has no finite numeric %r; counted as a failure", value,
                          self.metric)
            return None

    def _grid_index(self, parameters: Any) -> int:
        """The grid index named by trial parameters; refused unless it is a point of this grid."""
        index = _as_dict(parameters).get("index")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self.points):
            raise ValueError(f"parameters.index={index!r} is invalid; allowed: an integer in "
                             f"0..{len(self.points) - 1} (the grid)")
        return index

    def _drop_reissue(self, index: int) -> None:
        if index in self.reissue:
            self.reissue.remove(index)

    def import_data(self, data: list[Mapping[str, Any]]) -> None:
        if self.startup.wait() is not None:
            return
        with self.lock:
            for record in data:
                try:
                    index = self._grid_index(record["parameter"])
                except Exception:
                    _logger.exception("SupernasOneShot: imported record %r not replayed", record)
                    continue
                self._drop_reissue(index)
                if self.results.get(str(index)) is None:  # a result replaces a failure, not a result
                    self.results[str(index)] = self._metric(record.get("value"))
                self.next_index = max(self.next_index, index + 1)
            self._persist()

    def best(self) -> tuple[int, float] | None:
        """(grid index, metric) of the best finished search."""
        done = [(int(i), m) for i, m in self.results.items()
                if isinstance(m, (int, float)) and math.isfinite(m) and 0 <= int(i) < len(self.points)]
        return max(done, key=lambda im: self.sign * im[1]) if done else None

    def _persist(self) -> None:
        try:
            self._write()
        except Exception:
            _logger.exception("SupernasOneShot: state not written; a resume would start afresh")

    def _write(self) -> None:
        directory = checkpoint_dir(self.state_dir)
        if directory is not None:
            save_state(directory, {"tuner": "SupernasOneShot", "next_index": self.next_index,
                                   "results": self.results, "points": self.points,
                                   "in_flight": sorted({*self.pending.values(), *self.reissue}),
                                   "best": self.best()})

    def load_checkpoint(self) -> None:
        if self.startup.wait() is not None:
            return
        with self.lock:
            try:
                directory = checkpoint_dir(self.state_dir)
                saved = load_state(directory) if directory is not None else None
                if saved and saved.get("points") == self.points:
                    self.next_index, self.results = saved["next_index"], dict(saved["results"])
                    self.reissue = [i for i in saved.get("in_flight", []) if str(i) not in self.results]
                    if self.reissue:
                        _logger.info("resume: grid point(s) %s were in flight; handed out again "
                                     "at the end unless a result arrives", self.reissue)
            except Exception:
                _logger.exception("SupernasOneShot: saved state not restored")

    def save_checkpoint(self) -> None:
        if self.startup.wait() is not None:
            return
        with self.lock:
            self._persist()


def _grid_points(settings: dict[str, Any], grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Cartesian product of ``grid`` (key order kept) over the fixed ``settings``."""
    from supernas.errors import bad_value

    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            raise bad_value(f"grid.{key}", values, "a non-empty list of values")
        if key in settings:
            raise bad_value(f"grid.{key}", values, "a setting not also fixed in 'settings'")
    combos = itertools.product(*grid.values()) if grid else [()]
    return [{**settings, **dict(zip(grid, combo))} for combo in combos]


def _as_dict(params: Any) -> dict[str, Any]:
    return json.loads(params) if isinstance(params, str) else dict(params)
