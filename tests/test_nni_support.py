"""Helpers (no tests) for end-to-end tests that run real ``nnictl`` experiments (local training service).

Every experiment gets a free port, a temporary ``experimentWorkingDirectory`` and a private
``NNI_CONFIG_DIR`` (so ``nnictl algo register`` does not touch the shared venv); the
``NniRunner.stop_all`` finaliser stops whatever a test started, even when it fails.
"""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DONE_STATES = ("DONE", "ERROR", "STOPPED")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class NniRunner:
    """Creates, waits for, inspects and stops ``nnictl`` experiments under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
                    "NNI_CONFIG_DIR": str(root / "nni-config"), "PYTHONUNBUFFERED": "1"}
        self.started: list[str] = []

    def nnictl(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        proc = subprocess.run([str(BIN / "nnictl"), *args], check=False, env=self.env, cwd=self.root,
                              capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"nnictl {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def write_config(self, name: str, config: dict[str, Any]) -> Path:
        config = {**config, "experimentWorkingDirectory": str(self.root / "experiments")}
        path = self.root / f"{name}.yml"
        path.write_text(yaml.safe_dump(config))
        return path

    def create(self, config_path: Path, attempts: int = 4) -> tuple[str, int]:
        """``nnictl create``; retried when NNI's manager gave up on a dispatcher that was slow to
        start (its fixed 10 s deadline is missed on an overloaded machine, nothing to do with
        the tuner), which is recognised by NNI's own message in ``nnimanager.log``."""
        for _ in range(attempts - 1):
            exp_id, port = self._create_once(config_path)
            if not self._missed_connect_deadline(exp_id, port):
                return exp_id, port
            self.stop(exp_id)
        return self._create_once(config_path)

    def _missed_connect_deadline(self, exp_id: str, port: int) -> bool:
        deadline = time.time() + 15
        while time.time() < deadline:
            if "Tuner did not connect in 10 seconds" in self.log(exp_id, "nnimanager.log"):
                return True
            if "Dispatcher started" in self.log(exp_id):
                return False
            time.sleep(0.5)
        return False

    def _create_once(self, config_path: Path) -> tuple[str, int]:
        port = free_port()
        proc = self.nnictl("create", "--config", str(config_path), "--port", str(port))
        match = re.search(r"Experiment ID: (?:\x1b\[\d+m)?(\w+)", proc.stdout + proc.stderr)
        assert match, f"no experiment id in nnictl output:\n{proc.stdout}\n{proc.stderr}"
        self.started.append(match.group(1))
        return match.group(1), port

    def resume(self, exp_id: str) -> int:
        port = free_port()
        self.nnictl("resume", exp_id, "--port", str(port),
                    "--experiment_dir", str(self.root / "experiments"))
        return port

    def stop(self, exp_id: str) -> None:
        self.nnictl("stop", exp_id, check=False, timeout=60)

    def stop_all(self) -> None:
        while self.started:
            self.stop(self.started.pop())

    def exp_dir(self, exp_id: str) -> Path:
        return self.root / "experiments" / exp_id

    def log(self, exp_id: str, name: str = "dispatcher.log") -> str:
        path = self.exp_dir(exp_id) / "log" / name
        return path.read_text() if path.is_file() else ""


def rest(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/nni/{path}", timeout=10) as r:
        return json.loads(r.read())


def wait_status(port: int, states: tuple[str, ...] = DONE_STATES, timeout: float = 300,
                min_trials: int = 0) -> str:
    """Poll until the experiment reaches one of ``states`` (and ``min_trials`` trials ended)."""
    deadline = time.time() + timeout
    status = "?"
    while time.time() < deadline:
        status = rest(port, "check-status")["status"]
        ended = [t for t in trials(port) if t["status"] in ("SUCCEEDED", "FAILED")]
        if status in states and len(ended) >= min_trials:
            return status
        time.sleep(1.5)
    raise AssertionError(f"experiment on port {port} still {status} after {timeout}s")


def trials(port: int) -> list[dict[str, Any]]:
    return list(rest(port, "trial-jobs"))


def final_metric(trial: dict[str, Any]) -> dict[str, Any] | None:
    """The final result dict a trial reported (NNI stores it as a JSON string, twice encoded)."""
    for item in trial.get("finalMetricData") or []:
        data = json.loads(item["data"])
        return json.loads(data) if isinstance(data, str) else data
    return None


def read_state(runner: NniRunner, exp_id: str) -> dict[str, Any]:
    return json.loads((runner.exp_dir(exp_id) / "checkpoint" / "supernas_tuner.json").read_text())
