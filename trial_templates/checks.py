"""Checks of command-line inputs made before anything is loaded, allocated or trained: the seed,
the output path, ``--input-shape`` and options that only work together. Each failure is a
``ConfigError`` in the ``field=value is invalid; allowed: ...`` form (``supernas.errors``)."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from supernas.errors import ConfigError, bad_value

#: Seeds are used as given by NumPy's ``np.random.seed`` (0 .. 2**32 - 1) and, scaled and offset by
#: the epoch, by ``torch.manual_seed`` (64 bits): this range fits both.
SEED_MAX = 2**32 - 1


def check_seed(seed: Any, field: str = "seed") -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= SEED_MAX:
        raise bad_value(field, seed, f"an integer from 0 to {SEED_MAX} (2**32 - 1)")


def check_output_dir(path: str | Path, field: str = "output") -> None:
    """``path`` is, or can be created as, a writable directory (nothing is created here)."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise bad_value(field, str(path), "a directory to write into (this path is an existing file)")
    _check_writable_parent(p, field, "a writable directory")


def check_output_file(path: str | Path, field: str = "output") -> None:
    """``path`` is, or can be created as, a writable file (nothing is created here)."""
    p = Path(path)
    if p.is_dir():
        raise bad_value(field, str(path), "a file to write (this path is an existing directory)")
    if p.exists() and not os.access(p, os.W_OK):
        raise bad_value(field, str(path), "a writable file (this file is not writable)")
    _check_writable_parent(p.parent, field, "a file in a writable directory", shown=str(path))


def _check_writable_parent(p: Path, field: str, allowed: str, shown: str | None = None) -> None:
    """The nearest existing directory at or above ``p`` is writable."""
    existing = p
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise bad_value(field, shown or str(p), f"{allowed} ({str(existing)!r} is a file, not a directory)")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise bad_value(field, shown or str(p), f"{allowed} ({str(existing)!r} is not writable)")


def parse_input_shape(text: str | None, field: str = "input-shape") -> tuple[int, ...] | None:
    """``"C,H,W"`` (images) or ``"C,L"`` (sequences) -> a tuple of positive integers."""
    if text is None or not text.strip():
        return None  # the shape saved with the model
    allowed = "comma-separated positive integers: C,H,W of one image (e.g. 3,32,32) or C,L of one sequence"
    parts = [p.strip() for p in text.split(",")]
    if not 1 <= len(parts) <= 4 or not all(p.isdigit() for p in parts):
        raise bad_value(field, text, allowed)
    shape = tuple(int(p) for p in parts)
    if min(shape) < 1:
        raise bad_value(field, text, allowed)
    return shape


def check_stage_settings(stage_settings: dict[str, Any], bats_stages: bool) -> None:
    """``--stage-set`` configures the BATS two stages: without ``--bats-stages`` it would be ignored."""
    if stage_settings and not bats_stages:
        given = ",".join(f"{k}={v}" for k, v in stage_settings.items())
        raise ConfigError(f"stage-set={given!r} is invalid without --bats-stages (it sets the BATS "
                          "two-stage evaluation); allowed: --stage-set together with --bats-stages, "
                          "or no --stage-set")


def check_run(cfg: Any) -> None:
    """The checks every ``search``/``train`` run makes first: seed and output directory."""
    check_seed(cfg.seed)
    check_output_dir(cfg.output)
