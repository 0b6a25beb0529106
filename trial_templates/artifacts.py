"""Artifact callbacks: the derived architecture as JSON every epoch, the decisions as data
(``arch_probabilities.json``) with the plot drawn from that data, and the derived cell drawn as a
graph (PNG). The probability history is callback state, so it is saved in (and restored from) the
Lightning checkpoint."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytorch_lightning as pl

from supernas.oneshot.strength import decision_strength
from trial_templates.cellgraph import cell_graphs
from trial_templates.plots import draw_cell, plot_probabilities

PROBABILITIES_FORMAT = "supernas.arch_probabilities/1"


class ArchitectureArtifacts(pl.Callback):
    """After each epoch (rank zero): ``architectures/epoch_NNN.json``, ``architecture_current.json``,
    ``arch_probabilities.json`` (per epoch: ``algo.arch_summary()``, its decision strength and
    ``algo.arch_extras()``), ``arch_probabilities.png`` drawn from that file, ``cell[_group].png``."""

    def __init__(self, output_dir: str | Path, plots: bool = True) -> None:
        self.output_dir = Path(output_dir)
        self.plots = plots
        self.history: list[dict[str, Any]] = []

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        algo = pl_module.algo  # type: ignore[union-attr]
        summary = {k: dict(v) for k, v in algo.arch_summary().items()}
        epoch = trainer.current_epoch
        record = {"epoch": epoch, "decision_strength": decision_strength(summary),
                  "probabilities": summary, **algo.arch_extras()}
        self.history = self.history[:epoch] + [record]
        if trainer.is_global_zero:
            self.write(pl_module, epoch)

    def record_selection(self, pl_module: Any, write: bool = True) -> None:
        """After ``select``: append the selection's distribution (SPOS/random: the selection
        population's frequencies) as ``stage: "selection"`` when it differs from the last epoch's,
        and rewrite the files when ``write`` (rank zero)."""
        algo = pl_module.algo
        summary = {k: dict(v) for k, v in algo.arch_summary().items()}
        if not summary or (self.history and self.history[-1]["probabilities"] == summary):
            return
        self.history.append({"epoch": len(self.history), "stage": "selection",
                             "decision_strength": decision_strength(summary),
                             "probabilities": summary, **algo.arch_extras()})
        if write:
            self.write(pl_module, len(self.history) - 1)

    def write(self, pl_module: Any, epoch: int) -> None:
        arch = pl_module.derived()
        folder = self.output_dir / "architectures"
        folder.mkdir(parents=True, exist_ok=True)
        arch.save(folder / f"epoch_{epoch:03d}.json")
        arch.save(self.output_dir / "architecture_current.json")
        path = self.output_dir / "arch_probabilities.json"
        doc = {"format": PROBABILITIES_FORMAT, "epochs": self.history}
        path.write_text(json.dumps(doc, indent=1) + "\n")
        if self.plots:
            plot_probabilities_file(path, self.output_dir / "arch_probabilities.png")
            draw_architecture(pl_module.supernet, arch.choices, self.output_dir, f"epoch {epoch}")

    def state_dict(self) -> dict[str, Any]:
        return {"history": self.history}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.history = [h if "probabilities" in h else {"probabilities": h}  # pre-0.2 checkpoints
                        for h in state_dict.get("history", [])]


def plot_probabilities_file(json_path: Path, png_path: Path) -> dict[str, dict[str, list[float]]]:
    """Draw ``arch_probabilities.png`` from ``arch_probabilities.json``; returns the plotted series."""
    doc = json.loads(Path(json_path).read_text())
    return plot_probabilities([e["probabilities"] for e in doc["epochs"]], png_path)


def draw_architecture(space: Any, choices: dict[str, Any], output_dir: Path, title: str = "") -> list[Path]:
    """``cell.png`` (or ``cell_<group>.png`` per cell group) for cell spaces; returns the files."""
    written = []
    graphs = cell_graphs(space, choices)
    for group, (nodes, edges) in graphs.items():
        name = "cell.png" if len(graphs) == 1 else f"cell_{group.replace('/', '_')}.png"
        if draw_cell(nodes, edges, output_dir / name, f"{group} {title}".strip()):
            written.append(output_dir / name)
    return written
