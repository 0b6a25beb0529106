"""Read the trials Katib sends with every ``GetSuggestions`` call.

Katib sends *all* trials of the Experiment each time (created, running, finished), so the service
only acts on finished ones it has not seen: ``finished_trials`` returns them in a stable order
(completion time, then name) with the reward credited to the assignments the trial actually ran.
A value that is not a finite number counts as a failure; absurdly large ones are clipped.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass

from kubeflow.katib import katib_api_pb2 as pb

Condition = pb.TrialStatus.TrialConditionType
#: Conditions after which a trial never changes again.
FINISHED = {Condition.SUCCEEDED, Condition.FAILED, Condition.KILLED, Condition.METRICSUNAVAILABLE,
            Condition.EARLYSTOPPED}
#: Conditions whose observation may carry a usable objective value.
WITH_METRICS = {Condition.SUCCEEDED, Condition.EARLYSTOPPED}
#: Objective values are clipped to +-MAX_REWARD: then sums of squares over a million rewards (the
#: z-score normalisation of ``supernas.strategies.enas``) stay finite in float64.
MAX_REWARD = 1e150


@dataclass(frozen=True)
class FinishedTrial:
    """A finished trial: its name, assignments (name -> raw value) and reward (None = failed)."""

    name: str
    assignments: dict[str, str]
    reward: float | None


def objective_reward(trial: pb.Trial, metric: str, minimize: bool) -> float | None:
    """The objective value as a reward to maximise, or None when there is none."""
    if trial.status.condition not in WITH_METRICS:
        return None
    for m in trial.status.observation.metrics:
        if m.name == metric:
            try:
                value = float(m.value)
            except ValueError:  # Katib writes "unavailable" when no value was reported
                return None
            if not math.isfinite(value):
                return None
            value = min(max(value, -MAX_REWARD), MAX_REWARD)
            return -value if minimize else value
    return None


_names = threading.local()  # per gRPC worker thread: (last request, its trial names)


def trial_names(request: pb.GetSuggestionsRequest) -> list[str]:
    """The names of ``request``'s trials, in order; read once per request (per thread): with
    10,000 trials every walk over the decoded trials from Python costs milliseconds, so the
    checks, the retry key and the search for new finished trials share this one list."""
    last = getattr(_names, "last", None)
    if last is None or last[0] is not request:
        last = _names.last = (request, [t.name for t in request.trials])
    return last[1]


def finished_trials(request: pb.GetSuggestionsRequest, seen: set[str] | dict) -> list[FinishedTrial]:
    """Finished trials of ``request`` not in ``seen``, ordered by completion time then name.
    Only trials not in ``seen`` are read beyond their name (a few per call in steady state)."""
    spec = request.experiment.spec
    metric = spec.objective.objective_metric_name
    minimize = spec.objective.type == pb.MINIMIZE
    trials = request.trials
    unseen = [trials[i] for i, name in enumerate(trial_names(request)) if name not in seen]
    new = [t for t in unseen if t.status.condition in FINISHED]
    new.sort(key=lambda t: (t.status.completion_time, t.name))
    return [FinishedTrial(t.name, assignments_of(t), objective_reward(t, metric, minimize)) for t in new]


def assignments_of(trial: pb.Trial) -> dict[str, str]:
    return {a.name: a.value for a in trial.spec.parameter_assignments.assignments}
