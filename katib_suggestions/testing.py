"""Test kit: a small stand-in for Katib's experiment controller, driving a real suggestion server.

It keeps the trial list the way Katib does and sends *all* trials with every ``GetSuggestions``
call; trials get the reply's ``trial_name`` or a generated one, like Katib's ``<exp>-<random>``.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import grpc
from kubeflow.katib import katib_api_pb2 as pb
from kubeflow.katib import katib_api_pb2_grpc as pb_grpc

from katib_suggestions.experiment import experiment_message

C = pb.TrialStatus.TrialConditionType

MINIMAL_ENAS: dict[str, Any] = {
    "apiVersion": "kubeflow.org/v1beta1", "kind": "Experiment",
    "metadata": {"name": "mini-enas", "namespace": "kubeflow"},
    "spec": {
        "objective": {"type": "maximize", "objectiveMetricName": "Validation-Accuracy"},
        "algorithm": {"algorithmName": "enas"},
        "parallelTrialCount": 3, "maxTrialCount": 12,
        "nasConfig": {
            "graphConfig": {"numLayers": 3, "inputSizes": [32, 32, 3], "outputSizes": [10]},
            "operations": [
                {"operationType": "convolution", "parameters": [
                    {"name": "filter_size", "parameterType": "categorical",
                     "feasibleSpace": {"list": ["3", "5"]}},
                    {"name": "num_filter", "parameterType": "categorical",
                     "feasibleSpace": {"list": ["16"]}}]},
                {"operationType": "reduction", "parameters": [
                    {"name": "reduction_type", "parameterType": "categorical",
                     "feasibleSpace": {"list": ["max_pooling", "avg_pooling"]}},
                    {"name": "pool_size", "parameterType": "int",
                     "feasibleSpace": {"min": "2", "max": "3", "step": "1"}}]},
            ],
        },
        "trialTemplate": {"trialParameters": [
            {"name": "arch", "reference": "architecture"}, {"name": "cfg", "reference": "nn_config"}]},
    },
}


def with_algorithm(crd: Mapping[str, Any], name: str, settings: Mapping[str, str] | None = None,
                   exp_name: str | None = None) -> dict[str, Any]:
    """A copy of ``crd`` using algorithm ``name`` (and settings)."""
    import copy

    out = copy.deepcopy(dict(crd))
    out["spec"]["algorithm"] = {"algorithmName": name, "algorithmSettings": [
        {"name": k, "value": v} for k, v in (settings or {}).items()]}
    if exp_name:
        out["metadata"]["name"] = exp_name
    return out


class KatibSim:
    """Trials of one Experiment plus the calls Katib makes."""

    def __init__(self, channel: grpc.Channel, crd: Mapping[str, Any]) -> None:
        self.stub = pb_grpc.SuggestionStub(channel)
        self.experiment = experiment_message(crd)
        self.trials: dict[str, pb.Trial] = {}
        self.order: list[str] = []
        self.clock = 0

    def request(self, n: int) -> pb.GetSuggestionsRequest:
        return pb.GetSuggestionsRequest(experiment=self.experiment, current_request_number=n,
                                        total_request_number=len(self.trials) + n,
                                        trials=[self.trials[t] for t in self.order])

    def call(self, n: int, create: bool = True, timeout: float = 60) -> pb.GetSuggestionsReply:
        """One ``GetSuggestions`` call (Katib's deadline is 60 s) that creates the trials."""
        reply = self.stub.GetSuggestions(self.request(n), timeout=timeout)
        if create:
            for pa in reply.parameter_assignments:
                self._create(pa)
        return reply

    def validate(self) -> None:
        self.stub.ValidateAlgorithmSettings(
            pb.ValidateAlgorithmSettingsRequest(experiment=self.experiment), timeout=60)

    def _create(self, pa: pb.GetSuggestionsReply.ParameterAssignments) -> str:
        name = pa.trial_name or f"{self.experiment.name}-t{len(self.order):04d}"
        assert name not in self.trials, f"duplicate trial name {name}"
        spec = pb.TrialSpec(parameter_assignments=pb.TrialSpec.ParameterAssignments(
            assignments=list(pa.assignments)), objective=self.experiment.spec.objective)
        self.trials[name] = pb.Trial(name=name, spec=spec, status=pb.TrialStatus(condition=C.RUNNING))
        self.order.append(name)
        return name

    def finish(self, name: str, condition: int, value: str | None = None) -> None:
        self.clock += 1
        status = self.trials[name].status
        status.condition = condition
        status.completion_time = f"2026-01-01T00:{self.clock // 60:02d}:{self.clock % 60:02d}Z"
        if value is not None:
            metric = self.experiment.spec.objective.objective_metric_name
            status.observation.metrics.append(pb.Metric(name=metric, value=value))

    def running(self) -> list[str]:
        return [t for t in self.order if self.trials[t].status.condition == C.RUNNING]
