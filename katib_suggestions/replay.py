"""Rebuild an algorithm from its saved state: load the snapshot, replay the log (``state.py``).

Each logged call is replayed with ``KatibAlgorithm.replay_record``; where the call produced a
reply, the replayed suggestions must equal the logged ones, so a log that does not belong to the
snapshot (or code that no longer draws the same suggestions from the same state) is refused
(``ReplayError``: the service treats the state as corrupt) rather than silently continued.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from kubeflow.katib import katib_api_pb2 as pb

from katib_suggestions.algorithms import ALGORITHMS, KatibAlgorithm


class ReplayError(Exception):
    """The log does not replay to what it recorded."""


def restore(algo: KatibAlgorithm, doc: dict[str, Any]) -> dict[str, Any] | None:
    """Bring ``algo`` to the state of ``doc`` (``StateStore.read``); returns the last reply."""
    algo.load_state_dict(doc["state"])
    reply = doc["reply"]
    for i, rec in enumerate(doc["log"]):
        produced = algo.replay_record(rec["step"])
        logged = [s["assignments"] for s in rec["reply"]["suggestions"]] if rec["fresh"] else None
        if logged is not None and produced is not None and produced != logged:
            raise ReplayError(f"log record {i} replays to other suggestions than it logged")
        reply = rec["reply"]
    algo.dirty = False
    return reply


def saved_state(doc: dict[str, Any], state_dir: Path) -> dict[str, Any]:
    """The ``state_dict`` that ``doc`` (snapshot and log) restores to."""
    experiment = pb.Experiment.FromString(doc["experiment"])
    algo = ALGORITHMS.create(doc["identity"]["algorithm"], experiment=experiment, state_dir=state_dir)
    restore(algo, doc)
    return algo.state_dict()
