"""Build the gRPC ``Experiment`` message from an Experiment CRD (YAML/dict), the way Katib's
suggestion client does (``pkg/controller.v1beta1/suggestion/suggestionclient``). Used by tests,
the latency benchmark and ``python -m katib_suggestions.experiment FILE`` (offline validation).
"""
from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kubeflow.katib import katib_api_pb2 as pb

from supernas.errors import ConfigError
from supernas.yamlfile import read_yaml

_TYPES = {"categorical": pb.CATEGORICAL, "discrete": pb.DISCRETE, "int": pb.INT, "double": pb.DOUBLE}
_OBJECTIVES = {"maximize": pb.MAXIMIZE, "minimize": pb.MINIMIZE}


EXPECTED = ("allowed: a YAML file with a Katib Experiment (apiVersion: kubeflow.org/v1beta1, "
            "kind: Experiment, spec: {algorithm: {algorithmName: ...}, ...})")


def load_experiment(path: str | Path) -> pb.Experiment:
    """The first ``kind: Experiment`` document of a YAML file; a missing or unreadable file, or
    one without a well-formed Experiment, is a ``ConfigError`` naming the file."""
    where = f"experiment file {str(path)!r}"
    docs = [d for d in read_yaml(path, where, EXPECTED, all_documents=True) if d]
    found = [d for d in docs if isinstance(d, Mapping) and d.get("kind") == "Experiment"]
    if not found:
        kinds = sorted({str(d["kind"]) for d in docs if isinstance(d, Mapping) and d.get("kind")})
        what = (f"kinds found: {', '.join(kinds)}" if kinds else
                "no document has a kind" if any(isinstance(d, Mapping) for d in docs) else "no YAML mapping")
        raise ConfigError(f"{where} holds no kind: Experiment document ({what}); {EXPECTED}")
    problem = _shape_problem(found[0])
    if problem:
        raise ConfigError(f"{where}: {problem}; {EXPECTED}")
    try:
        return experiment_message(found[0])
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise ConfigError(f"{where} is not a well-formed Experiment ({type(exc).__name__}: {exc}); "
                          f"{EXPECTED}") from None


def _shape_problem(crd: Mapping[str, Any]) -> str | None:
    """The first field of ``crd`` that ``experiment_message`` cannot read, or ``None``."""
    spec = crd.get("spec")
    if not isinstance(spec, Mapping):
        return f"spec={spec!r} is not a mapping"
    for key in ("objective", "algorithm", "nasConfig", "trialTemplate"):
        if spec.get(key) is not None and not isinstance(spec[key], Mapping):
            return f"spec.{key}={spec[key]!r} is not a mapping"
    if crd.get("metadata") is not None and not isinstance(crd["metadata"], Mapping):
        return f"metadata={crd['metadata']!r} is not a mapping"
    settings = (spec.get("algorithm") or {}).get("algorithmSettings") or []
    if not isinstance(settings, list) or not all(isinstance(s, Mapping) and "name" in s for s in settings):
        return (f"spec.algorithm.algorithmSettings={settings!r} is not a list of "
                "{name: ..., value: ...}")
    nas = spec.get("nasConfig") or {}
    if nas.get("graphConfig") is not None and not isinstance(nas["graphConfig"], Mapping):
        return f"spec.nasConfig.graphConfig={nas['graphConfig']!r} is not a mapping"
    ops = nas.get("operations") or []
    if not isinstance(ops, list) or not all(isinstance(o, Mapping) for o in ops):
        return f"spec.nasConfig.operations={ops!r} is not a list of {{operationType: ...}}"
    for op in ops:
        params = op.get("parameters") or []
        if not isinstance(params, list) or not all(isinstance(p, Mapping) for p in params):
            return (f"spec.nasConfig.operations[].parameters={params!r} is not a list of "
                    "{name: ..., parameterType: ..., feasibleSpace: ...}")
        for p in params:
            if p.get("feasibleSpace") is not None and not isinstance(p["feasibleSpace"], Mapping):
                return (f"spec.nasConfig.operations[].parameters[].feasibleSpace={p['feasibleSpace']!r} "
                        "is not a mapping")
    return None


def experiment_message(crd: Mapping[str, Any]) -> pb.Experiment:
    spec = crd.get("spec", {})
    obj = spec.get("objective", {})
    algo = spec.get("algorithm", {})
    return pb.Experiment(name=crd.get("metadata", {}).get("name", ""), spec=pb.ExperimentSpec(
        objective=pb.ObjectiveSpec(type=_OBJECTIVES.get(obj.get("type", ""), pb.UNKNOWN),
                                   objective_metric_name=obj.get("objectiveMetricName", "")),
        algorithm=pb.AlgorithmSpec(
            algorithm_name=algo.get("algorithmName", ""),
            algorithm_settings=[pb.AlgorithmSetting(name=s["name"], value=str(s.get("value", "")))
                                for s in algo.get("algorithmSettings") or []]),
        parallel_trial_count=int(spec.get("parallelTrialCount", 0)),
        max_trial_count=int(spec.get("maxTrialCount", 0)),
        nas_config=nas_config_message(spec.get("nasConfig") or {})))


def nas_config_message(nas: Mapping[str, Any]) -> pb.NasConfig:
    g = nas.get("graphConfig") or {}
    ops = [pb.Operation(operation_type=op.get("operationType", ""),
                        parameter_specs=pb.Operation.ParameterSpecs(
                            parameters=[_parameter(p) for p in op.get("parameters") or []]))
           for op in nas.get("operations") or []]
    return pb.NasConfig(graph_config=pb.GraphConfig(num_layers=int(g.get("numLayers", 0)),
                                                    input_sizes=g.get("inputSizes") or [],
                                                    output_sizes=g.get("outputSizes") or []),
                        operations=pb.NasConfig.Operations(operation=ops))


def _parameter(p: Mapping[str, Any]) -> pb.ParameterSpec:
    fs = p.get("feasibleSpace") or {}
    return pb.ParameterSpec(
        name=p.get("name", ""), parameter_type=_TYPES.get(p.get("parameterType", ""), pb.UNKNOWN_TYPE),
        feasible_space=pb.FeasibleSpace(min=str(fs.get("min", "")), max=str(fs.get("max", "")),
                                        step=str(fs.get("step", "")),
                                        list=[str(v) for v in fs.get("list") or []]))


def trial_references(crd: Mapping[str, Any]) -> list[str]:
    """The ``trialParameters[].reference`` values of an Experiment CRD."""
    params = crd.get("spec", {}).get("trialTemplate", {}).get("trialParameters") or []
    return [p["reference"] for p in params]


def main(argv: list[str]) -> int:
    """Validate Experiment files as ``ValidateAlgorithmSettings`` would; exit 1 on the first invalid
    one, 2 (``supernas: error: ...``) when a file is missing or holds no Experiment."""
    from katib_suggestions.algorithms import ALGORITHMS
    from supernas.errors import SupernasError

    if not argv:
        print("supernas: error: no experiment file given; allowed: python -m "
              "katib_suggestions.experiment FILE.yaml ...", file=sys.stderr)
        return 2
    for path in argv:
        try:
            exp = load_experiment(path)
        except SupernasError as exc:  # not an Experiment at all: a usage error, not a verdict
            print(f"supernas: error: {exc}", file=sys.stderr)
            return 2
        try:
            ALGORITHMS.create(exp.spec.algorithm.algorithm_name, experiment=exp, state_dir=Path("/nonexistent"))
        except SupernasError as exc:
            print(f"{path}: invalid: {exc}", file=sys.stderr)
            return 1
        print(f"{path}: valid")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
