"""How assignment values are written, so Katib can paste them raw into JSON and ``sh -c``.

What Katib does with a value (kubeflow/katib at 33c8ff4e5):

1. ``pkg/controller.v1beta1/experiment/manifest/generator.go`` ``applyParameters`` replaces every
   ``${trialParameters.<name>}`` in the *JSON text* of the trial template with the raw value, so a
   ``"`` or ``\\`` in a value breaks the template JSON.
2. With the StdOut / File metrics collector, ``pkg/webhook/v1beta1/pod/utils.go``
   ``wrapWorkerContainer`` joins the primary container's command into one ``sh -c`` string, so the
   examples' ``--architecture="${...}"`` is shell-quoted by ``"``: a ``$``, backquote, ``"`` or ``\\``
   in a value would be expanded or end the quoting.

Katib's own ``enas`` and ``darts`` services therefore emit ``json.dumps(x).replace('"', "'")``
and the trial images (``RunTrial.py``, ``run_trial.py``) undo it with ``replace("'", '"')``.
The drop-in formats here are byte-compatible with that. supernas formats use the same convention
but compact (no spaces) and with a guarantee: every string inside (keys, op tokens, settings) is
checked against ``SAFE_TOKEN``, so values contain none of ``" \\ $ ` '`` except the ``'`` quotes, and
``decode(value)`` restores the JSON exactly.
"""
from __future__ import annotations

import json
import re
from typing import Any

from supernas.errors import bad_value

#: Characters allowed in every string that ends up inside an assignment value.
SAFE_TOKEN = re.compile(r"^[A-Za-z0-9_.:,=+\-]+$")
UNSAFE = set("\"\\$`")


def is_safe_token(text: str) -> bool:
    """True when ``text`` may appear inside a quoted assignment value."""
    return bool(SAFE_TOKEN.match(text))


def check_token(field: str, text: str) -> str:
    """Return ``text`` or raise a ``ConfigError`` naming ``field``."""
    if not is_safe_token(text):
        raise bad_value(field, text, "letters, digits and _ . : , = + - only (Katib pastes values "
                                     "raw into JSON and sh -c)")
    return text


def katib_json(obj: Any) -> str:
    """Katib's own convention: ``json.dumps`` with every ``"`` replaced by ``'`` (with spaces)."""
    return _checked(json.dumps(obj).replace('"', "'"))


def compact_json(obj: Any) -> str:
    """supernas convention: compact JSON, ``"`` replaced by ``'``."""
    return _checked(json.dumps(obj, separators=(",", ":")).replace('"', "'"))


def decode(value: str) -> Any:
    """Inverse of ``katib_json`` / ``compact_json``."""
    return json.loads(value.replace("'", '"'))


def _checked(value: str) -> str:
    bad = sorted(UNSAFE.intersection(value))
    if bad:  # unreachable when every string went through check_token
        raise ValueError(f"assignment value {value!r} contains {bad}; Katib cannot paste it raw")
    return value
