"""Labelled decisions inside an ordinary ``torch.nn.Module``: ``LayerChoice`` and ``InputChoice``.

A mutable holds its candidates but does not decide how they run: its ``forward`` hands the call to
the mutator bound to it (see ``supernas.mutator``). The model code therefore stays the same whether
a fixed architecture, a sampled child or a DARTS mixture runs through it.

Keys are stable strings, unique in a space. Two mutables may carry the same key only when both
say ``shared=True`` and offer the same choices (one decision used in several places, e.g. the
NAS-Bench-201 cell repeated through the skeleton).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, cast

import torch
from torch import nn

from supernas.errors import SpaceError

REDUCTIONS = ("sum", "mean", "concat")


class Runner(Protocol):
    """What a mutable hands its ``forward`` to: every ``supernas.mutator.Mutator`` is one."""

    def layer_forward(self, mutable: LayerChoice, *args: Any, **kwargs: Any) -> Any: ...

    def input_forward(self, mutable: InputChoice, inputs: list[torch.Tensor]) -> torch.Tensor | None: ...

    def active_inputs(self, mutable: InputChoice) -> list[int] | None: ...


class Mutable(nn.Module):
    """Base class of every labelled decision. ``key`` names the decision in architectures."""

    _mutator: Runner | None  # set with object.__setattr__ (see __init__), not a submodule

    def __init__(self, key: str, shared: bool = False,
                 depends_on: tuple[str, int] | None = None) -> None:
        super().__init__()
        if not isinstance(key, str) or not key:
            raise SpaceError(f"mutable key={key!r} is invalid; allowed: a non-empty string")
        self.key = key
        self.shared = shared
        # (input-choice key, index): this mutable only matters when that input is chosen
        # (e.g. a DARTS edge op); ``freeze`` drops it otherwise.
        self.depends_on = depends_on
        # A plain attribute (not a submodule) so the mutator is not saved in state_dict.
        object.__setattr__(self, "_mutator", None)

    @property
    def mutator(self) -> Runner:
        if self._mutator is None:
            raise RuntimeError(
                f"mutable {self.key!r} has no mutator bound; call e.g. "
                "FixedMutator(architecture).bind(space) or freeze(space, architecture) first"
            )
        return self._mutator

    def bind_mutator(self, mutator: Runner | None) -> None:
        object.__setattr__(self, "_mutator", mutator)

    def signature(self) -> tuple[Any, ...]:
        """What must agree between shared mutables with the same key."""
        raise NotImplementedError


class LayerChoice(Mutable):
    """Choose one of several named candidate modules; the chosen one's output is the output.

    ``candidates`` is a mapping name -> module (names are the architecture tokens, e.g. op names
    from ``supernas.ops``) or a sequence of modules (names ``"0"``, ``"1"``, ...).
    """

    def __init__(
        self,
        candidates: Mapping[str, nn.Module] | Sequence[nn.Module],
        key: str,
        shared: bool = False,
        depends_on: tuple[str, int] | None = None,
    ) -> None:
        super().__init__(key, shared, depends_on)
        if not isinstance(candidates, Mapping):
            candidates = {str(i): m for i, m in enumerate(candidates)}
        if len(candidates) == 0:
            raise SpaceError(f"LayerChoice {key!r} has no candidates")
        self.candidates = nn.ModuleDict(dict(candidates))

    @property
    def names(self) -> list[str]:
        return list(self.candidates.keys())

    def signature(self) -> tuple[Any, ...]:
        return ("layer", tuple(self.names))

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.mutator.layer_forward(self, *args, **kwargs)


class InputChoice(Mutable):
    """Choose ``n_chosen`` of ``n_candidates`` input tensors and reduce them.

    ``forward`` takes the list of all candidate inputs. Reductions: ``sum`` (default, as in ENAS
    and DARTS cells), ``mean``, ``concat`` (along the channel dimension). With ``n_chosen=None``
    any non-empty subset is allowed (ENAS macro skip connections; an empty subset is allowed too
    when ``allow_empty`` is set, then the reduction of nothing is ``None``).
    """

    def __init__(
        self,
        n_candidates: int,
        n_chosen: int | None,
        key: str,
        reduction: str = "sum",
        shared: bool = False,
        allow_empty: bool = False,
        candidate_names: Sequence[str] | None = None,
    ) -> None:
        super().__init__(key, shared)
        if n_candidates < 1:
            raise SpaceError(f"InputChoice {key!r}: n_candidates={n_candidates}; allowed: >= 1")
        if n_chosen is not None and not 1 <= n_chosen <= n_candidates:
            raise SpaceError(
                f"InputChoice {key!r}: n_chosen={n_chosen}; allowed: 1..{n_candidates} or None"
            )
        if reduction not in REDUCTIONS:
            raise SpaceError(f"InputChoice {key!r}: reduction={reduction!r}; allowed: {REDUCTIONS}")
        self.n_candidates = n_candidates
        self.n_chosen = n_chosen
        self.reduction = reduction
        self.allow_empty = allow_empty
        self.candidate_names = list(candidate_names or [str(i) for i in range(n_candidates)])

    def signature(self) -> tuple[Any, ...]:
        return ("input", self.n_candidates, self.n_chosen, self.allow_empty)

    def active(self) -> list[int] | None:
        """Indices of the inputs the bound mutator will use (``None``: all of them).

        Cells call this before computing their inputs so a fixed or sampled architecture does
        not pay for branches it discards; pass ``None`` in ``forward`` for unused positions.
        """
        return self.mutator.active_inputs(self)

    def forward(self, inputs: Sequence[torch.Tensor | None]) -> torch.Tensor | None:
        if len(inputs) != self.n_candidates:
            raise ValueError(
                f"InputChoice {self.key!r} expects {self.n_candidates} inputs, got {len(inputs)}"
            )
        # mutators read only the active positions, which callers fill (None elsewhere)
        return self.mutator.input_forward(self, cast("list[torch.Tensor]", list(inputs)))


def reduce_inputs(tensors: Sequence[torch.Tensor], reduction: str) -> torch.Tensor | None:
    """Reduce chosen inputs with ``reduction``; ``None`` when nothing is chosen."""
    if len(tensors) == 0:
        return None
    if reduction == "concat":
        return torch.cat(list(tensors), dim=1)
    out = tensors[0]
    for t in tensors[1:]:
        out = out + t
    return out / len(tensors) if reduction == "mean" else out


def weighted_sum(tensors: Sequence[torch.Tensor], weights: torch.Tensor) -> torch.Tensor:
    """``sum_i weights[i] * tensors[i]`` without stacking (keeps memory at one output)."""
    out = tensors[0] * weights[0]
    for i in range(1, len(tensors)):
        out = out + tensors[i] * weights[i]
    return out
