"""Helpers shared by the benchmark scripts: where results go, machine facts, JSON output."""
from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import shlex
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS = BENCH_DIR / "results"
SHARED = Path(os.environ.get("SUPERNAS_SHARED", REPO.parent / "shared"))


def cpu_model() -> str:
    """The CPU model name from ``/proc/cpuinfo`` (falls back to ``platform.processor()``)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(module: str) -> str | None:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:  # noqa: BLE001 - a missing package is simply reported as None
        return None


def machine() -> dict[str, Any]:
    """Facts a reader needs to compare figures: CPU, cores, library versions, date."""
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": _torch_threads(),
        "python": platform.python_version(),
        "torch": _version("torch"),
        "nni": _version("nni"),
        "pytorch_lightning": _version("pytorch-lightning"),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "git": git_state(),
    }


def git_state() -> str:
    """``HEAD`` commit, plus the code paths with uncommitted changes (results of a dirty tree
    measure code that is in no commit)."""
    import subprocess

    def git(*args: str) -> str:
        out = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return out.stdout

    head = git("rev-parse", "--short", "HEAD").strip() or "unknown"
    dirty = git("status", "--porcelain", "--", "supernas", "nni_plugins", "benchmarks/*.py")
    paths = sorted({line[3:] for line in dirty.splitlines() if len(line) > 3})
    return head + (f" + uncommitted changes in {', '.join(paths)}" if paths else "")


def _torch_threads() -> int | None:
    if "torch" not in sys.modules:
        return None
    return int(sys.modules["torch"].get_num_threads())


def command_line(argv: Sequence[str] | None = None) -> str:
    """The command that produced a result, as a reader would type it from the repository root."""
    args = list(sys.argv[1:] if argv is None else argv)
    script = Path(sys.argv[0]).resolve()
    try:
        script_s = str(script.relative_to(REPO))
    except ValueError:
        script_s = str(script)
    return portable_command(" ".join([".venv/bin/python", shlex.quote(script_s), *map(shlex.quote, args)]))


MACHINE_OPTIONS = ("--out", "--shared")  # where files went or came from on one machine


def portable_command(command: str) -> str:
    """``command`` without ``--out DIR`` / ``--shared DIR``: machine paths whose defaults (the
    repository's results folder, ``../shared``) reproduce the run from a fresh clone."""
    words, out = shlex.split(command), []
    skip = False
    for word in words:
        if skip:
            skip = False
        elif word in MACHINE_OPTIONS:
            skip = True
        elif not word.startswith(tuple(f"{o}=" for o in MACHINE_OPTIONS)):
            out.append(word)
    return " ".join(map(shlex.quote, out))


def mean_std(values: Sequence[float]) -> dict[str, float]:
    """Mean, sample standard deviation and count (std 0 for a single value)."""
    vals = [float(v) for v in values]
    std = statistics.stdev(vals) if len(vals) > 1 else 0.0
    return {"mean": statistics.fmean(vals) if vals else float("nan"), "std": std, "n": len(vals)}


def write_result(name: str, payload: dict[str, Any], out_dir: Path | None = None,
                 argv: Sequence[str] | None = None) -> Path:
    """Write ``payload`` with the command and machine to ``<out_dir>/<name>.json``."""
    out = Path(out_dir) if out_dir is not None else RESULTS
    out.mkdir(parents=True, exist_ok=True)
    doc = {"benchmark": name, "command": command_line(argv), "machine": machine(), **payload}
    path = out / f"{name}.json"
    path.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n")
    return path
