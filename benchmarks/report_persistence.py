"""BENCHMARKS.md section 5c: CPU per persisted event of the NNI tuner (``nni_persistence.py``)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

GOAL_MS = 5.0  # issue 13 goal 4: < 5 ms of CPU per persisted event at 10,000 trials


def nni_persistence(docs: list[dict[str, Any]], prov: Callable[[dict[str, Any]], str]) -> str:
    """One row per run (newest per tag), with its provenance under the table."""
    rows, provs = [], []
    for doc in docs:
        for r in doc["results"]:
            rows.append(_row(r, doc["machine"].get("git", "?")))
        provs.append(prov(doc))
    head = ("CPU per `TunerState.persist` call (one per `generate_parameters`, one per result) of "
            "the supernas REINFORCE tuner on the NB201 space, over the last 100 trials' events "
            f"and over the whole run; goal < {GOAL_MS:g} ms at 10,000 trials.\n\n")
    cols = ["code", "history built by", "trials", "median CPU ms (last 100)", "mean", "p99", "max",
            "mean over run", "compactions", "state bytes", "resume load CPU s",
            "resume identical", f"goal < {GOAL_MS:g} ms (median, mean)"]
    return head + _table(cols, rows) + "\n" + "\n\n".join(provs) + "\n"


def _row(r: dict[str, Any], code: str) -> list[str]:
    last, run = r["last_window_cpu_ms"], r["run_cpu_ms"]
    met = "met" if last["median"] < GOAL_MS and last["mean"] < GOAL_MS else "**not met**"
    return [code.split(" ")[0], r["history"], f"{r['trials']:,}", f"{last['median']:.2f}",
            f"{last['mean']:.2f}", f"{last['p99']:.2f}", f"{last['max']:.1f}",
            f"{run['mean']:.2f}", str(r.get("compactions")), f"{r['state_bytes']:,}",
            f"{r['resume_load_cpu_s']:.2f}", "yes" if r["resume_identical"] else "**no**", met]


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows]) + "\n"
