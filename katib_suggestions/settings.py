"""Typed algorithm settings: Katib sends every ``algorithmSettings`` value as a string.

A ``Setting`` knows its type, default, range and where the default comes from; ``parse_settings``
turns the Experiment's list into a dict of typed values or raises a ``ConfigError`` naming the
setting (``algorithmSettings.<name>``), the value and what is allowed.
"""
from __future__ import annotations

import inspect
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from supernas.errors import bad_value

_WORD = re.compile(r"^[A-Za-z0-9_.+-]*$")
TRIAL_DIR_KEY = "suggestion_trial_dir"
_BOOLS = {"true": True, "false": False, "1": True, "0": False}


@dataclass(frozen=True)
class Setting:
    """One algorithm setting. Bounds are inclusive unless ``*_open``."""

    name: str
    kind: type
    default: Any
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    none_ok: bool = False
    #: a string setting that also takes numbers (annotation ``float | str``)
    number_ok: bool = False

    def allowed(self) -> str:
        kind = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}[self.kind]
        kind = "a number or a string" if self.number_ok else kind
        lo = "" if self.low is None else f"{'>' if self.low_open else '>='} {self.low}"
        hi = "" if self.high is None else f"{'<' if self.high_open else '<='} {self.high}"
        bounds = " and ".join(b for b in (lo, hi) if b)
        return kind + (f" {bounds}" if bounds else "") + (" or None" if self.none_ok else "")

    def parse(self, text: str) -> Any:
        fld = f"algorithmSettings.{self.name}"
        if self.none_ok and text == "None":
            return None
        value = self._convert(fld, text)
        if self.kind in (int, float) and not self._in_range(value):
            raise bad_value(fld, text, self.allowed())
        return value

    def _convert(self, fld: str, text: str) -> Any:
        if self.number_ok:
            try:
                return float(text)
            except ValueError:
                pass
        try:
            if self.kind is bool:
                return _BOOLS[text.strip().lower()]
            value = self.kind(text)
        except (ValueError, KeyError):
            raise bad_value(fld, text, self.allowed()) from None
        if self.kind is float and not math.isfinite(value):
            raise bad_value(fld, text, self.allowed())
        if self.kind is str and self.name != TRIAL_DIR_KEY and not _WORD.match(value):
            raise bad_value(fld, text, "letters, digits and _ . + - only")
        return value

    def _in_range(self, v: float) -> bool:
        if self.low is not None and (v < self.low or (self.low_open and v == self.low)):
            return False
        return not (self.high is not None and (v > self.high or (self.high_open and v == self.high)))


def parse_settings(raw: Iterable[Any], specs: Sequence[Setting]) -> dict[str, Any]:
    """``raw``: objects with ``name``/``value`` (Katib ``AlgorithmSetting``). Defaults fill gaps."""
    by_name = {s.name: s for s in specs}
    out = {s.name: s.default for s in specs}
    seen: set[str] = set()
    for item in raw:
        if item.name not in by_name:
            raise bad_value("algorithmSettings", item.name,
                            "settings named " + (", ".join(sorted(by_name)) or "(none)"))
        if item.name in seen:
            raise bad_value(f"algorithmSettings.{item.name}", item.value, "each setting given once")
        seen.add(item.name)
        out[item.name] = by_name[item.name].parse(item.value)
    return out


def settings_from_signature(factory: Callable[..., Any], skip: Iterable[str] = ()) -> list[Setting]:
    """One ``Setting`` per keyword parameter of ``factory`` with a scalar default; the factory
    itself checks ranges when it is constructed."""
    out = []
    for name, p in inspect.signature(factory).parameters.items():
        if name in set(skip) or name == "self" or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        d = p.default
        if isinstance(d, (bool, int, float, str)):
            numeric = isinstance(d, str) and "float" in str(p.annotation)
            out.append(Setting(name, type(d), d, none_ok="None" in str(p.annotation), number_ok=numeric))
        elif d is None:
            out.append(Setting(name, _annotation_kind(p.annotation), None, none_ok=True))
    return out


def _annotation_kind(annotation: Any) -> type:
    text = str(annotation)
    for kind in (bool, int, float):
        if kind.__name__ in text:
            return kind
    return str


# --- Katib's enas settings: names, types, ranges and defaults from kubeflow/katib
# pkg/suggestion/v1beta1/nas/enas/AlgorithmSettings.py (float ranges are (low, high]).
KATIB_ENAS = [
    Setting("controller_hidden_size", int, 64, low=1),
    Setting("controller_temperature", float, 5.0, low=0, low_open=True, none_ok=True),
    Setting("controller_tanh_const", float, 2.25, low=0, low_open=True, none_ok=True),
    Setting("controller_entropy_weight", float, 1e-5, low=0, low_open=True, none_ok=True),
    Setting("controller_baseline_decay", float, 0.999, low=0, high=1, low_open=True),
    Setting("controller_learning_rate", float, 5e-5, low=0, high=1, low_open=True),
    Setting("controller_skip_target", float, 0.4, low=0, high=1, low_open=True),
    Setting("controller_skip_weight", float, 0.8, low=0, low_open=True, none_ok=True),
    Setting("controller_train_steps", int, 50, low=1),
    Setting("controller_log_every_steps", int, 10, low=1),
]

# --- Katib's darts settings: defaults from kubeflow/katib pkg/suggestion/v1beta1/nas/darts/
# service.py (which takes them from quark0/darts and khanrc/pt.darts); ranges from its validator.
KATIB_DARTS = [
    Setting("num_epochs", int, 50, low=1),
    Setting("w_lr", float, 0.025, low=0),
    Setting("w_lr_min", float, 0.001, low=0),
    Setting("w_momentum", float, 0.9, low=0),
    Setting("w_weight_decay", float, 3e-4, low=0),
    Setting("w_grad_clip", float, 5.0, low=0),
    Setting("alpha_lr", float, 3e-4, low=0),
    Setting("alpha_weight_decay", float, 1e-3, low=0),
    Setting("batch_size", int, 128, low=1, none_ok=True),
    Setting("num_workers", int, 4, low=0),
    Setting("init_channels", int, 16, low=1),
    Setting("print_step", int, 50, low=1),
    Setting("num_nodes", int, 4, low=1),
    Setting("stem_multiplier", int, 3, low=1),
]

SEED = Setting("seed", int, 0, low=0)
#: Katib's key (pkg/controller.v1beta1/consts/const.go SuggestionVolumeMountKey): when set, Katib's
#: pod webhook mounts the suggestion PVC sub-directory ``<experiment>/<trial>`` at this path.
TRIAL_DIR = Setting(TRIAL_DIR_KEY, str, "")
