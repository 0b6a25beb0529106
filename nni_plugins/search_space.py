"""NNI search-space JSON <-> supernas decisions, and NNI trial parameters <-> architectures.

Accepted NNI search-space entries (NNI 3.0 ``searchSpace`` / ``searchSpaceFile``):

* ``{"_type": "choice", "_value": [...]}`` with scalar values, or nested choices: an option that
  is an object (``{"_name": "conv", "kernel": {"_type": "choice", ...}}``) opens sub-decisions.
* classic NAS ``{"_type": "layer_choice", "_value": ["op_a", "op_b"]}``
* classic NAS ``{"_type": "input_choice", "_value": {"candidates": ["x0", "x1"], "n_chosen": 1}}``
  (``n_chosen`` null or absent: any non-empty subset).

Every other ``_type`` (``uniform``, ``randint`` ...) is refused: weight-sharing NAS searches
discrete spaces only.

Flattening: each entry becomes one decision whose key is the JSON path (``layer``), and each
sub-decision of a nested option gets the key ``<parent>/<option name>/<sub key>``. Sub-decisions
are always decided (a supernas architecture is a full assignment); ``to_params`` keeps only those
under the chosen options, so trials receive NNI's usual nested form.

Parameters sent to trials (documented for NNI users): a flat object keyed like the search space,
``{"e0": "nor_conv_3x3", "lr": 0.1, "layer": {"_name": "conv", "kernel": 3}}``; an input choice's
value is the list of chosen candidate names.
"""
from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from supernas.errors import ConfigError
from supernas.space import Choice, Decision

SUPPORTED_TYPES = ("choice", "layer_choice", "input_choice")


@dataclass
class ConvertedSpace:
    """Decisions of an NNI search space plus what is needed to translate choices back."""

    decisions: list[Decision]
    # decision key -> option name -> original NNI value (choice / layer_choice)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    # input decision key -> candidate names
    candidates: dict[str, list[str]] = field(default_factory=dict)
    # top-level key order (nested keys are derived)
    roots: list[str] = field(default_factory=list)


def from_nni(search_space: Mapping[str, Any]) -> ConvertedSpace:
    """Convert an NNI search-space object into supernas decisions (see module docstring)."""
    if not isinstance(search_space, Mapping) or not search_space:
        raise ConfigError(f"searchSpace={search_space!r} is invalid; allowed: a non-empty object "
                          f"of entries with _type in {SUPPORTED_TYPES}")
    out = ConvertedSpace(decisions=[], roots=list(search_space))
    for key, entry in search_space.items():
        _add_entry(out, str(key), entry)
    return out


def _add_entry(out: ConvertedSpace, key: str, entry: Any) -> None:
    if not isinstance(entry, Mapping) or "_type" not in entry or "_value" not in entry:
        raise ConfigError(f"searchSpace.{key}={entry!r} is invalid; allowed: an object with "
                          f"_type (one of {SUPPORTED_TYPES}) and _value")
    kind = entry["_type"]
    if kind == "input_choice":
        _add_input(out, key, entry["_value"])
    elif kind in ("choice", "layer_choice"):
        _add_choice(out, key, entry["_value"])
    else:
        raise ConfigError(f"searchSpace.{key}._type={kind!r} is not supported; allowed: "
                          f"{', '.join(SUPPORTED_TYPES)} (discrete spaces only)")


def _add_choice(out: ConvertedSpace, key: str, options: Any) -> None:
    if not isinstance(options, list) or not options:
        raise ConfigError(f"searchSpace.{key}._value={options!r} is invalid; allowed: a non-empty list")
    names = _option_names(options)
    out.values[key] = dict(zip(names, options))
    out.decisions.append(Decision(key, "layer", choices=tuple(names)))
    for name, option in zip(names, options):
        for sub_key, sub_entry in _sub_entries(option):
            _add_entry(out, f"{key}/{name}/{sub_key}", sub_entry)


def _option_names(options: list[Any]) -> list[str]:
    """Readable unique names: ``_name`` of nested options, the value for scalars, else indices."""
    names = [str(o["_name"]) if isinstance(o, Mapping) and "_name" in o
             else o if isinstance(o, str) else json.dumps(o, sort_keys=True) for o in options]
    if len(set(names)) != len(names) or any("/" in n for n in names):
        names = [str(i) for i in range(len(options))]
    return names


def _sub_entries(option: Any) -> list[tuple[str, Any]]:
    if not isinstance(option, Mapping):
        return []
    return [(k, v) for k, v in option.items() if k != "_name"]


def _add_input(out: ConvertedSpace, key: str, value: Any) -> None:
    cands = value.get("candidates") if isinstance(value, Mapping) else None
    n_chosen = value.get("n_chosen") if isinstance(value, Mapping) else None
    if not isinstance(cands, list) or not cands:
        raise ConfigError(f"searchSpace.{key}._value={value!r} is invalid; allowed: "
                          "{\"candidates\": [names...], \"n_chosen\": k or null}")
    if n_chosen is not None and not (isinstance(n_chosen, int) and 1 <= n_chosen <= len(cands)):
        raise ConfigError(f"searchSpace.{key}._value.n_chosen={n_chosen!r} is invalid; allowed: "
                          f"an integer in 1..{len(cands)} or null")
    out.candidates[key] = [str(c) for c in cands]
    out.decisions.append(Decision(key, "input", n_candidates=len(cands), n_chosen=n_chosen,
                                  allow_empty=bool(value.get("allow_empty", False))))


def to_params(space: ConvertedSpace, choices: Mapping[str, Choice]) -> dict[str, Any]:
    """Trial parameters (NNI's nested form) for a full supernas assignment ``choices``."""
    return {root: _param_value(space, root, choices) for root in space.roots}


def _param_value(space: ConvertedSpace, key: str, choices: Mapping[str, Choice]) -> Any:
    if key in space.candidates:
        return [space.candidates[key][i] for i in choices[key]]
    name = choices[key]
    option = space.values[key][name]
    if not isinstance(option, Mapping):
        return option
    nested: dict[str, Any] = {"_name": option.get("_name", name)}
    for sub_key, _ in _sub_entries(option):
        nested[sub_key] = _param_value(space, f"{key}/{name}/{sub_key}", choices)
    return nested


def from_params(space: ConvertedSpace, params: Mapping[str, Any]) -> dict[str, Choice]:
    """Inverse of ``to_params``; sub-decisions of unchosen options get their first option."""
    choices: dict[str, Choice] = {}
    for root in space.roots:
        if root not in params:
            raise ConfigError(f"parameters.{root}: missing; allowed keys: {', '.join(space.roots)}")
        _read_value(space, root, params[root], choices)
    for d in space.decisions:  # inactive branches: any fixed value keeps the mapping total
        choices.setdefault(d.key, d.choices[0] if d.kind == "layer" else list(range(d.n_chosen or 1)))
    return choices


def _read_value(space: ConvertedSpace, key: str, value: Any, out: dict[str, Choice]) -> None:
    if key in space.candidates:
        names = space.candidates[key]
        if not isinstance(value, list) or any(v not in names for v in value):
            raise ConfigError(f"parameters.{key}={value!r} is invalid; allowed: a list of {names}")
        out[key] = sorted(names.index(v) for v in value)
        return
    name = _match_option(space, key, value)
    out[key] = name
    option = space.values[key][name]
    for sub_key, _ in _sub_entries(option):
        _read_value(space, f"{key}/{name}/{sub_key}", value.get(sub_key), out)


def _match_option(space: ConvertedSpace, key: str, value: Any) -> str:
    for name, option in space.values[key].items():
        if isinstance(option, Mapping) and isinstance(value, Mapping):
            if option.get("_name", name) == value.get("_name"):
                return name
        elif option == value and type(option) is type(value):
            return name
    raise ConfigError(f"parameters.{key}={value!r} is invalid; allowed: one of "
                      f"{list(space.values[key].values())!r}")


def to_nni(space_decisions: Sequence[Decision], style: str = "nas") -> dict[str, Any]:
    """Export supernas decisions as an NNI search space.

    ``style="nas"`` (lossless): ``layer_choice`` / ``input_choice`` entries, which ``from_nni``
    converts back to the same decisions. ``style="choice"``: plain ``choice`` entries so NNI's
    built-in HPO tuners (TPE, Random, Evolution) can search the space too; an input decision
    becomes a choice over its allowed index lists.
    """
    if style not in ("nas", "choice"):
        raise ConfigError(f"style={style!r} is invalid; allowed: 'nas', 'choice'")
    return {d.key: _export_one(d, style) for d in space_decisions}


def _export_one(d: Decision, style: str) -> dict[str, Any]:
    if d.kind == "layer":
        return {"_type": "layer_choice" if style == "nas" else "choice", "_value": list(d.choices)}
    if style == "choice":
        return {"_type": "choice", "_value": list(d.options())}
    value: dict[str, Any] = {"candidates": [str(i) for i in range(d.n_candidates)], "n_chosen": d.n_chosen}
    if d.allow_empty:
        value["allow_empty"] = True  # supernas extension (NNI's classic format has no such field)
    return {"_type": "input_choice", "_value": value}
