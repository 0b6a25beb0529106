"""Typed run settings (one dataclass per command), ``key=value`` parsing and the saved
``config.yaml``. Values of ``--set``/``--space-arg``/``--stage-set`` are parsed as YAML scalars or
lists (``order=2``, ``temperature=0.5``, ``arch_betas=[0.5,0.999]``); ``3e-4`` is a number
(``supernas.yamlnum``: YAML 1.2 floats, which PyYAML's YAML 1.1 would leave strings). ``--set``
values are then read and validated by the algorithm's settings dataclass (``algorithm_settings``,
``supernas.settings``), the same schema NNI's ``classArgs`` and Katib's settings go through."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from supernas.errors import bad_value
from supernas.oneshot.child_score import FinetuneSettings
from supernas.yamlnum import load as load_yaml

REPORTS = ("auto", "stdout", "nni", "katib-push", "none")


@dataclass
class RunConfig:
    """Settings shared by ``search`` and ``train``."""

    data: str = "digits"
    data_dir: str | None = None
    subset: int | None = None
    batch_size: int = 64
    epochs: int = 10
    seed: int = 0
    output: str = "supernas-run"
    accelerator: str = "auto"
    devices: str = "auto"
    strategy: str = "auto"
    precision: str | None = None
    report: str = "auto"
    metric_names: dict[str, str] | None = None
    num_workers: int = 0
    progress: bool = True
    plots: bool = True
    limit_batches: int | None = None  # cap on training batches per epoch (quick runs, tests)
    channels_last: bool = True  # NHWC weights (and so activations) for 4-D conv models

    def check(self) -> None:
        if not isinstance(self.epochs, int) or self.epochs < 0:
            raise bad_value("epochs", self.epochs, "an integer >= 0")
        if self.report not in REPORTS:
            raise bad_value("report", self.report, ", ".join(REPORTS))
        if self.limit_batches is not None and self.limit_batches < 1:
            raise bad_value("limit_batches", self.limit_batches, "an integer >= 1")


@dataclass
class SearchConfig(RunConfig):
    """``supernas search``: a one-shot search."""

    algorithm: str = "darts"
    space: str | None = None
    space_args: dict[str, Any] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    arch_fraction: float = 0.5
    lr_schedule: str = "algorithm"
    finetune_steps: int = 200  # fine-tune of the derived child before it is scored (0: none)
    finetune_lr: float = 0.025

    def check(self) -> None:
        super().check()
        self.finetune_settings()

    def finetune_settings(self) -> FinetuneSettings:
        """How the derived child is scored (``supernas.oneshot.child_score``)."""
        return FinetuneSettings(steps=self.finetune_steps, lr=self.finetune_lr)


@dataclass
class TrainConfig(RunConfig):
    """``supernas train``: retrain a fixed architecture (optionally BATS's two stages)."""

    architecture: dict[str, Any] = field(default_factory=dict)
    space_args: dict[str, Any] = field(default_factory=dict)
    lr: float = 0.025
    momentum: float = 0.9
    weight_decay: float = 3e-4
    grad_clip: float = 5.0
    optimizer: str = "sgd"
    bats_stages: bool = False
    stage_settings: dict[str, Any] = field(default_factory=dict)


def parse_pairs(pairs: list[str] | None, field_name: str) -> dict[str, Any]:
    """``["k=v", ...]`` -> ``{k: yaml(v)}``; a pair without ``=`` names the flag in the error."""
    out: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise bad_value(field_name, pair, "key=value, e.g. temperature=0.5")
        try:
            out[key.strip().replace("-", "_")] = load_yaml(raw) if raw.strip() else None
        except yaml.YAMLError:
            out[key.strip().replace("-", "_")] = raw
    return out


def algorithm_settings(algorithm: str, pairs: list[str] | None) -> dict[str, Any]:
    """``--set`` pairs read and validated by the one-shot ``algorithm``'s settings dataclass
    (``supernas.settings``, as NNI's ``classArgs`` and Katib's settings are); the keys given only."""
    return parse_settings(algorithm, parse_pairs(pairs, "set"))


def parse_settings(algorithm: str, raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` settings (``--set`` pairs, a config file's ``settings``) read and validated by the
    ``algorithm``'s settings dataclass; the keys given only."""
    from supernas.oneshot import ALGORITHMS

    schema = ALGORITHMS.get(algorithm).settings_class  # type: ignore[attr-defined]
    return schema.parse_given(raw)


def resolved_config(config: RunConfig, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The resolved settings (``command`` and values filled from the data included) as plain data,
    exactly as ``config.yaml`` reads back."""
    data = dataclasses.asdict(config)
    data.update(extra or {})
    return yaml.safe_load(yaml.safe_dump(_plain(data), sort_keys=False))


def save_config(resolved: dict[str, Any], path: str | Path) -> Path:
    """Write ``resolved_config``'s dict as YAML."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(config_text(resolved))
    return p


def config_text(resolved: dict[str, Any]) -> str:
    """``config.yaml``'s text (also what ``--print-config`` prints)."""
    return yaml.safe_dump(resolved, sort_keys=False)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
