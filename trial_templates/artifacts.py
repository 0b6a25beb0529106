"""Artifact callbacks: the derived architecture as JSON every epoch, probability plots and the
derived cell drawn as a graph (PNG). The probability history is callback state, so it is saved
in (and restored from) the Lightning checkpoint."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl

from trial_templates.cellgraph import cell_graphs
from trial_templates.plots import draw_cell, plot_probabilities


class ArchitectureArtifacts(pl.Callback):
    """After each epoch (rank zero): ``architectures/epoch_NNN.json``, ``architecture_current.json``,
    ``arch_probabilities.png`` (from ``algo.arch_summary()``) and ``cell[_group].png``."""

    def __init__(self, output_dir: str | Path, plots: bool = True) -> None:
        self.output_dir = Path(output_dir)
        self.plots = plots
        self.history: list[dict[str, dict[str, float]]] = []

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        summary = pl_module.algo.arch_summary()  # type: ignore[union-attr]
        epoch = trainer.current_epoch
        self.history = self.history[:epoch] + [{k: dict(v) for k, v in summary.items()}]
        if trainer.is_global_zero:
            self.write(pl_module, epoch)

    def write(self, pl_module: Any, epoch: int) -> None:
        arch = pl_module.derived()
        folder = self.output_dir / "architectures"
        folder.mkdir(parents=True, exist_ok=True)
        arch.save(folder / f"epoch_{epoch:03d}.json")
        arch.save(self.output_dir / "architecture_current.json")
        if self.plots:
            plot_probabilities(self.history, self.output_dir / "arch_probabilities.png")
            draw_architecture(pl_module.supernet, arch.choices, self.output_dir, f"epoch {epoch}")

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = list(state_dict.get("history", []))


def draw_architecture(space: Any, choices: dict[str, Any], output_dir: Path, title: str = "") -> list[Path]:
    """``cell.png`` (or ``cell_<group>.png`` per cell group) for cell spaces; returns the files."""
    written = []
    graphs = cell_graphs(space, choices)
    for group, (nodes, edges) in graphs.items():
        name = "cell.png" if len(graphs) == 1 else f"cell_{group.replace('/', '_')}.png"
        if draw_cell(nodes, edges, output_dir / name, f"{group} {title}".strip()):
            written.append(output_dir / name)
    return written
