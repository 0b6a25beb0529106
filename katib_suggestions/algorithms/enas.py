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

from collections.abc import Mapping
from typing import Any

from katib_suggestions.algorithms.base import register_algorithm
from katib_suggestions.algorithms.multitrial import Choices, MultiTrial
from katib_suggestions.formats import decode, katib_json
from katib_suggestions.settings import KATIB_ENAS, SEED, Setting
from supernas.architecture import validate
from supernas.strategies import STRATEGIES

#: Katib setting -> candidate keyword names of the supernas ``enas`` strategy (first accepted wins).
KWARG_NAMES = {
    "controller_hidden_size": ("hidden_size", "lstm_size", "controller_hidden_size"),
    "controller_temperature": ("temperature",),
    "controller_tanh_const": ("tanh_constant", "tanh_const"),
    "controller_entropy_weight": ("entropy_weight", "entropy_reduction"),
    "controller_baseline_decay": ("baseline_decay",),
    "controller_learning_rate": ("learning_rate", "lr", "controller_lr"),
    "controller_skip_target": ("skip_target",),
    "controller_skip_weight": ("skip_weight",),
    "controller_train_steps": ("train_steps", "steps_per_update", "controller_steps"),
}


@register_algorithm("enas")
class EnasDropIn(MultiTrial):
    """Katib ``enas`` formats over a REINFORCE controller with per-trial credit."""

    strategy_name = "enas"
    references = ("architecture", "nn_config")

    @classmethod
    def setting_specs(cls) -> list[Setting]:
        return [*KATIB_ENAS, SEED]

    def strategy_kwargs(self) -> dict[str, Any]:
        params = STRATEGIES.parameters(self.strategy_name)
        kwargs: dict[str, Any] = {"seed": self.settings["seed"]} if "seed" in params else {}
        for katib_name, names in KWARG_NAMES.items():
            name = next((n for n in names if n in params), None)
            if name is not None and self.settings[katib_name] is not None:
                kwargs[name] = self.settings[katib_name]
        return kwargs

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
