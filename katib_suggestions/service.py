"""The ``api.v1.beta1.Suggestion`` servicer: convert the request, delegate, convert back.

One process serves every algorithm name in ``ALGORITHMS`` (or only those given with
``--algorithm``). Per (experiment, algorithm) it keeps one algorithm instance in memory, restores
it from the state directory after a restart (snapshot plus replayed log, ``replay.py``), and
before each reply that changed it appends a record of the call to the log, compacting every
``state.COMPACT_EVERY`` records (``state.py``; a repeated call with nothing new writes nothing).

Calls are serialised per experiment (one lock each): a long replay for one experiment does not
hold up another; Katib sends one call at a time per Suggestion anyway.

Retries (``protocol.request_key``): the state holds the last non-empty reply and the key of the
request it answered, written before the reply is sent. A request with the same key (Katib
re-sending after a failed status update, or after the service was killed) gets that reply again
and changes nothing; trials that finished in between are observed by the next new request.
Together with the crash-safe state write (a torn log record is cut off on restart, a snapshot is
renamed into place) this makes a killed and restarted service answer exactly like one that never
stopped: killed before or during the write, the retry recomputes the same reply from the
previous state; killed after it, the retry gets the saved reply.

Unusable state (``state.StateError``: corrupt, truncated, empty, of another shape, a directory in
its place) and foreign state (saved for another nasConfig, algorithm, settings or objective, e.g.
an earlier experiment of the same name) are moved aside, log included, as
``<file>.corrupt-<time>`` / ``<file>.foreign-<time>`` with a warning, and the experiment starts afresh: Katib sends every
trial with every request, so the finished ones are replayed into the new state. A state that
does not fit the algorithm (``load_state_dict`` or the log replay fails) is treated as corrupt. The NNI tuners
also start afresh with a warning.

Errors: a request or experiment the service cannot act on is ``INVALID_ARGUMENT`` naming the
field; an unexpected error is ``INTERNAL`` (traceback in the log), and the instance is dropped so
the next call starts from the last saved state: a call that failed half-way leaves no trace.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from kubeflow.katib import katib_api_pb2 as pb
from kubeflow.katib import katib_api_pb2_grpc as pb_grpc

from katib_suggestions.algorithms import ALGORITHMS, KatibAlgorithm, Suggestion
from katib_suggestions.protocol import check_request, request_key, spec_digest
from katib_suggestions.replay import restore
from katib_suggestions.state import COMPACT_EVERY, StateError, StateStore, document
from supernas.errors import SupernasError, bad_value

log = logging.getLogger(__name__)
AFRESH = "starting afresh (Katib re-sends every trial, so the finished ones are replayed)"


@dataclass
class Instance:
    """One experiment's algorithm, what its state is keyed by, and its last reply."""

    algo: KatibAlgorithm
    name: str
    identity: dict[str, Any]
    reply: dict[str, Any] | None = None
    spec: str = ""  # spec_digest of the experiment it was built from

    def cached(self, key: str) -> list[Suggestion] | None:
        if self.reply is None or self.reply["key"] != key:
            return None
        return [Suggestion.from_plain(s) for s in self.reply["suggestions"]]


class SuggestionService(pb_grpc.SuggestionServicer):
    """Katib Suggestion API over the registered algorithms."""

    def __init__(self, state_dir: str | Path, algorithms: Iterable[str] | None = None,
                 compact_every: int = COMPACT_EVERY) -> None:
        self.store = StateStore(state_dir, compact_every)
        self.allowed = sorted(algorithms) if algorithms else ALGORITHMS.names()
        for name in self.allowed:
            ALGORITHMS.get(name)  # fail at start on a typo
        self.instances: dict[tuple[str, str], Instance] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()
        self.unsaved: set[tuple[str, str]] = set()

    def ValidateAlgorithmSettings(self, request: pb.ValidateAlgorithmSettingsRequest,
                                  context: grpc.ServicerContext) -> pb.ValidateAlgorithmSettingsReply:
        try:
            self._create(request.experiment)
        except SupernasError as exc:
            log.info("invalid experiment %r: %s", request.experiment.name[:80], exc)
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        return pb.ValidateAlgorithmSettingsReply()

    def GetSuggestions(self, request: pb.GetSuggestionsRequest,
                       context: grpc.ServicerContext) -> pb.GetSuggestionsReply:
        try:
            check_request(request)
            with self._lock(request.experiment.name):
                suggestions = self._suggest(request)
                _settle_garbage()
        except SupernasError as exc:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))
        except Exception as exc:
            log.exception("experiment %s: GetSuggestions failed", request.experiment.name)
            context.abort(grpc.StatusCode.INTERNAL, f"supernas suggestion service: {type(exc).__name__} "
                          f"for experiment {request.experiment.name} (traceback in the service log); "
                          "the next call starts again from the last saved state")
        return pb.GetSuggestionsReply(parameter_assignments=[s.to_pb() for s in suggestions])

    def _lock(self, experiment: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(experiment, threading.Lock())

    def _suggest(self, request: pb.GetSuggestionsRequest) -> list[Suggestion]:
        """Under the experiment's lock: the saved reply for a retry, else a new one, saved."""
        key = request_key(request)
        slot = (request.experiment.name, self._algorithm_name(request.experiment))
        inst = self._instance(request.experiment)
        again = inst.cached(key)
        if again is not None:
            log.info("experiment %s: repeated request %s, same reply", slot[0], key)
            return again
        try:
            suggestions = inst.algo.get_suggestions(request)
            if len(suggestions) != request.current_request_number:  # a broken algorithm
                raise RuntimeError(f"{len(suggestions)} suggestions for current_request_number="
                                   f"{request.current_request_number}")
        except BaseException:
            del self.instances[slot]  # half-applied: the next call restores the saved state
            raise
        if suggestions:
            inst.reply = {"key": key, "suggestions": [s.to_plain() for s in suggestions]}
            inst.algo.dirty = True
        self._save(slot, inst, request.experiment, fresh=bool(suggestions))
        return suggestions

    def _save(self, slot: tuple[str, str], inst: Instance, experiment: pb.Experiment,
              fresh: bool) -> None:
        """Persist (a log record, or a compaction: ``state.py``); without a writable volume (no
        ``resumePolicy: FromVolume`` and a read-only root filesystem, or a full disk) keep going
        with in-memory state and say so once."""
        if not inst.algo.dirty:
            return
        record = {"step": inst.algo.log_record(), "fresh": fresh, "reply": inst.reply}
        try:
            self.store.commit(*slot, record, lambda: document(
                inst.identity, experiment.SerializeToString(deterministic=True),
                inst.algo.state_dict(), inst.reply))
            inst.algo.dirty = False
            self.unsaved.discard(slot)
        except OSError as exc:
            if slot not in self.unsaved:
                log.warning("experiment %s: cannot write state to %s (%s); state is in memory only "
                            "and a restart loses it (use resumePolicy: FromVolume)",
                            slot[0], self.store.root, exc)
            self.unsaved.add(slot)

    def _algorithm_name(self, experiment: pb.Experiment) -> str:
        name = experiment.spec.algorithm.algorithm_name
        if name not in self.allowed:
            raise bad_value("algorithm.algorithmName", name, ", ".join(self.allowed))
        return name

    def _create(self, experiment: pb.Experiment) -> KatibAlgorithm:
        name = self._algorithm_name(experiment)
        return ALGORITHMS.create(name, experiment=experiment, state_dir=self.store.root)

    def _instance(self, experiment: pb.Experiment) -> Instance:
        slot, spec = (experiment.name, self._algorithm_name(experiment)), spec_digest(experiment)
        cached = self.instances.get(slot)
        if cached is not None and cached.spec != spec:
            log.warning("experiment %s: its spec changed; rebuilding the algorithm (a saved state "
                        "of another space or settings is moved aside)", slot[0])
            cached = None
        if cached is None:
            cached = self.instances[slot] = self._restore(experiment, slot[1])
            cached.spec = spec
        return cached

    def _restore(self, experiment: pb.Experiment, name: str) -> Instance:
        """A new instance, with the saved state when there is a usable one for this experiment."""
        algo = self._create(experiment)
        inst = Instance(algo, name, {"algorithm": name, **algo.identity()})
        try:
            saved = self.store.read(experiment.name, name)
        except StateError as exc:
            self._set_aside(experiment.name, name, "corrupt", str(exc))
            return inst
        if saved is None:
            return inst
        if saved["identity"] != inst.identity:
            ours, theirs = inst.identity, saved["identity"]
            differs = sorted(k for k in set(ours) | set(theirs) if ours.get(k) != theirs.get(k))
            self._set_aside(experiment.name, name, "foreign", "it was saved for another experiment "
                            f"of this name (different {', '.join(differs)})")
            return inst
        try:
            inst.reply = restore(algo, saved)
        except Exception as exc:  # noqa: BLE001 - any failure means the state does not fit
            self._set_aside(experiment.name, name, "corrupt", f"its state does not fit {name} "
                            f"({type(exc).__name__}: {exc})")
            return Instance(self._create(experiment), name, inst.identity)
        log.info("experiment %s: resumed %s from %s", experiment.name, name,
                 self.store.path(experiment.name, name))
        return inst

    def _set_aside(self, experiment: str, name: str, tag: str, why: str) -> None:
        path = self.store.path(experiment, name)
        try:
            moved = self.store.set_aside(experiment, name, tag)
        except OSError as exc:
            log.warning("experiment %s: state file %s not used: %s; cannot move it aside (%s); %s",
                        experiment, path, why, exc, AFRESH)
            return
        log.warning("experiment %s: state file %s not used: %s; moved to %s; %s",
                    experiment, path, why, moved.name, AFRESH)


def _settle_garbage() -> None:
    """Collect this call's young garbage, then freeze the survivors (module docstring)."""
    gc.collect(1)
    gc.freeze()
