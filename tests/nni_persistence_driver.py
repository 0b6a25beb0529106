"""Helpers (no tests) for tests/test_nni_persistence.py: one fixed script of NNI tuner events, and
a process that runs it from a given event, resuming the tuner's saved state first.

    python tests/nni_persistence_driver.py STATE_DIR START_EVENT TRIALS

prints one line per event done (``<index>`` or ``<index> <parameters JSON>``), flushed, so the
test can kill it at chosen points. State is compacted often (``LOG_OPTIONS``) so that kills land
in compactions as well as in appended records.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

#: an NNI search space of 6 edges x 5 ops (NAS-Bench-201's shape, 15,625 architectures)
OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
SPACE = {f"e{i}": {"_type": "choice", "_value": OPS} for i in range(6)}
TUNER_ARGS = {"seed": 7, "batch_size": 2, "hidden_size": 16}  # a small controller: quick
FREQUENT_COMPACTION = {"compact_ratio": 0.5, "min_log_bytes": 0}

Event = tuple[str, int]


def events(trials: int) -> list[Event]:
    """Every trial: parameters, then its result and its end; every 7th ends before its result
    (a provisional failure, replaced in the history when the result comes)."""
    out: list[Event] = []
    for pid in range(trials):
        out.append(("gen", pid))
        out += [("end", pid), ("res", pid)] if pid % 7 == 3 else [("res", pid), ("end", pid)]
    return out


def value(pid: int) -> Any:
    """The final result of trial ``pid`` (every 11th is NaN: a failure)."""
    return float("nan") if pid % 11 == 5 else {"default": (pid * 7919 % 1000) / 1000}


def make_tuner(state_dir: str) -> tuple[Any, dict[int, Any]]:
    """A supernas ENAS tuner resumed as ``nnictl resume`` starts it (fresh if nothing saved),
    and the parameters of the trials in flight when the last one stopped. The tuner does not
    restore its in-flight set (NNI re-runs those trials and sends their results as imported
    data); here they are put back from the saved state, as if the same trials had kept running,
    so that the whole continuation can be compared with an uninterrupted run."""
    from nni_plugins import SupernasEnas
    from nni_plugins.state import load_state

    tuner = SupernasEnas(state_dir=state_dir, **TUNER_ARGS)
    tuner.load_checkpoint()
    tuner.update_search_space(SPACE)
    saved = load_state(Path(state_dir)) or {}
    tuner.state.pending = {int(pid): dict(c) for pid, c in saved.get("pending", {}).items()}
    return tuner, {pid: tuner.state.params_of(c) for pid, c in tuner.state.pending.items()}


def run_event(tuner: Any, event: Event, params_of: dict[int, Any]) -> Any:
    """Do ``event``; the parameters for a ``gen`` event (also kept in ``params_of``), else None."""
    kind, pid = event
    if kind == "gen":
        params_of[pid] = tuner.generate_parameters(pid)
        return params_of[pid]
    if kind == "res":
        tuner.receive_trial_result(pid, params_of.get(pid), value(pid))
    else:
        tuner.trial_end(pid, True)
    return None


def main(argv: list[str]) -> None:
    from nni_plugins import state

    state.LOG_OPTIONS.update(FREQUENT_COMPACTION)
    state_dir, start, trials = argv[0], int(argv[1]), int(argv[2])
    tuner, params_of = make_tuner(state_dir)
    print("ready", flush=True)
    for index, event in enumerate(events(trials)[start:], start):
        params = run_event(tuner, event, params_of)
        print(index if params is None else f"{index} {json.dumps(params)}", flush=True)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main(sys.argv[1:])
