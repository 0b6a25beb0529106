"""Build the gRPC ``Experiment`` message from an Experiment CRD (YAML/dict), the way Katib's
suggestion client does (``pkg/controller.v1beta1/suggestion/suggestionclient``). Used by tests,
the latency benchmark and ``python -m katib_suggestions.experiment FILE`` (offline validation).
"""
from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from kubeflow.katib import katib_api_pb2 as pb

_TYPES = {"categorical": pb.CATEGORICAL, "discrete": pb.DISCRETE, "int": pb.INT, "double": pb.DOUBLE}
_OBJECTIVES = {"maximize": pb.MAXIMIZE, "minimize": pb.MINIMIZE}


def load_experiment(path: str | Path) -> pb.Experiment:
    """The first ``kind: Experiment`` document of a YAML file."""
    docs = [d for d in yaml.safe_load_all(Path(path).read_text()) if d]
    return experiment_message(next(d for d in docs if d.get("kind") == "Experiment"))


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
    """Validate Experiment files as ``ValidateAlgorithmSettings`` would; exit 1 on the first error."""
    from katib_suggestions.algorithms import ALGORITHMS
    from supernas.errors import SupernasError

    for path in argv:
        exp = load_experiment(path)
        try:
            ALGORITHMS.create(exp.spec.algorithm.algorithm_name, experiment=exp, state_dir=Path("/nonexistent"))
        except SupernasError as exc:
            print(f"{path}: invalid: {exc}", file=sys.stderr)
            return 1
        print(f"{path}: valid")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
