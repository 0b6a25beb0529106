"""Checkpoints every epoch, written atomically (temporary file + rename), so a run killed at any
moment (SIGTERM from a preempted pod, or SIGKILL) leaves either the previous or the new
``last.ckpt``, never half of one; ``resume_path`` finds it when the same command runs again."""
from __future__ import annotations

import os
from pathlib import Path

import pytorch_lightning as pl

LAST = "last.ckpt"


class EpochCheckpoint(pl.Callback):
    """Saves ``<dir>/last.ckpt`` after every training epoch (after validation and reporting)."""

    def __init__(self, dirpath: str | Path) -> None:
        self.dirpath = Path(dirpath)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        self.dirpath.mkdir(parents=True, exist_ok=True)
        tmp = self.dirpath / f".{LAST}.tmp"
        trainer.save_checkpoint(tmp)  # collective under DDP; rank zero writes
        if trainer.is_global_zero:
            os.replace(tmp, self.dirpath / LAST)


def resume_path(dirpath: str | Path) -> Path | None:
    """``<dir>/last.ckpt`` if a previous run left one."""
    path = Path(dirpath) / LAST
    return path if path.is_file() else None
