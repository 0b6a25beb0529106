"""Temperature schedules for ``softmax(alpha / T)`` (DARTS with temperature, BATS).

BATS (Bulat et al., ECCV 2020, arXiv 2003.01711, Sec. 3.2) regularises the search with a
temperature below 1, which sharpens the architecture distribution and stops the collapse onto
parameter-free ops; T = 1 is plain DARTS (Liu et al. 2019, arXiv 1806.09055). The schedule is
evaluated once per epoch:

* ``constant``: ``T = start``;
* ``linear``: ``start + (end - start) * epoch / (max_epochs - 1)``;
* ``exponential``: ``start * (end / start) ** (epoch / (max_epochs - 1))``.

Epoch 0 gives ``start``, the last epoch (``max_epochs - 1``) gives ``end``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from supernas.errors import bad_value

SCHEDULES = ("constant", "linear", "exponential")


def check_temperature(field: str, value: float) -> float:
    """``value`` as a float if it is a finite number > 0, else a ``ConfigError``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        raise bad_value(field, value, "a finite number > 0")
    return float(value)


@dataclass(frozen=True)
class TemperatureSchedule:
    """T per epoch from ``start`` to ``end`` (``end`` defaults to ``start``)."""

    start: float = 1.0
    end: float | None = None
    kind: str = "constant"

    def __post_init__(self) -> None:
        if self.kind not in SCHEDULES:
            raise bad_value("temperature_schedule", self.kind, ", ".join(SCHEDULES))
        check_temperature("temperature", self.start)
        if self.end is not None:
            check_temperature("temperature_end", self.end)

    def value(self, epoch: int, max_epochs: int) -> float:
        """Temperature for ``epoch`` (0-based) of ``max_epochs``."""
        end = self.start if self.end is None else self.end
        if self.kind == "constant" or max_epochs <= 1:
            return float(self.start)
        frac = min(max(epoch / (max_epochs - 1), 0.0), 1.0)
        if self.kind == "linear":
            return self.start + (end - self.start) * frac
        return self.start * (end / self.start) ** frac
