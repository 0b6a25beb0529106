"""Candidate-op subsets of the cell spaces (the ``ops`` argument of ``darts`` and ``bats``).

A cell space searches every edge over one op list; a run (or a Katib Experiment's
``nasConfig.operations``) may restrict it to a subset. The list is checked once, when the space is
built: non-empty, no repeats, each op one the space can hold, and at least one op besides
``none`` (deriving a discrete cell picks the strongest op other than ``none`` on every edge, as
DARTS does, arXiv 1806.09055 Sec. 2.4). The order given is the candidates' order.
"""
from __future__ import annotations

from collections.abc import Collection, Sequence

from supernas.errors import bad_value

NONE_OP = "none"


def op_subset(ops: Sequence[str] | None, default: Sequence[str], allowed: Collection[str],
              allowed_text: str) -> list[str]:
    """``ops`` (``None``: ``default``) as a list, or ``bad_value("ops", ...)`` saying
    ``allowed_text`` (what the space can hold) when it cannot be searched."""
    names = list(default if ops is None else ops)
    unknown = [op for op in names if not isinstance(op, str) or op not in allowed]
    if not names or unknown or len(set(names)) != len(names) or set(names) == {NONE_OP}:
        raise bad_value("ops", names, f"a non-empty list of distinct ops, at least one besides "
                        f"{NONE_OP!r}, from {allowed_text}")
    return names
