"""Reporting callbacks: platform I/O stays out of the LightningModules.

* ``NniReporter``: ``nni.report_intermediate_result`` after every epoch and
  ``nni.report_final_result`` at the end, each a dict with ``default`` (validation accuracy)
  plus extras (loss, parameter count, the architecture as compact JSON).
* ``KatibStdoutReporter``: ``Validation-Accuracy=0.912`` lines on stdout, read by Katib's StdOut
  metrics collector (default filter ``([\\w|-]+)\\s*=\\s*([+-]?\\d*(\\.\\d+)?([Ee][+-]?\\d+)?)``).
* ``KatibPushReporter``: ``kubeflow.katib.report_metrics`` (Push collector; needs the
  ``KATIB_TRIAL_NAME`` environment variable).

``choose_reporters(kind)`` picks them by flag or, for ``auto``, from the environment: NNI sets
``NNI_PLATFORM`` and ``NNI_TRIAL_JOB_ID``; Katib's push collector needs ``KATIB_TRIAL_NAME``;
otherwise stdout lines. Metric names for Katib are configurable (``--metric-name val_acc=acc``).
"""
from __future__ import annotations

import math
import os
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import pytorch_lightning as pl

from supernas.errors import bad_value

REPORT_KINDS = ("auto", "stdout", "nni", "katib-push", "none")
DEFAULT_METRIC_NAMES = {"val_acc": "Validation-Accuracy", "val_loss": "Validation-Loss",
                        "val_child_recal_acc": "Recalibrated-Child-Accuracy",
                        "val_supernet_acc": "Supernet-Validation-Accuracy",
                        "decision_strength": "Decision-Strength", "params": "Parameters"}
MAIN_METRIC = "val_acc"


class Reporter(pl.Callback):
    """Base: after each training epoch (validation done) sends ``epoch_metrics``; the driver calls
    ``report_final`` once the final architecture and its metrics are known. Rank zero sends.

    Every rank reads the metrics: under DDP, ``trainer.callback_metrics`` reduces the
    ``sync_dist`` metrics across ranks (a collective), so reading it on rank zero alone left rank
    zero in an all-reduce that the other ranks never joined (a 2-process search hung after its
    first epoch)."""

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        metrics = epoch_metrics(trainer)  # on every rank: a collective under DDP (docstring)
        if trainer.is_global_zero:
            self.report_epoch(trainer.current_epoch, metrics)

    def report_epoch(self, epoch: int, metrics: Mapping[str, float]) -> None:
        """Send the metrics of ``epoch``."""

    def report_final(self, metrics: Mapping[str, float], architecture: Mapping[str, Any] | None) -> None:
        """Send the final metrics (and the architecture as a JSON-able dict)."""


def epoch_metrics(trainer: pl.Trainer) -> dict[str, float]:
    """Finite scalar metrics Lightning collected this epoch, as floats."""
    out: dict[str, float] = {}
    for name, value in trainer.callback_metrics.items():
        v = float(value)
        if math.isfinite(v):
            out[name] = v
    return out


class NniReporter(Reporter):
    """Reports to NNI (``nni.report_intermediate_result`` / ``nni.report_final_result``)."""

    def report_epoch(self, epoch: int, metrics: Mapping[str, float]) -> None:
        import nni

        if MAIN_METRIC in metrics:
            nni.report_intermediate_result({"default": metrics[MAIN_METRIC], **_extras(metrics), "epoch": epoch})

    def report_final(self, metrics: Mapping[str, float], architecture: Mapping[str, Any] | None) -> None:
        import json

        import nni

        result: dict[str, Any] = {"default": metrics.get(MAIN_METRIC, 0.0), **_extras(metrics)}
        if architecture is not None:
            result["architecture"] = json.dumps(architecture, separators=(",", ":"))
        nni.report_final_result(result)


def _extras(metrics: Mapping[str, float]) -> dict[str, float]:
    return {k: v for k, v in metrics.items() if k != MAIN_METRIC}


class KatibStdoutReporter(Reporter):
    """Prints ``Name=value`` lines for the metrics named in ``names`` (internal -> Katib name)."""

    def __init__(self, names: Mapping[str, str] | None = None, stream: TextIO | None = None) -> None:
        self.names = dict(DEFAULT_METRIC_NAMES if names is None else names)
        self.stream = stream

    def lines(self, metrics: Mapping[str, float]) -> list[str]:
        return [f"{self.names[k]}={metrics[k]:.6g}" for k in self.names if k in metrics]

    def _print(self, text: str) -> None:
        stream = self.stream or sys.stdout
        stream.write(text + "\n")
        stream.flush()

    def report_epoch(self, epoch: int, metrics: Mapping[str, float]) -> None:
        lines = self.lines(metrics)
        if lines:
            self._print(f"epoch {epoch}:\n" + "\n".join(lines))

    def report_final(self, metrics: Mapping[str, float], architecture: Mapping[str, Any] | None) -> None:
        lines = self.lines(metrics)
        if lines:
            self._print("final:\n" + "\n".join(lines))


class KatibPushReporter(KatibStdoutReporter):
    """Pushes the named metrics with ``kubeflow.katib.report_metrics`` (and prints them too).

    An epoch push that fails is printed as a warning (the search goes on); a failed final push
    raises, so the trial does not look successful without its result."""

    def __init__(self, names: Mapping[str, str] | None = None, db_manager_address: str | None = None,
                 stream: TextIO | None = None) -> None:
        super().__init__(names, stream)
        self.address = db_manager_address or os.environ.get("KATIB_DB_MANAGER_ADDRESS",
                                                            "katib-db-manager.kubeflow:6789")

    def _push(self, metrics: Mapping[str, float]) -> None:
        from kubeflow.katib import report_metrics

        named = {self.names[k]: float(metrics[k]) for k in self.names if k in metrics}
        if named:
            report_metrics(named, db_manager_address=self.address)

    def report_epoch(self, epoch: int, metrics: Mapping[str, float]) -> None:
        super().report_epoch(epoch, metrics)
        try:
            self._push(metrics)
        except Exception as exc:  # noqa: BLE001 - a lost intermediate point must not stop a search
            print(f"warning: Katib metrics push failed at epoch {epoch}: {exc}", file=sys.stderr)

    def report_final(self, metrics: Mapping[str, float], architecture: Mapping[str, Any] | None) -> None:
        super().report_final(metrics, architecture)
        self._push(metrics)


def resolve_kind(kind: str, env: Mapping[str, str] | None = None) -> str:
    """``auto`` -> ``nni`` / ``katib-push`` / ``stdout`` from the environment."""
    if kind not in REPORT_KINDS:
        raise bad_value("report", kind, ", ".join(REPORT_KINDS))
    if kind != "auto":
        return kind
    env = os.environ if env is None else env
    if env.get("NNI_PLATFORM") and env.get("NNI_TRIAL_JOB_ID"):
        return "nni"
    if env.get("KATIB_TRIAL_NAME"):
        return "katib-push"
    return "stdout"


def choose_reporters(kind: str, names: Mapping[str, str] | None = None,
                     env: Mapping[str, str] | None = None) -> list[Reporter]:
    """The reporters for ``kind`` (see module docstring)."""
    resolved = resolve_kind(kind, env)
    return {"nni": lambda: [NniReporter()],
            "katib-push": lambda: [KatibPushReporter(names)],
            "stdout": lambda: [KatibStdoutReporter(names)],
            "none": list}[resolved]()


def parse_metric_names(pairs: list[str] | None) -> dict[str, str] | None:
    """``["val_acc=accuracy", ...]`` -> mapping (``None``: the defaults)."""
    if not pairs:
        return None
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key or not value or any(c in value for c in "\"\\$ "):
            raise bad_value("metric-name", pair, "internal=KatibName, e.g. val_acc=Validation-Accuracy")
        out[key] = value
    return out
