"""``enas``: drop-in for Katib's ENAS suggestion, same settings and assignment formats.

Formats (Katib ``pkg/suggestion/v1beta1/nas/enas/service.py``; parsed by
``enas-cnn-cifar10/ModelConstructor.py`` after ``replace("'", '"')``)::

    architecture  [[3], [1, 0], [5, 1, 1]]      per layer i: [operation id, i skip bits]
    nn_config     {'num_layers': 3, 'input_sizes': [32, 32, 3], 'output_sizes': [10],
                   'embedding': {'3': {'opt_id': 3, 'opt_type': 'convolution',
                                       'opt_params': {'filter_size': '3', ...}}, ...}}

Skip bit ``j`` of layer ``i`` connects output ``j`` (0 = input, ``j`` = layer ``j-1``); the
embedding lists the operations used. The controller is ``supernas.strategies`` ``enas`` (ENAS,
Pham et al. 2018, arXiv 1802.03268) with Katib's setting names and Katib's defaults; unlike
Katib's, each trial's reward goes to the architecture that trial ran. Katib's
``controller_train_steps`` (gradient steps on one averaged reward) and
``controller_log_every_steps`` are accepted for compatibility but have no counterpart: the
supernas controller makes one REINFORCE update per batch of observed trials.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from types import SimpleNamespace
from typing import Any

from katib_suggestions.algorithms.base import register_algorithm
from katib_suggestions.algorithms.multitrial import Choices, MultiTrial
from katib_suggestions.formats import decode, katib_json
from supernas.architecture import validate
from supernas.settings import Settings, integer
from supernas.strategies.enas import EnasSettings

#: Katib setting -> field of the supernas ``enas`` strategy's ``EnasSettings``.
KATIB_NAMES = {
    "controller_hidden_size": "hidden_size",
    "controller_temperature": "temperature",
    "controller_tanh_const": "tanh_constant",
    "controller_entropy_weight": "entropy_weight",
    "controller_baseline_decay": "baseline_decay",
    "controller_learning_rate": "lr",
    "controller_skip_target": "skip_target",
    "controller_skip_weight": "skip_weight",
}
#: Katib's defaults (kubeflow/katib pkg/suggestion/v1beta1/nas/enas/AlgorithmSettings.py), by field.
KATIB_DEFAULTS = {"hidden_size": 64, "temperature": 5.0, "tanh_constant": 2.25,
                  "entropy_weight": 1e-5, "baseline_decay": 0.999, "lr": 5e-5,
                  "skip_target": 0.4, "skip_weight": 0.8}
#: Katib settings whose ``None`` means "not set" (the strategy's own default is used).
NONE_MEANS_DEFAULT = ("controller_temperature", "controller_tanh_const",
                      "controller_entropy_weight", "controller_skip_weight")


@dataclass(frozen=True)
class KatibOnly(Settings):
    """Katib ENAS settings without a counterpart (accepted for compatibility, unused)."""

    controller_train_steps: int = 50  # Katib AlgorithmSettings.py
    controller_log_every_steps: int = 10  # Katib AlgorithmSettings.py

    def validate(self) -> None:
        integer("controller_train_steps", self.controller_train_steps, low=1)
        integer("controller_log_every_steps", self.controller_log_every_steps, low=1)


@register_algorithm("enas")
class EnasDropIn(MultiTrial):
    """Katib ``enas`` formats over a REINFORCE controller with per-trial credit."""

    strategy_name = "enas"
    references = ("architecture", "nn_config")
    renames = KATIB_NAMES
    defaults = KATIB_DEFAULTS
    extra_schemas = (KatibOnly,)
    accepted = (*KATIB_NAMES, "seed", *KatibOnly.names())  # Katib's settings, and a seed

    def raw_settings(self, raw: Iterable[Any]) -> list[Any]:
        """Katib's ``None`` for a setting of ``NONE_MEANS_DEFAULT``: the strategy's default."""
        own = {f.name: f.default for f in fields(EnasSettings)}
        return [SimpleNamespace(name=s.name, value=str(own[KATIB_NAMES[s.name]]))
                if s.name in NONE_MEANS_DEFAULT and s.value.strip() == "None" else s for s in raw]

    def encode(self, choices: Choices) -> dict[str, str]:
        ids = {op.token: op.index for op in self.space.operations}
        arc = []
        for i in range(self.space.num_layers):
            skips = set(choices.get(f"skip{i}", []))
            arc.append([ids[choices[f"layer{i}"]]] + [int(j in skips) for j in range(i)])
        return {"architecture": katib_json(arc), "nn_config": katib_json(self.nn_config(arc))}

    def nn_config(self, arc: list[list[int]]) -> dict[str, Any]:
        used = sorted({layer[0] for layer in arc})
        return {"num_layers": self.space.num_layers, "input_sizes": list(self.space.input_sizes),
                "output_sizes": list(self.space.output_sizes),
                "embedding": {i: self.space.operations[i].katib_dict() for i in used}}

    def decode(self, assignments: Mapping[str, str]) -> Choices:
        arc = decode(assignments["architecture"])
        if not isinstance(arc, list) or len(arc) != self.space.num_layers:
            raise ValueError(f"architecture is not a list of {self.space.num_layers} layers")
        choices: dict[str, Any] = {}
        ops = self.space.operations
        for i, layer in enumerate(arc):
            if (not isinstance(layer, list) or len(layer) != i + 1
                    or not all(type(v) is int for v in layer) or not 0 <= layer[0] < len(ops)
                    or not set(layer[1:]) <= {0, 1}):
                raise ValueError(f"layer {i} is {layer!r}, not [operation id, {i} skip bits]")
            choices[f"layer{i}"] = ops[layer[0]].token
            if i >= 1:
                choices[f"skip{i}"] = [j for j, bit in enumerate(layer[1:]) if bit]
        return validate(choices, self.decisions)

