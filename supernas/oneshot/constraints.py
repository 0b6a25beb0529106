"""Parameter / multiply-accumulate limits for searches over a supernet.

``CostLimit`` answers "does this architecture fit?" with the parameter count of the frozen child
(computed on the supernet, skipping unchosen candidates, so no copy is made: equal to
``supernas.cost.count_parameters(freeze(space, choices))``) and, given ``input_size``, its
multiply-accumulates for one input (``supernas.cost.count_macs`` run on the supernet with the
architecture's path bound, which counts what the frozen child runs); costs are cached.
The SPOS paper (Guo et al. 2020, arXiv 1904.00420, section 3.4) searches under a FLOPs limit by
discarding candidates over it during evolution; random and zero-shot search here do the same.

When no random draw fits, ``cheapest`` lowers the cost one decision at a time (coordinate
descent) to tell a hard limit from an impossible one; an impossible limit is refused with a
``ConfigError`` naming the limit and the smallest cost found. ``draw_feasible`` and
``uniform_drawer`` live with the searches (``supernas.strategies.feasible``; importable here too).
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from torch import nn

from supernas.architecture import validate
from supernas.errors import ConfigError, bad_value
from supernas.mutables import LayerChoice, Mutable
from supernas.mutator import FixedMutator
from supernas.space import Choice, decisions, named_mutables
from supernas.strategies.dedupe import arch_key
from supernas.strategies.feasible import draw_feasible, uniform_drawer

Choices = dict[str, Choice]
__all__ = ["Choices", "CostLimit", "arch_key", "draw_feasible", "path_parameters", "run_path",
           "uniform_drawer"]
MAX_INPUT_OPTIONS = 16  # input decisions: only the smallest subsets are tried by ``cheapest``


def _check_limit(name: str, value: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise bad_value(name, value, "a positive integer or None (no limit)")
    return value


def _check_input_size(input_size: Sequence[int] | None, needed: bool) -> tuple[int, ...] | None:
    if input_size is None:
        if needed:
            raise bad_value("input_size", None, "the input shape of one sample, e.g. [3, 32, 32], "
                            "required with max_macs")
        return None
    size = tuple(input_size)
    if not size or not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in size):
        raise bad_value("input_size", input_size, "a non-empty list of positive integers, e.g. [3, 32, 32]")
    return size


class CostLimit:
    """``max_params`` and/or ``max_macs`` (with ``input_size``) for architectures of ``space``."""

    def __init__(self, space: nn.Module, max_params: int | None = None, max_macs: int | None = None,
                 input_size: Sequence[int] | None = None) -> None:
        self.space = space
        self.max_params = _check_limit("max_params", max_params)
        self.max_macs = _check_limit("max_macs", max_macs)
        self.input_size = _check_input_size(input_size, self.max_macs is not None)
        self._cache: dict[str, dict[str, int]] = {}
        self._decisions = decisions(space)

    @property
    def active(self) -> bool:
        return self.max_params is not None or self.max_macs is not None

    def describe(self) -> str:
        parts = [f"max_params={self.max_params}"] if self.max_params is not None else []
        if self.max_macs is not None:
            parts.append(f"max_macs={self.max_macs} (input_size={list(self.input_size or ())})")
        return ", ".join(parts) or "no limit"

    def cost(self, choices: Mapping[str, Choice]) -> dict[str, int]:
        """``{"params": ..., "macs": ...}`` of the frozen child (``macs`` only with ``input_size``)."""
        key = arch_key(choices)
        if key not in self._cache:
            self._cache[key] = self._measure(choices)
        return dict(self._cache[key])

    def _measure(self, choices: Mapping[str, Choice]) -> dict[str, int]:
        from supernas.cost import count_macs

        out = {"params": path_parameters(self.space, validate(choices, self._decisions))}
        if self.input_size is not None:
            with run_path(self.space, choices):
                out["macs"] = int(count_macs(self.space, self.input_size))
        return out

    def load(self, choices: Mapping[str, Choice]) -> float:
        """The largest cost / limit ratio (<= 1 fits; 0 without limits)."""
        if not self.active:
            return 0.0
        cost = self.cost(choices)
        ratios = [cost["params"] / self.max_params] if self.max_params is not None else []
        if self.max_macs is not None:
            ratios.append(cost["macs"] / self.max_macs)
        return max(ratios)

    def fits(self, choices: Mapping[str, Choice]) -> bool:
        return self.load(choices) <= 1.0

    def cheapest(self, start: Mapping[str, Choice], passes: int = 3) -> Choices:
        """Lower ``load`` one decision at a time from ``start`` (coordinate descent)."""
        best, best_load = dict(start), self.load(start)
        for _ in range(passes):
            improved = False
            for d in self._decisions:
                for option in itertools.islice(d.options(), MAX_INPUT_OPTIONS):
                    trial = {**best, d.key: option}
                    trial_load = self.load(trial)
                    if trial_load < best_load:
                        best, best_load, improved = trial, trial_load, True
            if not improved:
                break
        return best

    def impossible(self, cheapest: Mapping[str, Choice]) -> ConfigError:
        """The error for a limit that not even ``cheapest`` meets."""
        return ConfigError(
            f"no architecture of this space fits the limit {self.describe()}; the cheapest "
            f"architecture found costs {self.cost(cheapest)}; allowed: a limit at or above that cost"
        )


def path_parameters(space: nn.Module, choices: Mapping[str, Choice]) -> int:
    """``count_parameters(freeze(space, choices))`` without copying the supernet: the parameters
    of every module except unchosen candidates and layers dropped by ``depends_on``, each once."""
    sizes: dict[int, int] = {}
    stack: list[nn.Module] = [space]
    while stack:
        module = stack.pop()
        if isinstance(module, Mutable) and module.depends_on is not None:
            input_key, index = module.depends_on
            if index not in choices[input_key]:
                continue
        sizes.update((id(p), p.numel()) for p in module.parameters(recurse=False))
        if isinstance(module, LayerChoice):
            stack.append(module.candidates[choices[module.key]])
        else:
            stack.extend(module.children())
    return sum(sizes.values())


@contextmanager
def run_path(space: nn.Module, choices: Mapping[str, Choice]) -> Iterator[None]:
    """Run ``choices`` through ``space`` inside the block, then give every mutable back the
    mutator it had (the supernet's own search state is untouched)."""
    found = named_mutables(space)
    saved = [m._mutator for _, m in found]
    FixedMutator(choices).bind(space)
    try:
        yield
    finally:
        for (_, m), mutator in zip(found, saved):
            m.bind_mutator(mutator)
