"""PNG plots (matplotlib, Agg backend): architecture probabilities over epochs and the derived
cell as a graph."""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from trial_templates.cellgraph import Edge

MAX_PANELS = 36


Series = dict[str, dict[str, list[float]]]


def plot_probabilities(history: Sequence[Mapping[str, Mapping[str, float]]], path: str | Path) -> Series:
    """One panel per decision, one line per option: probability against epoch. Returns the
    plotted values, ``{decision: {option: [p per epoch]}}`` (empty, and no file, if none)."""
    keys = list(dict.fromkeys(k for summary in history for k in summary))[:MAX_PANELS]
    if not keys:
        return {}
    cols = math.ceil(math.sqrt(len(keys)))
    rows = math.ceil(len(keys) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    series = {key: _panel(axes.flat[i], key, history) for i, key in enumerate(keys)}
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return series


def _panel(ax: plt.Axes, key: str, history: Sequence[Mapping[str, Mapping[str, float]]]) -> dict[str, list[float]]:
    options = list(dict.fromkeys(o for s in history for o in s.get(key, {})))
    plotted = {}
    for option in options:
        ys = [s.get(key, {}).get(option, float("nan")) for s in history]
        ax.plot(range(len(ys)), ys, marker="o", markersize=2, label=option)
        plotted[option] = [float(v) for v in ax.lines[-1].get_ydata()]
    ax.set_title(key, fontsize=8)
    ax.set_xlabel("epoch", fontsize=7)
    ax.set_ylim(0, 1)
    ax.tick_params(labelsize=6)
    ax.legend(fontsize=5, loc="best")
    return plotted


def draw_cell(nodes: Sequence[str], edges: Sequence[Edge], path: str | Path, title: str = "") -> bool:
    """Nodes left to right, each edge an arc labelled with its op. False if there are no edges."""
    if not edges:
        return False
    x = {n: i for i, n in enumerate(nodes)}
    fig, ax = plt.subplots(figsize=(max(4.0, 1.6 * len(nodes)), 3.2))
    for e in edges:
        rad = 0.25 + 0.1 * (x[e.dst] - x[e.src] - 1)
        ax.annotate("", xy=(x[e.dst], 0), xytext=(x[e.src], 0),
                    arrowprops={"arrowstyle": "->", "connectionstyle": f"arc3,rad={-rad}", "lw": 1})
        mid, height = (x[e.src] + x[e.dst]) / 2, rad * (x[e.dst] - x[e.src]) / 2
        ax.text(mid, height, e.label, fontsize=7, ha="center", va="center",
                bbox={"boxstyle": "round", "fc": "white", "lw": 0.3})
    for n, i in x.items():
        ax.text(i, 0, n, ha="center", va="center", fontsize=8,
                bbox={"boxstyle": "circle", "fc": "lightblue"})
    ax.set_xlim(-0.7, len(nodes) - 0.3)
    ax.set_ylim(-0.2, max(1.0, 0.3 * len(nodes)))
    ax.axis("off")
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return True
