"""Katib ``nasConfig`` (graph_config + operations) -> an ENAS-macro-like supernas space.

Each operation expands, as in Katib's enas ``Operation.py``, into one candidate per combination of
its parameter values (the cartesian product, in the order given). A parameterless operation (e.g.
``darts-gpu.yaml``'s ``skip_connection``) is one candidate; Katib's shared validator wrongly
rejects it, we accept it.

The space has ``num_layers`` layers. Decision ``layer{i}`` picks one expanded operation for layer
``i`` (its token, e.g. ``convolution:filter_size=3,num_filter=32,stride=1``); for ``i >= 1``
decision ``skip{i}`` picks any subset of the ``i`` earlier outputs ``0..i-1`` (0 = the network
input, ``j`` = the output of layer ``j-1``); the previous layer is always an input. This matches
the skip bits of Katib's enas ``architecture`` format (``ModelConstructor.py``).
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kubeflow.katib import katib_api_pb2 as pb

from katib_suggestions.formats import check_token
from supernas.errors import bad_value
from supernas.space import Decision

#: Upper bound on expanded operations (Katib's enas-cpu example expands to 106).
MAX_OPERATIONS = 2000
MAX_LAYERS = 256
PARAM_TYPES = {pb.CATEGORICAL: "categorical", pb.DISCRETE: "discrete", pb.INT: "int",
               pb.DOUBLE: "double"}


@dataclass(frozen=True)
class Operation:
    """One expanded candidate: an operation type with one value per parameter."""

    index: int
    type: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def token(self) -> str:
        if not self.params:
            return self.type
        return self.type + ":" + ",".join(f"{k}={v}" for k, v in self.params.items())

    def katib_dict(self) -> dict[str, Any]:
        """The entry Katib's enas puts in ``nn_config['embedding']``."""
        return {"opt_id": self.index, "opt_type": self.type, "opt_params": dict(self.params)}


@dataclass(frozen=True)
class NasSpace:
    """The parsed ``nasConfig``."""

    num_layers: int
    input_sizes: tuple[int, ...]
    output_sizes: tuple[int, ...]
    operations: tuple[Operation, ...]

    def decisions(self) -> list[Decision]:
        tokens = tuple(op.token for op in self.operations)
        out: list[Decision] = []
        for i in range(self.num_layers):
            out.append(Decision(f"layer{i}", "layer", choices=tokens))
            if i >= 1:
                out.append(Decision(f"skip{i}", "input", n_candidates=i, allow_empty=True))
        return out

    def space_args(self) -> dict[str, Any]:
        return {"num_layers": self.num_layers, "input_sizes": list(self.input_sizes),
                "output_sizes": list(self.output_sizes),
                "operations": [op.token for op in self.operations]}

    def by_token(self) -> dict[str, Operation]:
        return {op.token: op for op in self.operations}


def parse_nas_config(nas: pb.NasConfig, need_io: bool = True) -> NasSpace:
    """Parse and check ``nas``; raise ``ConfigError`` naming the nasConfig field on bad input."""
    g = nas.graph_config
    if g.num_layers < 1 or g.num_layers > MAX_LAYERS:
        raise bad_value("nasConfig.graphConfig.numLayers", g.num_layers, f"an integer in 1..{MAX_LAYERS}")
    if need_io:
        _check_sizes("nasConfig.graphConfig.inputSizes", g.input_sizes)
        _check_sizes("nasConfig.graphConfig.outputSizes", g.output_sizes)
    ops = expand_operations(nas.operations.operation)
    return NasSpace(int(g.num_layers), tuple(g.input_sizes), tuple(g.output_sizes), tuple(ops))


def _check_sizes(fld: str, sizes: Sequence[int]) -> None:
    if not sizes or any(s < 1 for s in sizes):
        raise bad_value(fld, list(sizes), "a non-empty list of positive integers")


def expand_operations(operations: Sequence[pb.Operation]) -> list[Operation]:
    """Every (operation type, parameter values) combination, numbered from 0."""
    if not operations:
        raise bad_value("nasConfig.operations", [], "at least one operation")
    out: list[Operation] = []
    seen: set[str] = set()
    for i, op in enumerate(operations):
        where = f"nasConfig.operations[{i}]"
        op_type = check_token(f"{where}.operationType", op.operation_type) if op.operation_type else ""
        if not op_type:
            raise bad_value(f"{where}.operationType", op.operation_type, "a non-empty operation name")
        names, values = _parameter_values(where, op.parameter_specs.parameters)
        for combo in itertools.product(*values):
            cand = Operation(len(out), op_type, dict(zip(names, combo)))
            if cand.token in seen:
                raise bad_value(f"{where}", cand.token, "operations that are not repeated")
            seen.add(cand.token)
            out.append(cand)
            if len(out) > MAX_OPERATIONS:
                raise bad_value("nasConfig.operations", f"more than {MAX_OPERATIONS} expanded",
                                f"at most {MAX_OPERATIONS} operation/parameter combinations")
    return out


def _parameter_values(where: str, params: Sequence[pb.ParameterSpec]) -> tuple[list[str], list[list[Any]]]:
    names, values = [], []
    for j, p in enumerate(params):
        fld = f"{where}.parameters[{j}]"
        if not p.name:
            raise bad_value(f"{fld}.name", p.name, "a non-empty parameter name")
        check_token(f"{fld}.name", p.name)
        if p.name in names:
            raise bad_value(f"{fld}.name", p.name, "parameter names unique within an operation")
        names.append(p.name)
        values.append(parameter_values(fld, p))
    return names, values


def parameter_values(fld: str, p: pb.ParameterSpec) -> list[Any]:
    """The values of one operation parameter (categorical: strings, int: ints, double: floats)."""
    if p.parameter_type not in PARAM_TYPES:
        raise bad_value(f"{fld}.parameterType", pb.ParameterType.Name(p.parameter_type),
                        "categorical, discrete, int or double")
    fs = p.feasible_space
    if p.parameter_type in (pb.CATEGORICAL, pb.DISCRETE):
        if not fs.list:
            raise bad_value(f"{fld}.feasibleSpace.list", list(fs.list), "a non-empty list of values")
        vals = [check_token(f"{fld}.feasibleSpace.list[{k}]", v) for k, v in enumerate(fs.list)]
        if len(set(vals)) != len(vals):
            raise bad_value(f"{fld}.feasibleSpace.list", vals, "distinct values")
        return vals
    return _range_values(fld, fs, int if p.parameter_type == pb.INT else float)


def _range_values(fld: str, fs: pb.FeasibleSpace, kind: type) -> list[Any]:
    lo = _number(f"{fld}.feasibleSpace.min", fs.min, kind)
    hi = _number(f"{fld}.feasibleSpace.max", fs.max, kind)
    step = _number(f"{fld}.feasibleSpace.step", fs.step or "1", kind)
    if step <= 0:
        raise bad_value(f"{fld}.feasibleSpace.step", fs.step, "a number > 0")
    if hi < lo:
        raise bad_value(f"{fld}.feasibleSpace.max", fs.max, f"a number >= min ({fs.min})")
    count = int((hi - lo) / step + 1e-9) + 1
    if count > MAX_OPERATIONS:
        raise bad_value(f"{fld}.feasibleSpace", f"{fs.min}..{fs.max} step {fs.step}",
                        f"at most {MAX_OPERATIONS} values")
    return [kind(round(lo + k * step, 12)) if kind is float else lo + k * step for k in range(count)]


def _number(fld: str, text: str, kind: type) -> Any:
    try:
        return kind(text)
    except ValueError:
        raise bad_value(fld, text, "an integer" if kind is int else "a number") from None

