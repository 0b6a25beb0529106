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
#: NNI 3.0 stays in TUNER_NO_MORE_TRIAL (never DONE) after a tuner ran out of trials before
#: maxTrialNumber; with no trial left running that is a finished experiment.
FINISHED = (*DONE_STATES, "TUNER_NO_MORE_TRIAL")


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

    def create(self, config_path: Path, attempts: int = 4, tuner_starts: bool = True) -> tuple[str, int]:
        """``nnictl create``, retried when NNI itself gave up on a slow start: its web server
        (nnictl polls it a few seconds) or its dispatcher (a fixed 10 s connect deadline) not up
        in time on an overloaded machine. Both are recognised by NNI's own messages; anything
        else fails the test at once. ``tuner_starts=False``: a tuner expected to fail at start."""
        output = ""
        for _ in range(attempts):
            port = free_port()
            proc = self.nnictl("create", "--config", str(config_path), "--port", str(port), check=False)
            output = proc.stdout + proc.stderr
            match = re.search(r"Experiment ID: (?:\x1b\[\d+m)?(\w+)", output)
            if match:
                self.started.append(match.group(1))
            if proc.returncode != 0 and "Timeout, retry" not in output:
                break
            if proc.returncode == 0 and match and not (
                    tuner_starts and self._missed_connect_deadline(match.group(1))):
                return match.group(1), port
            if match:
                self.stop(self.started.pop())
        raise AssertionError(f"nnictl create {config_path} failed:\n{output}")

    def _missed_connect_deadline(self, exp_id: str) -> bool:
        deadline = time.time() + 90
        while time.time() < deadline:
            if "Tuner did not connect in 10 seconds" in self.log(exp_id, "nnimanager.log"):
                return True
            if "Dispatcher started" in self.log(exp_id):
                return False
            time.sleep(0.5)
        return True

    def resume(self, exp_id: str, attempts: int = 4) -> int:
        """``nnictl resume``, retried on NNI's slow-start failures like ``create``."""
        for _ in range(attempts):
            port = free_port()
            started = self.log(exp_id).count("Dispatcher started")
            missed = self.log(exp_id, "nnimanager.log").count("Tuner did not connect")
            proc = self.nnictl("resume", exp_id, "--port", str(port),
                               "--experiment_dir", str(self.root / "experiments"), check=False)
            self.started.append(exp_id)
            if proc.returncode == 0 and self._connected(exp_id, started, missed):
                return port
            self.stop(self.started.pop())
        raise AssertionError(f"nnictl resume {exp_id} failed:\n{proc.stdout}\n{proc.stderr}")

    def _connected(self, exp_id: str, started: int, missed: int) -> bool:
        deadline = time.time() + 90
        while time.time() < deadline:
            if self.log(exp_id, "nnimanager.log").count("Tuner did not connect") > missed:
                return False
            if self.log(exp_id).count("Dispatcher started") > started:
                return True
            time.sleep(0.5)
        return False

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


def wait_status(port: int, states: tuple[str, ...] = FINISHED, timeout: float = 600,
                min_trials: int = 0) -> str:
    """Poll until the experiment reaches one of ``states`` with no trial left waiting or
    running (or, with ``min_trials``, once that many trials ended)."""
    deadline = time.time() + timeout
    status = "?"
    while time.time() < deadline:
        status = rest(port, "check-status")["status"]
        jobs = trials(port)
        ended = [t for t in jobs if t["status"] in ("SUCCEEDED", "FAILED", "USER_CANCELED")]
        busy = min_trials == 0 and len(ended) < len(jobs)
        if status in states and len(ended) >= min_trials and not busy:
            return status
        time.sleep(1.5)
    raise AssertionError(f"experiment on port {port} still {status} after {timeout}s")


def trials(port: int) -> list[dict[str, Any]]:
    return list(rest(port, "trial-jobs"))


def intermediate_count(port: int, trial_id: str) -> int:
    """How many intermediate (per-epoch) results trial ``trial_id`` reported."""
    return sum(m["type"] == "PERIODICAL" for m in rest(port, f"metric-data/{trial_id}"))


def final_metric(trial: dict[str, Any]) -> dict[str, Any] | None:
    """The final result dict a trial reported (NNI stores it as a JSON string, twice encoded)."""
    for item in trial.get("finalMetricData") or []:
        data = json.loads(item["data"])
        return json.loads(data) if isinstance(data, str) else data
    return None


def read_state(runner: NniRunner, exp_id: str) -> dict[str, Any]:
    from nni_plugins.state import load_state

    state = load_state(runner.exp_dir(exp_id) / "checkpoint")
    assert state is not None, "the tuner wrote no state"
    return state
