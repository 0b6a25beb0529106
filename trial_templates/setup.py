"""Building a run's parts from its config, failing before any training on bad settings:
data (missing directory), space (unknown name or argument, input shape it cannot take) and
algorithm (unknown name, bad setting, a space it cannot drive)."""
from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from supernas.errors import ConfigError, SupernasError
from supernas.mutator import UniformMutator
from supernas.oneshot import ALGORITHMS, OneShotAlgorithm
from supernas.spaces import SPACES, create_space
from trial_templates.config import RunConfig, SearchConfig
from trial_templates.data import ArrayDataModule, create_datamodule
from trial_templates.space_budget import check_space_size

# Default space per algorithm (small enough for digits on a 2-core CPU in a few minutes):
# NAS-Bench-201 cells (arXiv 2001.00326) with C=8, N=1; BATS's binary cell space for bats.
DEFAULT_SPACES: dict[str, tuple[str, dict[str, Any]]] = {
    "bats": ("bats", {"channels": 8, "layers": 3}),
}
FALLBACK_SPACE = ("nb201", {"C": 8, "N": 1})


def build_datamodule(cfg: RunConfig, mode: str, arch_fraction: float = 0.5) -> ArrayDataModule:
    """Create and load the data (so a missing directory fails here)."""
    dm = create_datamodule(cfg.data, data_dir=cfg.data_dir, batch_size=cfg.batch_size,
                           arch_fraction=arch_fraction, seed=cfg.seed, mode=mode,
                           subset=cfg.subset, num_workers=cfg.num_workers)
    dm.load()
    return dm


def resolve_space(cfg: SearchConfig) -> tuple[str, dict[str, Any]]:
    """The space name and arguments: given ones, else the algorithm's default."""
    if cfg.space is not None:
        return cfg.space, dict(cfg.space_args)
    name, args = DEFAULT_SPACES.get(cfg.algorithm, FALLBACK_SPACE)
    return name, {**args, **cfg.space_args}


def data_args(factory: Callable[..., Any], given: dict[str, Any], dm: ArrayDataModule) -> dict[str, Any]:
    """Fill ``num_classes``/``in_channels``/``in_features`` from the data when the factory takes
    them and they were not given."""
    params = inspect.signature(factory).parameters
    shape = dm.input_shape
    found = {"num_classes": dm.num_classes, "in_channels": shape[0], "in_features": math.prod(shape)}
    return {**{k: v for k, v in found.items() if k in params}, **given}


def build_space(name: str, args: dict[str, Any], dm: ArrayDataModule) -> nn.Module:
    """Create the space with data-derived arguments (refused first when too large to allocate,
    ``trial_templates.space_budget``) and check it takes the data's inputs."""
    full = data_args(SPACES.get(name), args, dm)
    check_space_size(name, full, given=args)
    space = create_space(name, **full)
    UniformMutator(0).bind(space)  # any architecture will do for the shape check
    check_forward(space, name, dm)
    return space


def apply_layout(model: nn.Module, channels_last: bool) -> nn.Module:
    """``model`` with its 4-D weights in channels-last (NHWC) layout when asked.

    Convolutions with channels-last weights return channels-last outputs even for NCHW inputs,
    so every activation after the stem follows and no batch needs converting. On CPU (oneDNN)
    this made a DARTS supernet step about 30 % cheaper and NNI's DARTS about 19 % cheaper
    (``benchmarks/speed.py``, both layouts); on NVIDIA GPUs it is the layout cuDNN's tensor-core
    kernels prefer. Parameters keep their identity (optimisers and checkpoints are unaffected).
    """
    return model.to(memory_format=torch.channels_last) if channels_last else model


def check_forward(model: nn.Module, name: str, dm: ArrayDataModule) -> None:
    """One eval-mode forward on two inputs (no state changes) to catch shape mismatches."""
    x = dm.load().x_train[:2].float()  # [2, *input_shape]
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = model(x)
    except SupernasError:
        raise
    except Exception as exc:  # noqa: BLE001 - report any shape error with the data's name
        raise ConfigError(f"space={name!r} cannot take data={dm.name!r} inputs of shape "
                          f"{tuple(dm.input_shape)}: {exc}") from None
    finally:
        model.train(was_training)
    if out.shape[-1] != dm.num_classes:
        raise ConfigError(f"space={name!r} outputs {out.shape[-1]} classes but data={dm.name!r} "
                          f"has {dm.num_classes}; set --space-arg num_classes={dm.num_classes}")


def build_algorithm(cfg: SearchConfig, space: nn.Module, dm: ArrayDataModule) -> OneShotAlgorithm:
    """``ALGORITHMS.create`` with the run's seed and input size filled in when accepted."""
    params = ALGORITHMS.parameters(cfg.algorithm)  # unknown name -> error listing the names
    settings = dict(cfg.settings)
    if "seed" in params:
        settings.setdefault("seed", cfg.seed)
    if "input_size" in params:
        settings.setdefault("input_size", list(dm.input_shape))
    return ALGORITHMS.create(cfg.algorithm, space=space, **settings)
