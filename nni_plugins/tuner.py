"""NNI tuners over supernas ask/tell strategies (``supernas.strategies``).

``SupernasEnas`` (ENAS REINFORCE controller, Pham et al. 2018, arXiv 1802.03268, in its
multi-trial form: the controller is trained from trial rewards), ``SupernasEvolution``
(regularised evolution, Real et al. 2019, arXiv 1802.01548), ``SupernasBo`` (BANANAS, White et al.
2021, arXiv 1910.11858), ``SupernasPnas`` (progressive search with a surrogate, Liu et al. 2018,
arXiv 1712.00559) and ``SupernasRandom``. The search
itself lives in the strategy; this file only translates NNI's calls.

Class arguments (``classArgs`` in the experiment config):

* ``space`` / ``space_args``: a registered supernas space (``supernas.spaces``); trials then
  receive the core's architecture JSON (``Architecture.to_dict()``). Without ``space`` the tuner
  searches the experiment's NNI ``searchSpace`` (see ``nni_plugins.search_space``) and trials
  receive NNI-style flat parameters (``{"e0": "nor_conv_3x3", ...}``).
* ``seed``, ``optimize_mode`` (``maximize``/``minimize``), ``metric`` (the key read from a dict
  final result; NNI's convention is ``default``), ``state_dir`` (default: NNI's checkpoint dir);
  every other argument is a strategy setting, read and validated by the strategy's settings
  dataclass (``supernas.settings``: the same parser as the CLI's ``--set`` and Katib's settings)
  at ``__init__``; ``nnictl`` v1 configs run the same check through ``classArgsValidator``
  (``nni_plugins.validators``).
  nnictl reads the config with PyYAML (YAML 1.1), which leaves ``3e-4`` a string: such strings in
  settings and ``space_args`` are taken as numbers (``supernas.yamlnum.numbers``).

Behaviour NNI 3.0 forces (see issue 4): no exception escapes an NNI callback (it is logged to
``dispatcher.log``; a tuner that cannot go on ends the experiment with ``NoMoreTrialError``);
state is locked (``trial_end`` comes from another thread, possibly before the trial's final
result); a trial that ends without a final result counts as a failure until that result arrives,
and is counted once whatever the order or number of deliveries (``nni_plugins.tuner_state``);
the state is written after every event and restored by ``load_checkpoint`` on ``nnictl resume``,
whose ``import_data`` replay skips trials the restored state already holds.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

import nni
from nni.tuner import Tuner

from nni_plugins.startup import Startup

# Nothing from supernas (hence torch) is imported at module level: see nni_plugins.startup.
_logger = logging.getLogger(__name__)
#: consecutive failures of ``strategy.suggest`` before the tuner ends the experiment.
MAX_SUGGEST_ERRORS = 3


class SupernasStrategyTuner(Tuner):
    """An NNI tuner driving the supernas strategy named ``strategy`` (see module docstring)."""

    strategy_name: str | None = None

    def __init__(self, strategy: str | None = None, space: str | None = None,
                 space_args: Mapping[str, Any] | None = None, seed: int = 0,
                 optimize_mode: str = "maximize", metric: str = "default",
                 state_dir: str | None = None, **settings: Any) -> None:
        super().__init__()
        self.lock = threading.RLock()
        self.state: Any = None  # nni_plugins.tuner_state.TunerState once built
        args = (strategy, space, space_args, seed, optimize_mode, metric, state_dir, settings)
        self.startup = Startup(lambda: self._build(*args), type(self).__name__)

    def _build(self, strategy: str | None, space: str | None, space_args: Mapping[str, Any] | None,
               seed: int, optimize_mode: str, metric: str, state_dir: str | None,
               settings: dict[str, Any]) -> None:
        from nni_plugins.tuner_state import TunerState, check_settings, parsed_settings
        from supernas.errors import bad_value
        from supernas.yamlnum import numbers

        settings, space_args = numbers(settings), numbers(space_args)
        name = _strategy_name(type(self).strategy_name, strategy)
        if optimize_mode not in ("maximize", "minimize"):
            raise bad_value("optimize_mode", optimize_mode, "'maximize' or 'minimize'")
        if not isinstance(seed, int) or isinstance(seed, bool):
            raise bad_value("seed", seed, "an integer")
        check_settings(name, seed, settings)
        settings = parsed_settings(name, seed, settings)
        state = TunerState(name, settings, seed, optimize_mode, metric, state_dir,
                           tuner_name=type(self).__name__)
        if space is not None:
            state.use_registered_space(space, dict(space_args or {}))
        elif space_args:
            raise bad_value("space_args", space_args, "only together with 'space'")
        with self.lock:
            self.state = state

    def _ready(self) -> bool:
        """Wait for the build; False (experiment to be ended) when it failed."""
        message = self.startup.wait()
        if message is not None and self.state is None:
            self.state = _Failed(message)
        return message is None

    # ----- NNI callbacks (never raise, except NoMoreTrialError on purpose) -----------------

    def update_search_space(self, search_space: Mapping[str, Any]) -> None:
        if not self._ready():
            return
        with self.lock:
            try:
                self.state.set_search_space(search_space)
            except Exception as exc:
                self.state.fatal = f"search space rejected: {exc}"
                _logger.exception("supernas tuner: %s", self.state.fatal)

    def generate_parameters(self, parameter_id: int, **kwargs: Any) -> Any:
        self._ready()
        with self.lock:
            if not self.state.fatal and self.state.strategy is None:
                self.state.fatal = "no search space: set classArgs.space or the experiment's searchSpace"
            if self.state.fatal:
                _logger.error("supernas tuner stops the experiment: %s", self.state.fatal)
                raise nni.NoMoreTrialError(self.state.fatal)
            try:
                choices = self._suggest()
                params = self.state.params_of(choices)
            except Exception as exc:  # end deliberately rather than leave NNI hanging
                _logger.exception("supernas tuner cannot produce parameters; stopping")
                raise nni.NoMoreTrialError(f"tuner error: {exc}") from exc
            self.state.pending[parameter_id] = choices
            self.state.stats["suggested"] += 1
            self.state.persist()
            return params

    def _suggest(self) -> dict[str, Any]:
        from supernas.mutator import sample_uniform

        strategy = self.state.strategy
        try:
            choices = strategy.suggest(1)[0]
            self.state.suggest_errors = 0
            return choices
        except Exception as exc:
            self.state.suggest_errors += 1
            _logger.exception("strategy %s failed to suggest; using a uniform sample",
                              self.state.strategy_name)
            if self.state.suggest_errors >= MAX_SUGGEST_ERRORS:
                self.state.fatal = f"strategy failed {MAX_SUGGEST_ERRORS} times in a row: {exc}"
            return sample_uniform(strategy.decisions, strategy.rng)

    def receive_trial_result(self, parameter_id: int, parameters: Any, value: Any,
                             **kwargs: Any) -> None:
        if not self._ready():
            return
        with self.lock:
            try:
                self.state.record_result(parameter_id, parameters, value)
            except Exception:
                self.state.stats["errors"] += 1
                _logger.exception("supernas tuner: result of parameter %s not recorded", parameter_id)

    def trial_end(self, parameter_id: int, success: bool, **kwargs: Any) -> None:
        if not self._ready():
            return
        with self.lock:
            try:
                self.state.record_end(parameter_id, success)
            except Exception:
                self.state.stats["errors"] += 1
                _logger.exception("supernas tuner: end of parameter %s not recorded", parameter_id)

    def import_data(self, data: list[Mapping[str, Any]]) -> None:
        if not self._ready():
            return
        with self.lock:
            try:
                self.state.import_history(data)
            except Exception:
                self.state.stats["errors"] += 1
                _logger.exception("supernas tuner: imported trial data not replayed")

    def load_checkpoint(self) -> None:
        if not self._ready():
            return
        with self.lock:
            try:
                self.state.restore()
            except Exception:
                _logger.exception("supernas tuner: saved state not restored; starting afresh")

    def save_checkpoint(self) -> None:
        if not self._ready():
            return
        with self.lock:
            try:
                self.state.persist()
            except Exception:
                _logger.exception("supernas tuner: state not saved")


def _strategy_name(fixed: str | None, given: str | None) -> str:
    from supernas.errors import bad_value
    from supernas.strategies import STRATEGIES

    if fixed is not None and given is not None and given != fixed:
        raise bad_value("strategy", given, f"{fixed!r} (fixed by this tuner) or leave it out")
    name = fixed or given
    if name is None:
        raise bad_value("strategy", None, "one of " + ", ".join(STRATEGIES.names()))
    if name not in STRATEGIES:
        raise bad_value("strategy", name, "one of " + ", ".join(STRATEGIES.names()))
    return name


class _Failed:
    """Stand-in state of a tuner whose build failed: every request ends the experiment."""

    def __init__(self, message: str) -> None:
        self.fatal = message


class SupernasEnas(SupernasStrategyTuner):
    """ENAS REINFORCE controller (arXiv 1802.03268) as an NNI tuner; strategy ``enas``."""

    strategy_name = "enas"


class SupernasEvolution(SupernasStrategyTuner):
    """Regularised (ageing) evolution (arXiv 1802.01548) as an NNI tuner; strategy ``evolution``."""

    strategy_name = "evolution"


class SupernasRandom(SupernasStrategyTuner):
    """Uniform random search (the baseline of Li & Talwalkar, arXiv 1902.07638); strategy ``random``."""

    strategy_name = "random"


class SupernasBo(SupernasStrategyTuner):
    """BANANAS Bayesian optimisation over architecture encodings (arXiv 1910.11858); strategy ``bo``."""

    strategy_name = "bo"


class SupernasPnas(SupernasStrategyTuner):
    """Progressive search with a surrogate (PNAS, arXiv 1712.00559); strategy ``pnas``."""

    strategy_name = "pnas"


TUNERS: dict[str, type[SupernasStrategyTuner]] = {
    "enas": SupernasEnas, "evolution": SupernasEvolution, "random": SupernasRandom,
    "bo": SupernasBo, "pnas": SupernasPnas,
}


def tuner_for(strategy: str) -> type[SupernasStrategyTuner]:
    """The tuner class to construct as ``cls(strategy=strategy, ...)`` (used by ``benchmarks``)."""
    from supernas.errors import bad_value
    from supernas.strategies import STRATEGIES

    if strategy not in STRATEGIES:
        raise bad_value("strategy", strategy, "one of " + ", ".join(STRATEGIES.names()))
    return SupernasStrategyTuner


__all__ = [
    "TUNERS",
    "SupernasBo",
    "SupernasEnas",
    "SupernasEvolution",
    "SupernasPnas",
    "SupernasRandom",
    "SupernasStrategyTuner",
    "tuner_for",
]
