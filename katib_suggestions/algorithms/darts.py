"""``darts`` (drop-in for Katib's DARTS suggestion) and ``supernas-darts`` / ``supernas-bats``.

DARTS-style searches run the whole one-shot search inside one trial, so the suggestion only hands
out the search configuration. Katib's own DARTS service builds its strings on the first call only
and fails with ``UnboundLocalError`` on any later one (``num_layers`` is local to the first-call
branch in ``pkg/suggestion/v1beta1/nas/darts/service.py``); these answer any number of calls, each
with ``current_request_number`` assignments (e.g. parallel seeds).

Drop-in format (what ``darts-cnn-cifar10/run_trial.py`` parses after ``replace("'", '"')``)::

    algorithm-settings  {'num_epochs': 3, 'w_lr': 0.025, ...}     every Katib setting, typed
    search-space        ['separable_convolution_3x3', ..., 'skip_connection']
    num-layers          3

supernas format adds ``seed`` (0, 1, 2, ... per trial: repeated searches give independent seeds),
uses supernas op names (``sep_conv_3x3`` ...) and flat ``k=v`` / ``a,b`` values (no quotes at
all); the settings are the scalar fields of the one-shot algorithm's settings dataclass (e.g. the
temperature of DARTS-T / BATS, ``supernas.oneshot``) plus the trial recipe (``recipe.py``), read
by the same ``Settings.parse`` as the trial's ``--set``, so a setting the trial would refuse is
refused by ``ValidateAlgorithmSettings`` with the same message. ``numLayers`` is at most
``MAX_CELLS``.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from kubeflow.katib import katib_api_pb2 as pb

from katib_suggestions.algorithms.base import KatibAlgorithm, Suggestion, register_algorithm
from katib_suggestions.algorithms.recipe import MAX_CELLS, KatibDartsSettings, TrialRecipe
from katib_suggestions.formats import check_token, flat_list, flat_settings, katib_json
from katib_suggestions.nas_config import parameter_values
from katib_suggestions.oneshot_spaces import ONESHOT_SPACES
from katib_suggestions.settings import parse_settings, plain
from supernas.errors import bad_value
from supernas.settings import Settings, integer

#: Katib operation type -> supernas op-name stem (sizes appended as ``_KxK``).
SUPERNAS_OP_NAMES = {"separable_convolution": "sep_conv", "dilated_convolution": "dil_conv",
                     "avg_pooling": "avg_pool", "max_pooling": "max_pool", "convolution": "conv",
                     "skip_connection": "skip_connect"}


def darts_operations(operations: Sequence[pb.Operation]) -> list[str]:
    """Katib's DARTS expansion: ``<type>_<k>x<k>`` per ``filter_size``, bare type without parameters."""
    if not operations:
        raise bad_value("nasConfig.operations", [], "at least one operation")
    out: list[str] = []
    for i, op in enumerate(operations):
        where = f"nasConfig.operations[{i}]"
        if not op.operation_type:
            raise bad_value(f"{where}.operationType", "", "a non-empty operation name")
        check_token(f"{where}.operationType", op.operation_type)
        params = list(op.parameter_specs.parameters)
        if not params:
            out.append(op.operation_type)
            continue
        if len(params) != 1 or params[0].name != "filter_size":
            names = [p.name for p in params]
            raise bad_value(f"{where}.parameters", names, "no parameters, or only 'filter_size' (DARTS)")
        for k in parameter_values(f"{where}.parameters[0]", params[0]):
            out.append(f"{op.operation_type}_{k}x{k}")
    return _unique(out)


def _unique(tokens: list[str]) -> list[str]:
    dup = sorted({t for t in tokens if tokens.count(t) > 1})
    if dup:
        raise bad_value("nasConfig.operations", dup, "operations that are not repeated")
    return tokens


@register_algorithm("darts")
class DartsDropIn(KatibAlgorithm):
    """Katib's ``darts`` assignments, on every call."""

    references = ("algorithm-settings", "search-space", "num-layers")

    def __init__(self, experiment: pb.Experiment, state_dir: Path) -> None:
        super().__init__(experiment, state_dir)
        spec = experiment.spec
        self.settings = plain(parse_settings(spec.algorithm.algorithm_settings, [KatibDartsSettings]))
        self.search_space = darts_operations(spec.nas_config.operations.operation)
        self.num_layers = _num_layers(spec.nas_config)
        self.values = {"algorithm-settings": katib_json(self.settings),
                       "search-space": katib_json(self.search_space),
                       "num-layers": str(self.num_layers)}

    def get_suggestions(self, request: pb.GetSuggestionsRequest) -> list[Suggestion]:
        return [Suggestion(dict(self.values)) for _ in range(request.current_request_number)]


def _num_layers(nas: pb.NasConfig, low: int = 1) -> int:
    """``numLayers`` in ``low`` (the fewest cells the space builds) .. ``MAX_CELLS``."""
    integer("nasConfig.graphConfig.numLayers", nas.graph_config.num_layers, low=low, high=MAX_CELLS)
    return int(nas.graph_config.num_layers)


class SupernasOneShot(KatibAlgorithm):
    """A supernas one-shot search per trial; trial ``k`` gets ``seed = settings.seed + k``
    (``k`` counts the assignments handed out, at least the number Katib says it holds).

    Assignments: ``algorithm-settings`` (``k=v,...``: the one-shot algorithm's keyword arguments
    and the recipe), ``search-space`` (``op,op,...`` supernas op names), ``num-layers``, ``seed``.
    The op list must be one the space (``ONESHOT_SPACES[oneshot_name]``) can search; the trial
    searches exactly it.
    """

    references = ("algorithm-settings", "search-space", "num-layers", "seed")
    oneshot_name = ""

    def __init__(self, experiment: pb.Experiment, state_dir: Path) -> None:
        super().__init__(experiment, state_dir)
        spec = experiment.spec
        self.settings = plain(parse_settings(spec.algorithm.algorithm_settings, self.schemas()))
        ops = darts_operations(spec.nas_config.operations.operation)
        self.search_space = [supernas_op_name(t) for t in ops]
        ONESHOT_SPACES[self.oneshot_name].honoured_ops(self.search_space)  # refused if not searchable
        self.num_layers = _num_layers(spec.nas_config, ONESHOT_SPACES[self.oneshot_name].min_layers)
        self.issued = 0

    @classmethod
    def schemas(cls) -> list[type[Settings]]:
        """The one-shot algorithm's settings dataclass, and the trial recipe."""
        from supernas.oneshot import ALGORITHMS as ONESHOT

        return [ONESHOT.get(cls.oneshot_name).settings_class, TrialRecipe]  # type: ignore[attr-defined]

    def get_suggestions(self, request: pb.GetSuggestionsRequest) -> list[Suggestion]:
        # Katib's total_request_number - current_request_number is the number of assignments
        # it already holds: seeds stay consecutive even when the state file was lost.
        held = request.total_request_number - request.current_request_number
        if held > self.issued:
            self.issued, self.dirty = held, True
        out = []
        for _ in range(request.current_request_number):
            settings = {k: v for k, v in self.settings.items() if k != "seed"}
            out.append(Suggestion({"algorithm-settings": flat_settings(settings),
                                   "search-space": flat_list(self.search_space),
                                   "num-layers": str(self.num_layers),
                                   "seed": str(self.settings["seed"] + self.issued)}))
            self.issued += 1
            self.dirty = True
        return out

    def state_dict(self) -> dict[str, Any]:
        return {"issued": self.issued}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.issued = int(state["issued"])
        self.dirty = False


def supernas_op_name(token: str) -> str:
    """``separable_convolution_3x3`` -> ``sep_conv_3x3``; supernas names pass through."""
    m = re.match(r"^(.*?)(_\d+x\d+)?$", token)
    stem, size = (m.group(1), m.group(2) or "") if m else (token, "")
    return SUPERNAS_OP_NAMES.get(stem, stem) + size


@register_algorithm("supernas-darts")
class SupernasDarts(SupernasOneShot):
    """DARTS with temperature (arXiv 1806.09055; temperature as in BATS, arXiv 2003.01711)."""

    oneshot_name = "darts"


@register_algorithm("supernas-bats")
class SupernasBats(SupernasOneShot):
    """BATS binary-oriented search (Bulat et al. ECCV 2020, arXiv 2003.01711)."""

    oneshot_name = "bats"
