"""Where ``supernas train`` gets its architecture, and the text forms it accepts.

Sources, first found wins: ``--architecture FILE`` (or ``nni``: ``nni.get_next_parameter()``, read
once per trial: ``trial_templates.nni_params.read_nni_parameters``),
``--architecture-json TEXT``, the ``SUPERNAS_ARCHITECTURE`` environment variable. Text forms:

* architecture JSON (``Architecture.to_json()``: ``{"space": ..., "space_args": ..., "choices": ...}``);
* flat JSON choices ``{"e0": "nor_conv_3x3", ...}`` (needs ``--space``);
* ``b64:`` + URL-safe base64 of either JSON form (no quotes: safe for Katib, which pastes values raw
  into JSON and ``sh -c``);
* flat pairs ``e0=nor_conv_3x3,e1=skip_connect,normal/n2=0+1`` (input choices as ``+``-joined
  indices; needs ``--space``).
"""
from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from supernas.architecture import Architecture
from supernas.errors import ArchitectureError, bad_value
from trial_templates.nni_params import read_nni_parameters

ENV_VAR = "SUPERNAS_ARCHITECTURE"
MAX_JSON_DEPTH = 32
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')  # JSON strings, whose brackets do not nest
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def parse_architecture_text(text: str) -> dict[str, Any]:
    """Any accepted text form -> a JSON-like dict (architecture form or flat choices)."""
    text = text.strip()
    if text.startswith("b64:"):
        try:
            raw = base64.urlsafe_b64decode(text[4:] + "=" * (-len(text[4:]) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise bad_value("architecture", text[:40], f"valid URL-safe base64 after 'b64:' ({exc})") from None
        return parse_architecture_text(raw)
    if text.startswith("{"):
        check_json_depth(text, "architecture")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ArchitectureError([f"architecture JSON: {exc}"]) from None
        return data
    return _pairs(text)


def check_json_depth(text: str, field: str, limit: int = MAX_JSON_DEPTH) -> None:
    """Refuse JSON nested deeper than ``limit`` arrays/objects before parsing it (Python's parser
    would end in a ``RecursionError``; an architecture nests 3 levels)."""
    depth = 0
    for ch in _NOT_BRACKET.sub("", _STRING.sub("", text)):
        depth += 1 if ch in "[{" else -1
        if depth > limit:
            raise bad_value(field, text[:40] + ("..." if len(text) > 40 else ""),
                            f"JSON nested at most {limit} levels deep (an architecture nests 3)")


def load_architecture_file(path: str | Path) -> Architecture:
    """An architecture JSON file (``Architecture.to_json()``), depth-checked before it is parsed."""
    p = Path(path)
    if not p.is_file():
        raise ArchitectureError([f"architecture file {str(p)!r} does not exist"])
    text = p.read_text()
    check_json_depth(text, "architecture")
    return Architecture.from_json(text)


def _pairs(text: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise bad_value("architecture", text[:60], "JSON, b64:<base64 JSON> or key=op,key=0+1 pairs")
        is_input = value == "" or all(p.isdigit() for p in value.split("+"))
        out[key] = [int(p) for p in value.split("+") if p] if is_input else value
    return out


def to_architecture(data: Mapping[str, Any], space: str | None,
                    space_args: Mapping[str, Any] | None = None) -> Architecture:
    """Architecture form, or flat choices of ``space`` (which must then be given)."""
    if "choices" in data:
        return Architecture.from_dict(data)
    if not space:
        raise bad_value("space", None, "a registered space name (flat choices carry no space)")
    return Architecture.from_dict({"space": space, "space_args": dict(space_args or {}), "choices": dict(data)})


def find_architecture(path: str | None, text: str | None, space: str | None,
                      space_args: Mapping[str, Any] | None = None,
                      env: Mapping[str, str] | None = None) -> Architecture:
    """Resolve the architecture from the sources above (see module docstring)."""
    env = os.environ if env is None else env
    if path == "nni":
        data: Any = read_nni_parameters()
    elif path:
        if not Path(path).is_file():
            raise ArchitectureError([f"architecture file {path!r} does not exist"])
        data = parse_architecture_text(Path(path).read_text())
    elif text:
        data = parse_architecture_text(text)
    elif env.get(ENV_VAR):
        data = parse_architecture_text(env[ENV_VAR])
    else:
        raise bad_value("architecture", None,
                        f"--architecture FILE, --architecture-json TEXT or ${ENV_VAR}")
    if not isinstance(data, Mapping):
        raise ArchitectureError([f"architecture: expected an object, got {type(data).__name__}"])
    return to_architecture(data, space, space_args)
