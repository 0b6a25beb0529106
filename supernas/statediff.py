"""Changes between two versions of a JSON state, as small operations, and their replay.

``supernas.statelog`` appends, per saved event, only what changed since the last save. The last
saved version is kept as a *shadow*: per dict key its own shadow, per long list (``LONG`` items
or more) a shallow copy of its items, per other value its JSON text. ``diff`` walks the new state
against the shadow and emits operations (their values already as JSON text):

* ``["put", path, value]``: ``path`` (a list of dict keys) now holds ``value``; ``path == []``
  replaces the whole state;
* ``["del", path]``: the key is gone;
* ``["ext", path, items]``: the long list at ``path`` grew by ``items``;
* ``["set", path, index, value]``: one item of the long list at ``path`` was replaced.

``apply`` replays them on the decoded state, so ``apply``-ing every operation of every save to
the first state gives the last one: equal values, dict keys in the same order, tuples read back
as lists (JSON has no tuples). Costs per save: the JSON text of the values that changed, plus a
comparison of each long list with its copy (items compare by identity first, so a list whose
items are the same objects as at the last save costs a pointer walk, not a deep comparison).
Contract: items of a long list are not mutated in place once saved (replacing one by a new
object is detected). Dict keys must be strings. The "append-only file plus in-place replay"
shape is Redis's append-only file (https://redis.io/docs/latest/operate/oss_and_stack/management/persistence/).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

#: lists at least this long are diffed item by item (appends and replacements), shorter ones whole
LONG = 64
_BLOCK = 64  # items compared at once when looking for the replaced items of a long list
_SAFE = bytes(c for c in range(32, 127) if chr(c) not in '"\\')  # JSON-safe as they are
Shadow = Any  # dict[str, Shadow] | _Seq | _Leaf
_encode = json.JSONEncoder(separators=(",", ":")).encode  # one encoder, not one per call


@dataclass
class _Leaf:
    value: Any  # kept for the identity test of strings only (immutable)
    text: str


@dataclass
class _Seq:
    items: list[Any]


def dumps(value: Any) -> str:
    """Compact JSON text of ``value`` (``NaN``/``Infinity`` allowed, as Python's json reads them);
    an ASCII string needing no escapes is quoted as it is (several times faster for the long hex
    strings of tensors); numbers skip the encoder (``json.dumps`` writes ``int.__repr__``)."""
    kind = type(value)
    if kind is str:
        if value.isascii() and not value.encode().translate(None, _SAFE):
            return f'"{value}"'
    elif kind is int:
        return int.__repr__(value)
    elif kind is float:
        return float.__repr__(value) if value - value == 0.0 else _encode(value)  # finite
    elif value is None:
        return "null"
    return _encode(value)


def shadow_of(value: Any) -> tuple[Shadow, str]:
    """The shadow of ``value`` and its JSON text (one encoding pass)."""
    if isinstance(value, dict):
        parts, shadow = [], {}
        for key, item in value.items():
            _check_key(key)
            shadow[key], text = shadow_of(item)
            parts.append(f"{dumps(key)}:{text}")
        return shadow, "{" + ",".join(parts) + "}"
    text = dumps(value)
    if isinstance(value, (list, tuple)) and len(value) >= LONG:
        return _Seq(list(value)), text
    return _Leaf(value, text), text


def diff(shadow: Shadow, value: Any, path: list[str], ops: list[str]) -> Shadow:
    """Append to ``ops`` the operations (JSON text) turning ``shadow`` into ``value``; returns the
    shadow of ``value``."""
    kind = type(value)
    if kind is str:
        if type(shadow) is _Leaf and shadow.value is value:
            return shadow  # the same string object: unchanged, no encoding
    elif kind is dict or isinstance(value, dict):
        if type(shadow) is dict:
            return _diff_dict(shadow, value, path, ops)
    elif type(shadow) is _Seq and isinstance(value, (list, tuple)) and len(value) >= LONG:
        return _diff_seq(shadow, value, path, ops)
    new, text = shadow_of(value)
    if not (type(shadow) is _Leaf and type(new) is _Leaf and shadow.text == text):
        ops.append(f'["put",{dumps(path)},{text}]')
    return new


def _diff_dict(shadow: dict[str, Shadow], value: dict[str, Any], path: list[str],
               ops: list[str]) -> Shadow:
    keys = list(value)
    if keys != list(shadow):  # keys added or removed: replayed order must stay the same
        kept = [k for k in shadow if k in value]
        for key in keys:
            if key not in shadow:
                _check_key(key)
        if keys != kept + [k for k in value if k not in shadow]:
            new, text = shadow_of(value)
            ops.append(f'["put",{dumps(path)},{text}]')
            return new
        ops.extend(f'["del",{dumps([*path, k])}]' for k in shadow if k not in value)
    out: dict[str, Shadow] = {}
    for key, item in value.items():  # new keys are checked by shadow_of
        path.append(key)  # one list for the whole walk: no path built per node
        out[key] = diff(shadow.get(key), item, path, ops)
        path.pop()
    return out


def _diff_seq(shadow: _Seq, value: list[Any] | tuple[Any, ...], path: list[str],
              ops: list[str]) -> Shadow:
    old, items, n = shadow.items, list(value), len(shadow.items)
    if len(items) >= n and items[:n] == old:  # identity first: cheap when only appended
        if len(items) > n:
            ops.append(f'["ext",{dumps(path)},{dumps(items[n:])}]')
        return _Seq(items)
    changed = _changed(old, items, n // 8) if len(items) >= n else None
    if changed is None:  # shrank, or more than an eighth rewritten: the whole list
        ops.append(f'["put",{dumps(path)},{dumps(items)}]')
        return _Seq(items)
    ops.extend(f'["set",{dumps(path)},{i},{dumps(items[i])}]' for i in changed)
    if len(items) > n:
        ops.append(f'["ext",{dumps(path)},{dumps(items[n:])}]')
    return _Seq(items)


def _changed(old: list[Any], new: list[Any], limit: int) -> list[int] | None:
    """Indices where ``new`` differs from ``old`` (over ``old``'s length); None past ``limit``.
    Blocks of ``_BLOCK`` items are compared in C first; only differing blocks are walked."""
    out: list[int] = []
    for start in range(0, len(old), _BLOCK):
        stop = min(start + _BLOCK, len(old))
        if new[start:stop] == old[start:stop]:
            continue
        out.extend(i for i in range(start, stop) if new[i] is not old[i] and new[i] != old[i])
        if len(out) > limit:
            return None
    return out


def apply(state: Any, op: list[Any]) -> Any:
    """``state`` after operation ``op`` (decoded JSON); raises ValueError on a malformed one."""
    try:
        kind, path = op[0], op[1]
        if kind == "put" and path == []:
            return op[2]
        parent = state
        for key in path[:-1]:
            parent = parent[key]
        _APPLY[kind](parent, path[-1], op[2:])
    except (KeyError, IndexError, TypeError) as exc:
        raise ValueError(f"state log operation {str(op)[:200]} does not apply: {exc!r}") from exc
    return state


def _put(parent: dict[str, Any], key: str, args: list[Any]) -> None:
    parent[key] = args[0]


def _delete(parent: dict[str, Any], key: str, args: list[Any]) -> None:
    del parent[key]


def _extend(parent: dict[str, Any], key: str, args: list[Any]) -> None:
    parent[key].extend(args[0])


def _set(parent: dict[str, Any], key: str, args: list[Any]) -> None:
    parent[key][args[0]] = args[1]


_APPLY = {"put": _put, "del": _delete, "ext": _extend, "set": _set}


def _check_key(key: Any) -> None:
    if not isinstance(key, str):
        raise TypeError(f"state dict keys must be strings (JSON), not {type(key).__name__} {key!r}")
