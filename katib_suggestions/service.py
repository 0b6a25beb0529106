"""The ``api.v1.beta1.Suggestion`` servicer: convert the request, delegate, convert back.

One process serves every algorithm name in ``ALGORITHMS`` (or only those given with
``--algorithm``). Per (experiment, algorithm) it keeps one algorithm instance in memory, restores
it from the state directory after a restart, and saves its state atomically before each reply
that changed it (a repeated call with nothing new writes nothing).
Calls are serialised per experiment; Katib sends one call at a time per Suggestion anyway.

Garbage-collector pauses: the histories the service keeps grow by a few objects per trial, and a
full (oldest-generation) collection scans all of them, so its pause grows with the history
(~200 ms at 7 experiments x 1,000 trials) and lands on whichever call triggers it. After each call
the young generations are collected (cheap: only that call's objects) and everything still alive
is frozen (``gc.freeze``: kept out of later scans, still freed by reference counting), so no
call pays for the whole history. What is frozen is the long-lived state; the only cost is that a
reference cycle that becomes garbage later is not reclaimed.
"""
from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Iterable
from pathlib import Path

import grpc
from kubeflow.katib import katib_api_pb2 as pb
from kubeflow.katib import katib_api_pb2_grpc as pb_grpc

from katib_suggestions.algorithms import ALGORITHMS, KatibAlgorithm
from katib_suggestions.state import StateStore
from supernas.errors import SupernasError, bad_value

log = logging.getLogger(__name__)


class SuggestionService(pb_grpc.SuggestionServicer):
    """Katib Suggestion API over the registered algorithms."""

    def __init__(self, state_dir: str | Path, algorithms: Iterable[str] | None = None) -> None:
        self.store = StateStore(state_dir)
        self.allowed = sorted(algorithms) if algorithms else ALGORITHMS.names()
        for name in self.allowed:
            ALGORITHMS.get(name)  # fail at start on a typo
        self.instances: dict[tuple[str, str], KatibAlgorithm] = {}
        self.lock = threading.Lock()
        self.unsaved: set[tuple[str, str]] = set()

    def ValidateAlgorithmSettings(self, request: pb.ValidateAlgorithmSettingsRequest,
                                  context: grpc.ServicerContext) -> pb.ValidateAlgorithmSettingsReply:
        try:
            self._create(request.experiment)
        except SupernasError as exc:
            log.info("invalid experiment %s: %s", request.experiment.name, exc)
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        return pb.ValidateAlgorithmSettingsReply()

    def GetSuggestions(self, request: pb.GetSuggestionsRequest,
                       context: grpc.ServicerContext) -> pb.GetSuggestionsReply:
        try:
            with self.lock:
                algo, name = self._instance(request.experiment)
                suggestions = algo.get_suggestions(request)
                self._save(request.experiment.name, name, algo)
                _settle_garbage()
        except SupernasError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        if len(suggestions) != request.current_request_number:  # a broken algorithm, never Katib
            context.abort(grpc.StatusCode.INTERNAL, f"{len(suggestions)} suggestions for "
                          f"current_request_number={request.current_request_number}")
        return pb.GetSuggestionsReply(parameter_assignments=[s.to_pb() for s in suggestions])

    def _save(self, experiment: str, name: str, algo: KatibAlgorithm) -> None:
        """Persist; without a writable volume (no ``resumePolicy: FromVolume`` and a read-only root
        filesystem) keep going with in-memory state and say so once."""
        if not algo.dirty:
            return
        try:
            self.store.save(experiment, name, algo.state_dict())
            algo.dirty = False
        except OSError as exc:
            if (experiment, name) not in self.unsaved:
                log.warning("experiment %s: cannot write state to %s (%s); state is in memory only "
                            "and a restart loses it (use resumePolicy: FromVolume)",
                            experiment, self.store.root, exc)
            self.unsaved.add((experiment, name))

    def _algorithm_name(self, experiment: pb.Experiment) -> str:
        name = experiment.spec.algorithm.algorithm_name
        if name not in self.allowed:
            raise bad_value("algorithm.algorithmName", name, ", ".join(self.allowed))
        return name

    def _create(self, experiment: pb.Experiment) -> KatibAlgorithm:
        name = self._algorithm_name(experiment)
        return ALGORITHMS.create(name, experiment=experiment, state_dir=self.store.root)

    def _instance(self, experiment: pb.Experiment) -> tuple[KatibAlgorithm, str]:
        name = self._algorithm_name(experiment)
        key = (experiment.name, name)
        if key not in self.instances:
            algo = self._create(experiment)
            saved = self.store.load(experiment.name, name)
            if saved is not None:
                algo.load_state_dict(saved)
                log.info("experiment %s: resumed %s from %s", experiment.name, name,
                         self.store.path(experiment.name, name))
            self.instances[key] = algo
        return self.instances[key], name


def _settle_garbage() -> None:
    """Collect this call's young garbage, then freeze the survivors (module docstring)."""
    gc.collect(1)
    gc.freeze()
