"""Checkpoints every epoch, written atomically (temporary file + rename), so a run killed at any
moment (SIGTERM from a preempted pod, or SIGKILL) leaves either the previous or the new
``last.ckpt``, never half of one; ``resume_path`` finds it when the same command runs again.

Beside ``last.ckpt`` the run's resolved settings are recorded (``config.yaml``, written before the
first checkpoint of a start), so a resume can refuse other settings (``trial_templates.resume``).
Files are read back with ``load_torch_file``: ``torch.load(weights_only=True)``, which accepts
tensors and plain data only, so a tampered or foreign file cannot run code."""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
import yaml

from supernas.errors import ConfigError
from supernas.persist import atomic_write

LAST = "last.ckpt"
SETTINGS = "config.yaml"  # the resolved settings of the run that wrote LAST


class EpochCheckpoint(pl.Callback):
    """Saves ``<dir>/last.ckpt`` after every training epoch (after validation and reporting), and
    ``<dir>/config.yaml`` (``settings``, when given) before the first of them."""

    def __init__(self, dirpath: str | Path, settings: Mapping[str, Any] | None = None) -> None:
        self.dirpath = Path(dirpath)
        self.settings = dict(settings) if settings is not None else None
        self._recorded = False

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        self.dirpath.mkdir(parents=True, exist_ok=True)
        tmp = self.dirpath / f".{LAST}.tmp"
        trainer.save_checkpoint(tmp)  # collective under DDP; rank zero writes
        if trainer.is_global_zero:
            self._record_settings()
            os.replace(tmp, self.dirpath / LAST)

    def _record_settings(self) -> None:
        if self.settings is None or self._recorded:
            return
        text = yaml.safe_dump(self.settings, sort_keys=False)
        atomic_write(self.dirpath / SETTINGS, text.encode(), fsync=False)
        self._recorded = True


def resume_path(dirpath: str | Path) -> Path | None:
    """``<dir>/last.ckpt`` if a previous run left one."""
    path = Path(dirpath) / LAST
    return path if path.is_file() else None


def load_torch_file(path: str | Path, field: str, remedy: str) -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU; a file that is empty, truncated, not a
    torch file or refers to code raises a ``ConfigError`` naming ``field``, the file and ``remedy``."""
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - UnpicklingError, RuntimeError, EOFError, KeyError ...
        raise ConfigError(f"{field}={str(path)!r} cannot be read safely: {_reason(exc)}; {remedy}") from None


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    refused = re.search(r"WeightsUnpickler error:\s*(.+)", text)
    if refused:  # e.g. "Unsupported global: GLOBAL posix.system"
        detail = refused.group(1).split(" was not an allowed")[0].strip()
        return f"it holds more than tensors and plain data ({detail}), and supernas runs no code from files"
    first = text.splitlines()[0][:200] if text else "no detail"
    return f"it is empty, truncated or not a torch file ({type(exc).__name__}: {first})"
