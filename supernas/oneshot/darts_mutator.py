"""The DARTS mixing mutator: ``softmax(alpha / T)`` per layer decision, and derivation.

DARTS (Liu et al. 2019, arXiv 1806.09055) relaxes every layer decision to a softmax-weighted mix
of its candidates; the temperature ``T`` (BATS, Bulat et al. 2020, arXiv 2003.01711) divides the
logits, ``T = 1`` being plain DARTS. Input decisions get no parameters: a DARTS cell sums all its
incoming edges during the search, and the inputs kept at the end are derived from the strength
of each edge, i.e. the strongest non-``none`` op weight on the ``LayerChoice`` whose
``depends_on`` names that input (DARTS Sec. 2.4: "retain the top-k strongest operations from
distinct nodes").

Less arithmetic, same maths: candidates that are ``Zero`` modules (the ``none`` op) are not run,
since ``w * 0`` adds nothing to the mix and passes no gradient to ``w`` (the softmax still covers
``none``, so the other weights are unchanged); inside ``once_per_pass()`` each key's softmax is
computed once and reused by every mutable sharing that key (one forward pass per block); the
candidates of an edge that start with ``ReLU(x)`` share one ``ReLU(x)``
(``supernas.ops.shared_relu``), and the mix is accumulated in place with direct gradients
(``supernas.oneshot.weighted_mix``).

Spaces this mutator can drive: every ``InputChoice`` has ``n_chosen`` set and each of its
candidate inputs has an edge ``LayerChoice`` declaring ``depends_on=(input key, index)``.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from supernas.errors import SpaceError, bad_value
from supernas.mutables import LayerChoice, Mutable
from supernas.mutator import MixingMutator
from supernas.oneshot.dirichlet import MIXINGS, dirichlet_weights
from supernas.oneshot.weighted_mix import weighted_mix
from supernas.ops.layers import Zero
from supernas.ops.shared_relu import run_candidates
from supernas.space import Choice, Decision

NONE_OP = "none"


class DartsMutator(MixingMutator):
    """One ``alpha`` vector per layer decision (shared keys share it); weights softmax(alpha/T),
    or DrNAS's Dirichlet draws with ``mixing="dirichlet"``."""

    def __init__(self, temperature: float = 1.0, alpha_init: float = 1e-3, seed: int = 0,
                 mixing: str = "softmax") -> None:
        super().__init__()
        if mixing not in MIXINGS:
            raise bad_value("mixing", mixing, ", ".join(MIXINGS))
        self.mixing = mixing  # "dirichlet": DrNAS samples in training (supernas.oneshot.dirichlet)
        self.temperature = temperature
        self.alpha_init = alpha_init  # DARTS code: alpha = 1e-3 * N(0, 1)
        self.generator = torch.Generator().manual_seed(seed)
        self.alpha: dict[str, nn.Parameter] = {}
        self.edges: dict[str, dict[int, str]] = {}  # input key -> {input index: edge layer key}
        self._cache: dict[str, torch.Tensor] | None = None  # set inside ``once_per_pass``
        self.aux_skip = 0.0  # DARTS- auxiliary skip coefficient (set by the search per epoch)

    def on_bind(self, model: nn.Module) -> None:
        """Create alphas (once: binding again keeps them)."""
        self.edges = _edges_of(self.mutables)
        _check_drivable(self.decisions, self.edges, getattr(model, "space_name", None))
        like = next(model.parameters(), torch.zeros(()))  # alphas follow its device and dtype
        for d in self.decisions:
            if d.kind == "layer" and d.key not in self.alpha:
                init = self.alpha_init * torch.randn(len(d.choices), generator=self.generator)
                self.alpha[d.key] = nn.Parameter(init.to(like.device, like.dtype))

    def arch_parameters(self) -> list[nn.Parameter]:
        """The architecture parameters, in decision order (register them to move devices)."""
        return list(self.alpha.values())

    def layer_weights(self, key: str, sample: bool = False) -> torch.Tensor:
        """Mixing weights of ``key`` (``[n_choices]``); ``sample``: a Dirichlet draw (training)."""
        sample = sample and self.mixing == "dirichlet"
        if self._cache is None:
            return self._weights(key, sample)
        slot = f"{key}\0sample" if sample else key
        if slot not in self._cache:
            self._cache[slot] = self._weights(key, sample)
        return self._cache[slot]

    def _weights(self, key: str, sample: bool) -> torch.Tensor:
        if self.mixing == "dirichlet":
            return dirichlet_weights(self.alpha[key], self.temperature, sample)
        return torch.softmax(self.alpha[key] / self.temperature, dim=-1)

    @contextmanager
    def once_per_pass(self) -> Iterator[None]:
        """Within the block, each key's softmax is computed once (use for ONE forward pass)."""
        outer, self._cache = self._cache, {}
        try:
            yield
        finally:
            self._cache = outer

    def layer_forward(self, mutable: LayerChoice, *args: Any, **kwargs: Any) -> Any:
        """``sum_i w_i * op_i(x)`` over the candidates that are not ``Zero`` (exact, see above)."""
        live = [(i, op) for i, op in enumerate(mutable.candidates.values())
                if not isinstance(op, Zero)]
        if not live:
            return super().layer_forward(mutable, *args, **kwargs)
        weights = self.layer_weights(mutable.key, sample=mutable.training)  # [n_choices]
        x = args[0] if args else None
        ops = [op for _, op in live]
        if len(args) == 1 and not kwargs and isinstance(x, torch.Tensor):
            outs = run_candidates(ops, x)  # one ReLU(x) for the ops that start with it
        else:
            outs = [op(*args, **kwargs) for op in ops]
        out = weighted_mix(outs, weights, [i for i, _ in live])
        if self.aux_skip and isinstance(x, torch.Tensor) and x.shape == out.shape:
            out = out + self.aux_skip * x  # DARTS- (arXiv 2009.01027): auxiliary skip, beta -> 0
        return out

    def probabilities(self) -> dict[str, torch.Tensor]:
        """Detached mixing weights per layer decision (``softmax(alpha / T)``; Dirichlet: the
        sharpened mean)."""
        return {k: self.layer_weights(k).detach() for k in self.alpha}

    def edge_strength(self, key: str) -> float:
        """Largest non-``none`` weight of layer decision ``key``."""
        names = self._choices(key)
        probs = self.layer_weights(key).detach()
        keep = [i for i, n in enumerate(names) if n != NONE_OP] or list(range(len(names)))
        return float(probs[keep].max())

    def input_strengths(self, key: str) -> list[float]:
        """Strength of every candidate input of input decision ``key``."""
        edges = self.edges[key]
        return [self.edge_strength(edges[i]) for i in range(len(edges))]

    def derive(self) -> dict[str, Choice]:
        """Argmax non-``none`` op per layer decision; top-``n_chosen`` inputs by edge strength."""
        out: dict[str, Choice] = {}
        for d in self.decisions:
            if d.kind == "layer":
                out[d.key] = self._best_op(d.key)
            else:
                strengths = self.input_strengths(d.key)
                order = sorted(range(len(strengths)), key=lambda i: (-strengths[i], i))
                out[d.key] = sorted(order[: d.n_chosen])
        return out

    def _best_op(self, key: str) -> str:
        names = self._choices(key)
        probs = self.layer_weights(key).detach()
        keep = [i for i, n in enumerate(names) if n != NONE_OP] or list(range(len(names)))
        return names[max(keep, key=lambda i: float(probs[i]))]

    def _choices(self, key: str) -> list[str]:
        first = self.mutables[key][0]
        assert isinstance(first, LayerChoice)
        return first.names


def _edges_of(mutables: dict[str, list[Mutable]]) -> dict[str, dict[int, str]]:
    edges: dict[str, dict[int, str]] = {}
    for key, group in mutables.items():
        dep = group[0].depends_on
        if isinstance(group[0], LayerChoice) and dep is not None:
            edges.setdefault(dep[0], {})[dep[1]] = key
    return edges


def _check_drivable(decisions: list[Decision], edges: dict[str, dict[int, str]],
                    space: str | None) -> None:
    """Refuse input decisions DARTS cannot derive (see the module docstring)."""
    where = f"space {space!r}" if space else "this space"
    if not decisions:
        raise SpaceError(f"darts: {where} has no decisions to search")
    for d in decisions:
        if d.kind != "input":
            continue
        missing = sorted(set(range(d.n_candidates)) - set(edges.get(d.key, {})))
        if d.n_chosen is None or missing:
            raise SpaceError(
                f"darts cannot drive input decision {d.key!r} of {where}: it needs n_chosen set "
                f"(got {d.n_chosen!r}) and an edge LayerChoice with depends_on=({d.key!r}, i) for "
                f"every input i (missing: {missing}); allowed: DARTS-style cells "
                "(e.g. the 'darts', 'nb201' or 'bats' spaces)"
            )

