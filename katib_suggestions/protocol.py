"""What a request must hold before the service acts on it, and how a retry is recognised.

Names become paths (``<state-dir>/<experiment>/...``, ``<experiment>/<trial>/``), so only what
Katib itself sends is accepted: Kubernetes DNS-1123 labels (lower-case letters, digits and ``-``,
starting and ending with a letter or digit, at most 63 characters; Katib labels pods with both
names, and label values are at most 63). Anything else is refused with a ``ConfigError`` naming
the request field, before any state changes.

Retries: Katib's suggestion controller re-sends the same ``GetSuggestions`` request when it could
not record the reply (a failed status update, a restarted service). ``request_key`` identifies a
request by the names of the trials it carries (not their status: a trial may finish between the
first attempt and the retry), ``current_request_number`` and ``total_request_number`` (Katib's
``Suggestion.spec.requests``, which grows with every new request), so a retry can be answered
with the reply already given.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

from kubeflow.katib import katib_api_pb2 as pb

from katib_suggestions.trials import trial_names
from supernas.errors import bad_value

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
#: Newline-terminated DNS labels of at most 63 characters: every trial name checked in one match.
LABEL_LINES = re.compile(r"(?:[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?\n)*")
#: Trial names that passed the check (one per trial of the process's experiments): a name is
#: matched once, not on every call that carries it.
_CHECKED: set[str] = set()
MAX_LABEL = 63
LABEL_RULE = "a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a " \
             "letter or digit, at most 63 characters"


def check_label(field: str, name: str) -> str:
    """``name`` if it is a DNS-1123 label, else a ``ConfigError`` naming ``field``."""
    if len(name) > MAX_LABEL or not DNS_LABEL.match(name):
        shown = name if len(name) <= 80 else name[:80] + f"... ({len(name)} characters)"
        raise bad_value(field, shown, LABEL_RULE)
    return name


def check_request(request: pb.GetSuggestionsRequest) -> None:
    """Refuse a request the service cannot act on safely (names, counts)."""
    check_label("experiment.name", request.experiment.name)
    if request.current_request_number < 0:
        raise bad_value("current_request_number", request.current_request_number, "an integer >= 0")
    names = trial_names(request)
    new = set(names).difference(_CHECKED)  # names of earlier calls passed already
    if new and not LABEL_LINES.fullmatch("".join(n + "\n" for n in new)):
        for i, name in enumerate(names):  # which one is not a label
            check_label(f"trials[{i}].name", name)
    _CHECKED.update(new)


def request_key(request: pb.GetSuggestionsRequest) -> str:
    """Identity of a request for retries (module docstring)."""
    names = "\n".join(sorted(trial_names(request))).encode()
    digest = hashlib.sha256(names).hexdigest()[:32]
    return f"{request.current_request_number}/{request.total_request_number}/{digest}"


#: The spec fields an algorithm is built from; Katib lets users edit the trial counts of a running
#: experiment, so those are left out.
BUILT_FROM = ("parameter_specs", "objective", "algorithm", "early_stopping", "nas_config")


def spec_digest(experiment: pb.Experiment) -> str:
    """Fingerprint of what ``experiment``'s algorithm is built from (``BUILT_FROM``)."""
    h = hashlib.sha256()
    for field in BUILT_FROM:
        h.update(getattr(experiment.spec, field).SerializeToString(deterministic=True) + b"\0")
    return h.hexdigest()[:32]


def inside(root: Path, path: Path, field: str, value: str) -> Path:
    """``path`` if, with symbolic links resolved, it lies strictly under ``root``."""
    base, resolved = root.resolve(), path.resolve()
    if resolved == base or not resolved.is_relative_to(base):
        raise bad_value(field, value, f"a name whose directory stays under {base} "
                                      f"(it resolves to {resolved})")
    return path
