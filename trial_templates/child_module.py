"""``ChildModule``: trains one fixed (frozen) architecture; the retraining step of every search and
the two stages of BATS's evaluation.

Defaults follow the DARTS evaluation recipe (arXiv 1806.09055, section A.2: SGD, momentum 0.9,
learning rate 0.025 annealed to 0 with a cosine schedule, weight decay 3e-4; gradient clipping 5
is set on the Trainer).
"""
from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
from torch import nn
from torch.nn import functional as F

from supernas.errors import bad_value
from trial_templates.seeding import check_finite, reseed

OPTIMIZERS = ("sgd", "adam")


class ChildModule(pl.LightningModule):
    """Cross-entropy training of ``model`` with SGD (or Adam, as in BATS's stages) and cosine
    annealing per epoch."""

    def __init__(self, model: nn.Module, lr: float = 0.025, momentum: float = 0.9,
                 weight_decay: float = 3e-4, lr_min: float = 0.0, seed: int = 0,
                 optimizer: str = "sgd") -> None:
        super().__init__()
        if optimizer not in OPTIMIZERS:
            raise bad_value("optimizer", optimizer, ", ".join(OPTIMIZERS))
        self.optimizer_name = optimizer
        for name, value in (("lr", lr), ("momentum", momentum), ("weight_decay", weight_decay)):
            if not value >= 0:
                raise bad_value(name, value, "a number >= 0")
        self.model = model
        self.lr, self.momentum, self.weight_decay, self.lr_min = lr, momentum, weight_decay, lr_min
        self.seed = seed
        self._epoch_ready = -1

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: [B, ...] -> [B, classes]
        return self.model(x)

    def configure_optimizers(self) -> Any:
        if self.optimizer_name == "adam":
            opt: torch.optim.Optimizer = torch.optim.Adam(self.model.parameters(), lr=self.lr,
                                                          weight_decay=self.weight_decay)
        else:
            opt = torch.optim.SGD(self.model.parameters(), lr=self.lr, momentum=self.momentum,
                                  weight_decay=self.weight_decay)
        epochs = max(int(self.trainer.max_epochs or 1), 1)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs, eta_min=self.lr_min)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "epoch"}}

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        if self._epoch_ready != self.current_epoch:  # reseed per epoch: resumed runs match
            self._epoch_ready = self.current_epoch
            reseed(self.seed, self.current_epoch)
        x, y = batch
        logits = self.model(x)
        loss = F.cross_entropy(logits, y)
        check_finite({"loss": float(loss.detach())}, "training", self.current_epoch, batch_idx)
        self.log("train_loss", loss, on_step=False, on_epoch=True, batch_size=len(y))
        self.log("train_acc", (logits.argmax(1) == y).float().mean(), on_epoch=True, batch_size=len(y))
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        logits = self.model(x)
        self.log("val_loss", F.cross_entropy(logits, y), on_epoch=True, sync_dist=True, batch_size=len(y))
        self.log("val_acc", (logits.argmax(1) == y).float().mean(), on_epoch=True, prog_bar=True,
                 sync_dist=True, batch_size=len(y))
