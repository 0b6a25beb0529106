"""Test helper (no tests): an NNI trial command channel that needs no ``nnictl``.

NNI's trial runtime imports it when ``NNI_TRIAL_COMMAND_CHANNEL=import://nni_fake_channel.FileChannel``
(with ``tests/`` on ``PYTHONPATH``). Each parameter request is answered with the JSON in
``$FAKE_NNI_DIR/parameters.json``; every request and metric is appended as one JSON line to
``$FAKE_NNI_DIR/log.jsonl``, so a test can count what each process asked and sent.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from nni.runtime.trial_command_channel import TrialCommandChannel

ENV_DIR = "FAKE_NNI_DIR"


class FileChannel(TrialCommandChannel):
    """Parameters from a file, requests and metrics to a log (see module docstring)."""

    def __init__(self) -> None:
        self.dir = Path(os.environ[ENV_DIR])

    def receive_parameter(self) -> Any:
        self._log({"type": "request_parameter", "pid": os.getpid()})
        params = json.loads((self.dir / "parameters.json").read_text())
        return {"parameter_id": 0, "parameter_source": "algorithm", "parameters": params,
                "parameter_index": 0}

    def send_metric(self, type: str, parameter_id: int | None, trial_job_id: str, sequence: int,
                    value: Any) -> None:
        self._log({"type": type, "value": json.loads(value) if isinstance(value, str) else value,
                   "pid": os.getpid()})

    def _log(self, record: dict[str, Any]) -> None:
        with open(self.dir / "log.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")


def read_log(directory: Path) -> list[dict[str, Any]]:
    path = directory / "log.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.is_file() else []


def trial_env(directory: Path, params: Any, repo: Path) -> dict[str, str]:
    """The environment of an NNI trial served by ``FileChannel`` from ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "parameters.json").write_text(json.dumps(params))
    tests = Path(__file__).resolve().parent
    return {**os.environ, "NNI_PLATFORM": "local", "NNI_TRIAL_JOB_ID": "fake", "NNI_EXP_ID": "fake",
            "NNI_TRIAL_COMMAND_CHANNEL": "import://nni_fake_channel.FileChannel",
            ENV_DIR: str(directory), "PYTHONPATH": os.pathsep.join([str(tests), str(repo)]),
            "OMP_NUM_THREADS": "1"}
