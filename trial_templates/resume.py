"""What a resume accepts. Re-running a command on an ``--output`` that holds a checkpoint resumes
it only when

1. the settings recorded beside every ``OUTPUT/*/last.ckpt`` (``config.yaml``, see
   ``trial_templates.checkpoint``) equal this run's resolved settings, apart from
   ``NOT_COMPARED`` (``check_settings``, before ``OUTPUT/config.yaml`` is rewritten), and
2. the checkpoint reads with ``torch.load(weights_only=True)``, is a Lightning checkpoint and its
   weights fit this run's model (``check_checkpoint``).

Anything else stops with a ``ConfigError`` naming the file (and the differing settings) and
saying to delete it or use a new ``--output``. ``--epochs`` is compared too: the LR and
temperature schedules depend on the number of epochs, so a longer run is a new run.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import yaml

from supernas.errors import ConfigError
from trial_templates.checkpoint import LAST, SETTINGS, load_torch_file

#: Settings that change where results go, how they are shown or how fast data loads (order and
#: augmentation depend on seed, epoch and index only), not what is computed.
NOT_COMPARED = ("output", "progress", "plots", "report", "metric_names", "num_workers")
#: Keys every Lightning checkpoint holds.
LIGHTNING_KEYS = ("epoch", "global_step", "state_dict", "loops", "optimizer_states")
SHOWN = 8  # differing settings named in the error, these first:
NAMED_FIRST = ("command", "algorithm", "space")
_MISSING = object()
REMEDY = "delete it (or its directory) or use a new --output to start afresh"


def check_settings(out: Path, resolved: Mapping[str, Any]) -> None:
    """Refuse to resume any ``out/*/last.ckpt`` recorded with settings other than ``resolved``."""
    for ckpt in sorted(Path(out).glob(f"*/{LAST}")):
        recorded = _recorded(ckpt)
        diff = differences(recorded, resolved)
        if diff:
            shown = "; ".join(diff[:SHOWN]) + (f"; and {len(diff) - SHOWN} more" if len(diff) > SHOWN else "")
            raise ConfigError(
                f"checkpoint={str(ckpt)!r} was written with other settings ({shown}), so "
                f"resuming it would mix them; run with the recorded settings "
                f"({ckpt.parent / SETTINGS}) to resume, or {REMEDY}")


def _recorded(ckpt: Path) -> Mapping[str, Any]:
    path = ckpt.parent / SETTINGS
    if not path.is_file():
        raise ConfigError(f"checkpoint={str(ckpt)!r} has no recorded settings beside it ({SETTINGS}: "
                          f"written by an older supernas, or the file was removed), so a resume "
                          f"could mix settings; {REMEDY}")
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path} (the settings of {ckpt.name}) cannot be read ({exc}); {REMEDY}") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path} (the settings of {ckpt.name}) is not a settings mapping; {REMEDY}")
    return data


def differences(recorded: Mapping[str, Any], resolved: Mapping[str, Any]) -> list[str]:
    """``"name: <recorded> in the checkpoint, <now> now"`` per differing (dotted) setting."""
    old, new = _flat(recorded), _flat(resolved)
    keys = sorted((k for k in {**old, **new} if k.split(".")[0] not in NOT_COMPARED),
                  key=lambda k: k.split(".")[0] not in NAMED_FIRST)
    return [f"{k}: {_text(old.get(k, _MISSING))} in the checkpoint, {_text(new.get(k, _MISSING))} now"
            for k in keys if old.get(k, _MISSING) != new.get(k, _MISSING)]


def _flat(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):  # an empty mapping adds no names
            out.update(_flat(value, name + "."))
        else:
            out[name] = value
    return out


def _text(value: Any) -> str:
    if value is _MISSING:
        return "(not set)"
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("\n...").strip()


def check_checkpoint(path: Path, module: pl.LightningModule) -> None:
    """Refuse a ``last.ckpt`` that is unreadable as plain data, not a Lightning checkpoint of
    ``module``'s kind, or whose weights do not fit ``module`` (names and shapes)."""
    ckpt = load_torch_file(path, "checkpoint", REMEDY)
    required = [*LIGHTNING_KEYS, *getattr(module, "checkpoint_keys", ())]
    missing = [k for k in required if not isinstance(ckpt, Mapping) or k not in ckpt]
    if missing:
        raise ConfigError(f"checkpoint={str(path)!r} is not a checkpoint of this run (it lacks "
                          f"{', '.join(missing)}); {REMEDY}")
    problems = _weight_problems(ckpt["state_dict"], module.state_dict())
    if problems:
        raise ConfigError(f"checkpoint={str(path)!r} does not fit this run's model ({problems}); {REMEDY}")


def _weight_problems(saved: Any, own: Mapping[str, Any]) -> str:
    if not isinstance(saved, Mapping):
        return "its state_dict is not a mapping"
    lost = sorted(set(own) - set(saved))
    extra = sorted(set(saved) - set(own))
    shapes = sorted(k for k in set(own) & set(saved)
                    if tuple(getattr(saved[k], "shape", ())) != tuple(own[k].shape))
    parts = [f"{what}: {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}"
             for what, keys in (("missing", lost), ("unexpected", extra), ("other shape", shapes)) if keys]
    return "; ".join(parts)
