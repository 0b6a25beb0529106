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
The drop-in formats here are byte-compatible with that (every string inside is checked against
``SAFE_TOKEN``, so the swap is lossless and no ``\\ $ ``` can appear). supernas formats do not
swap quotes (a counter-example in STYLE.md): structured values travel as ``b64:`` + URL-safe
base64 of compact JSON (alphabet ``A-Za-z0-9-_``), which ``supernas train --architecture-json``
and ``$SUPERNAS_ARCHITECTURE`` accept as is (``trial_templates/archsource.py``); flat values
(op lists, settings) are ``k=v`` / ``a,b,c`` lists of safe tokens.
"""
from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from supernas.errors import bad_value

#: Characters allowed in every string that ends up inside an assignment value.
SAFE_TOKEN = re.compile(r"^[A-Za-z0-9_.:,=+\-]+$")
UNSAFE = set("\"\\$`")
B64_PREFIX = "b64:"


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


def b64_json(obj: Any) -> str:
    """supernas convention for structured values: ``b64:`` + URL-safe base64 of compact JSON."""
    raw = json.dumps(obj, separators=(",", ":")).encode()
    return B64_PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(value: str) -> Any:
    """Inverse of ``katib_json`` and ``b64_json``."""
    if value.startswith(B64_PREFIX):
        text = value[len(B64_PREFIX):]
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    return json.loads(value.replace("'", '"'))


def flat_list(items: Sequence[str]) -> str:
    """``a,b,c`` (every item a safe token without ``,``)."""
    return _checked(",".join(items))


def flat_settings(settings: Mapping[str, Any]) -> str:
    """``k=v,k=v`` in key order; ``None`` is written ``None`` (Katib's spelling)."""
    parts = [f"{k}={json.dumps(v) if isinstance(v, bool) else v}" for k, v in settings.items()]
    return _checked(",".join(parts))


def parse_flat_settings(text: str) -> dict[str, str]:
    """Inverse of ``flat_settings`` (values stay strings)."""
    return dict(item.split("=", 1) for item in text.split(",") if item)


def _checked(value: str) -> str:
    bad = sorted(UNSAFE.intersection(value))
    if bad:  # unreachable when every string went through check_token
        raise ValueError(f"assignment value {value!r} contains {bad}; Katib cannot paste it raw")
    return value
