"""Katib ``algorithmSettings`` (every value a string) through the one settings schema.

Each Katib algorithm accepts the scalar fields of one or more ``supernas.settings.Settings``
dataclasses (the strategy's or one-shot algorithm's own, the trial recipe, the shared-weights
directory); ``parse_settings`` reads the strings with ``Settings.parse``, exactly as the trial's
``--set`` and NNI's ``classArgs`` are read, so a setting is refused here with the same message
the trial would give. Where Katib's names differ from the fields (drop-in ``enas``), an explicit
rename table maps them, and errors name the Katib setting.
"""
from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from supernas.errors import ConfigError, bad_value
from supernas.settings import Settings, field_types, scalar

TRIAL_DIR_KEY = "suggestion_trial_dir"
#: Strings allowed in a setting value: they are pasted raw into assignments (``formats.py``).
_WORD = re.compile(r"^[A-Za-z0-9_.+-]*$")


@dataclass(frozen=True)
class TrialDir(Settings):
    """Katib's key (pkg/controller.v1beta1/consts/const.go SuggestionVolumeMountKey): when set,
    Katib's pod webhook mounts the suggestion PVC sub-directory ``<experiment>/<trial>`` there."""

    suggestion_trial_dir: str = ""  # no weight sharing

    def validate(self) -> None:
        d = self.suggestion_trial_dir
        if not isinstance(d, str) or d and (not d.startswith("/") or any(c in d for c in "\"\\$` ")):
            raise bad_value(TRIAL_DIR_KEY, d, "an absolute path without quotes, spaces, $ or backslashes")


def offered(schema: type[Settings]) -> list[str]:
    """The fields of ``schema`` a Katib string can carry (scalars: no tuples or lists)."""
    return [name for name, hint in field_types(schema).items() if scalar(hint)]


def parse_settings(raw: Iterable[Any], schemas: Sequence[type[Settings]],
                   rename: Mapping[str, str] | None = None, defaults: Mapping[str, Any] | None = None,
                   accepted: Collection[str] | None = None) -> list[Settings]:
    """``raw``: Katib ``AlgorithmSetting``s (``name``/``value``). One validated instance per
    schema; ``rename`` maps Katib names to field names, ``defaults`` (field names) replace the
    fields' own defaults, ``accepted`` (Katib names) limits what may be set."""
    rename = dict(rename or {})
    katib_name = {v: k for k, v in rename.items()}
    owner = {f: i for i, s in enumerate(schemas) for f in offered(s)
             if accepted is None or katib_name.get(f, f) in accepted}
    values: list[dict[str, Any]] = [{k: v for k, v in (defaults or {}).items() if owner.get(k) == i}
                                    for i in range(len(schemas))]
    seen: set[str] = set()
    for item in raw:
        name = rename.get(item.name, item.name)
        if name not in owner or item.name in katib_name:
            allowed = sorted(katib_name.get(f, f) for f in owner)
            raise ConfigError(f"unknown argument(s) {item.name}; allowed: {', '.join(allowed)}")
        if item.name in seen:
            raise bad_value(item.name, item.value, "each setting given once")
        seen.add(item.name)
        if name != TRIAL_DIR_KEY and not _WORD.match(item.value):
            raise bad_value(item.name, item.value, "letters, digits and _ . + - only")
        values[owner[name]][name] = item.value
    try:
        return [schema.parse(v) for schema, v in zip(schemas, values)]
    except ConfigError as exc:
        raise renamed(exc, katib_name) from None


def renamed(exc: ConfigError, names: Mapping[str, str]) -> ConfigError:
    """``exc`` naming the Katib setting instead of the field."""
    if exc.field in names and exc.allowed is not None:
        return bad_value(names[exc.field], exc.value, exc.allowed)
    return exc


def plain(instances: Sequence[Settings], rename: Mapping[str, str] | None = None,
          accepted: Collection[str] | None = None) -> dict[str, Any]:
    """Katib name -> value of every field that may be set (the identity of the saved state)."""
    katib_name = {v: k for k, v in (rename or {}).items()}
    out = {katib_name.get(f.name, f.name): getattr(s, f.name)
           for s in instances for f in fields(s) if f.name in offered(type(s))}
    return {k: v for k, v in out.items() if accepted is None or k in accepted}
