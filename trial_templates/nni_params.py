"""``supernas search --params nni``: the one-shot search that NNI's ``SupernasOneShot`` tuner
hands a trial, read with ``nni.get_next_parameter()`` (once per trial, DDP ranks included:
``read_nni_parameters``, also behind ``supernas train --architecture nni``) and turned into
``SearchConfig`` fields, from which ``run_search`` runs as for any other search.

The parameters (format ``supernas.oneshot/1``, written by ``nni_plugins.oneshot_tuner``) are
``{"format", "algorithm", "space", "space_args", "settings", "index"}``. They become the fields
``algorithm``, ``space``, ``space_args`` and ``settings``; a ``seed`` among the settings (a grid
over seeds) is also the run's ``seed``, so each grid point splits and initialises with its own
seed. ``index`` (the grid point) is the tuner's business. The settings are validated afterwards
with the rest of the config (the algorithm's settings dataclass), as for ``--set``.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from supernas.errors import bad_value

ONESHOT_FORMAT = "supernas.oneshot/1"  # nni_plugins.oneshot_tuner's (not imported: it needs nni)
PARAM_SOURCES = ("nni",)
ENV_VAR = "SUPERNAS_NNI_PARAMETERS"


def read_nni_parameters() -> Any:
    """This trial's parameters, asked from NNI once per trial (``None`` or ``{}`` outside NNI).

    NNI hands each request a parameter, so the DDP ranks Lightning starts (the same command line
    again, ``LOCAL_RANK`` > 0) must not ask: the first read leaves the parameters as JSON in
    ``$SUPERNAS_NNI_PARAMETERS``, which Lightning's launcher passes to the ranks it starts."""
    if os.environ.get("LOCAL_RANK", "0") != "0" and ENV_VAR in os.environ:
        return json.loads(os.environ[ENV_VAR])
    import nni

    params = nni.get_next_parameter()
    os.environ[ENV_VAR] = json.dumps(params)
    return params


def oneshot_fields(params: Any) -> dict[str, Any]:
    """``SearchConfig`` fields of ``supernas.oneshot/1`` parameters (see module docstring)."""
    if not isinstance(params, Mapping) or params.get("format") != ONESHOT_FORMAT:
        raise bad_value("params.format", _format_of(params), f"{ONESHOT_FORMAT!r} (the parameters "
                        "of the SupernasOneShot tuner; a tuner that suggests architectures needs "
                        "`supernas train --architecture nni`)")
    fields = {"algorithm": _text(params, "algorithm"), "space": _text(params, "space"),
              "space_args": _mapping(params, "space_args"), "settings": _mapping(params, "settings")}
    if "seed" in fields["settings"]:
        fields["seed"] = fields["settings"]["seed"]
    return fields


def platform_fields(source: str | None) -> dict[str, Any] | None:
    """The fields ``--params SOURCE`` contributes (``None``: no ``--params``)."""
    if source is None:
        return None
    if source not in PARAM_SOURCES:
        raise bad_value("params", source, ", ".join(PARAM_SOURCES))
    params = read_nni_parameters()
    if not params:  # None, or {} from NNI's standalone mode
        raise bad_value("params", source, "nni inside an NNI trial only (nni.get_next_parameter() "
                        "gave no parameters); outside NNI give --algorithm, --space and --set")
    return oneshot_fields(params)


def _format_of(params: Any) -> Any:
    return params.get("format") if isinstance(params, Mapping) else params


def _text(params: Mapping[str, Any], key: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value:
        raise bad_value(f"params.{key}", value, "a non-empty name, as SupernasOneShot sends it")
    return value


def _mapping(params: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = params.get(key, {})
    if not isinstance(value, Mapping):
        raise bad_value(f"params.{key}", value, "an object of key: value pairs")
    return dict(value)
