"""Settings of DARTS-style Katib trials beside the algorithm's own: the trial recipe of
``supernas-darts``/``-bats`` and the settings of Katib's own ``darts`` trial image.

Sizes have upper bounds so an Experiment that would run out of memory in every trial is refused
when it is created (``ValidateAlgorithmSettings``), not in the pod. The bounds are a few times
DARTS's own sizes (Liu et al. 2019, arXiv 1806.09055, Sec. 3 and A.1: a search network of 8
cells with 16 initial channels, 4 nodes per cell, stem multiplier 3; evaluation networks of 20
cells with 36 channels, ImageNet 14 cells with 48 channels).
"""
from __future__ import annotations

from dataclasses import dataclass

from supernas.settings import Settings, integer, number

MAX_CELLS = 32  # numLayers: DARTS searches 8 cells and evaluates 20
MAX_CHANNELS = 256  # init_channels: DARTS 16 (search), 36 (CIFAR-10), 48 (ImageNet)
MAX_NODES = 8  # num_nodes: DARTS 4; a cell's input choices grow with the square
MAX_STEM_MULTIPLIER = 8  # DARTS 3
MAX_BATCH = 4096  # batch_size: DARTS 64 (search), 96 (evaluation)


def check_sizes(init_channels: object, num_nodes: object, stem_multiplier: object) -> None:
    """The size fields common to both recipes, within their bounds."""
    integer("init_channels", init_channels, low=1, high=MAX_CHANNELS)
    integer("num_nodes", num_nodes, low=1, high=MAX_NODES)
    integer("stem_multiplier", stem_multiplier, low=1, high=MAX_STEM_MULTIPLIER)


@dataclass(frozen=True)
class TrialRecipe(Settings):
    """``supernas search`` flags and space arguments of a ``supernas-darts``/``-bats`` trial
    (``trial_entry.py``); defaults as Katib's DARTS (quark0/darts), batch size as
    ``supernas search``."""

    num_epochs: int = 50  # Katib's DARTS (quark0/darts train_search.py epochs)
    batch_size: int = 64  # supernas search --batch-size
    init_channels: int = 16  # DARTS search network
    num_nodes: int = 4  # DARTS
    stem_multiplier: int = 3  # DARTS

    def validate(self) -> None:
        integer("num_epochs", self.num_epochs, low=1)
        integer("batch_size", self.batch_size, low=1, high=MAX_BATCH)
        check_sizes(self.init_channels, self.num_nodes, self.stem_multiplier)


@dataclass(frozen=True)
class KatibDartsSettings(Settings):
    """Katib's ``darts`` settings: names and defaults from kubeflow/katib
    pkg/suggestion/v1beta1/nas/darts/service.py (which takes them from quark0/darts and
    khanrc/pt.darts), ranges from its validator, sizes bounded as above."""

    num_epochs: int = 50
    w_lr: float = 0.025
    w_lr_min: float = 0.001
    w_momentum: float = 0.9
    w_weight_decay: float = 3e-4
    w_grad_clip: float = 5.0
    alpha_lr: float = 3e-4
    alpha_weight_decay: float = 1e-3
    batch_size: int | None = 128
    num_workers: int = 4
    init_channels: int = 16
    print_step: int = 50
    num_nodes: int = 4
    stem_multiplier: int = 3

    def validate(self) -> None:
        integer("num_epochs", self.num_epochs, low=1)
        for name in ("w_lr", "w_lr_min", "w_momentum", "w_weight_decay", "w_grad_clip",
                     "alpha_lr", "alpha_weight_decay"):
            number(name, getattr(self, name), low=0.0)
        integer("batch_size", self.batch_size, low=1, high=MAX_BATCH, none_ok=True)
        integer("num_workers", self.num_workers, low=0)
        integer("print_step", self.print_step, low=1)
        check_sizes(self.init_channels, self.num_nodes, self.stem_multiplier)
