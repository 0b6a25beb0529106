"""The ENAS controller: an LSTM that samples every decision of a space in ``decisions()`` order.

Pham et al. 2018, "Efficient Neural Architecture Search via Parameter Sharing", arXiv 1802.03268.
Variant implemented (generalised to any supernas space):

* one LSTM step per decision; the first input is a learned start embedding ``g_emb``;
* layer choices: ``softmax`` over a linear head of the hidden state; the chosen op's embedding is
  the next input. Decisions offering the same op names share one head and one embedding table
  (as ENAS shares ``w_soft``/``w_emb`` across layers), so any mix of choice counts works;
* input choices: attention over earlier hidden states, ``v^T tanh(W_a a_j + W_q h)`` as in the
  macro search's skip connections. An *anchor* is the hidden state at the end of a group of
  decisions, a group being the keys that share the part before their last ``/`` (``layer3/op``
  and ``layer3/skip`` form layer 3; ``normal/n3/in0``...``op1`` form node 3), so in the ENAS
  macro and micro spaces candidate ``j`` reads the state of the layer or node it names, as in the
  official code. Candidate ``j`` of an ``n``-candidate decision reads the ``n`` most recent
  anchors, left-padded with a learned vector (cell inputs, or spaces whose keys do not line up),
  plus a learned per-index embedding that identifies it in any space. ``n_chosen=None`` is a
  per-candidate sigmoid (macro skips); ``n_chosen=k`` draws ``k`` without replacement from a
  softmax. The mean of the chosen candidates' vectors is the next input;
* logits are divided by ``temperature`` then squashed to ``tanh_constant * tanh(.)``; op logits
  use ``tanh_constant / op_tanh_reduce`` (micro search);
* every pass returns the sample's log-probability, its entropy and the KL skip penalty towards
  ``skip_target`` (summed over ``n_chosen=None`` decisions);
* ``free_ops`` (decision key -> indices of parameter-free candidates, e.g. NB201's ``none``,
  ``skip_connect``, ``avg_pool_3x3``) adds, per such decision, the same KL for the total
  probability of those candidates towards ``free_target``, one-sided (only above the target):
  ENAS's skip penalty carried over from macro skip connections to the parameter-free ops of a
  cell, which pull weight-sharing searches into the all-skip cell (NAS-Bench-201, Dong & Yang
  2020, arXiv 2001.00326, reports 54.30 for ENAS: the all-skip cell).

Defaults (source): ``hidden_size=64`` and one LSTM layer (NNI's ENAS mutator); ``tanh_constant=1.5``,
``skip_target=0.4`` (official code, ``scripts/cifar10_macro_search.sh``); ``temperature=1`` (no
temperature in the macro search; the micro search uses 5.0, tanh 1.1, op_tanh_reduce 2.5).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import torch
from torch import nn

from supernas.controller import distributions as D
from supernas.errors import bad_value
from supernas.space import Choice, Decision


@dataclass
class Sample:
    """One pass of the controller: choices and the differentiable statistics of that path."""

    choices: dict[str, Choice]
    log_prob: torch.Tensor
    entropy: torch.Tensor
    skip_penalty: torch.Tensor
    probs: dict[str, list[float]] | None = None  # per decision, when asked for
    scored: bool = True  # False: choices only, log_prob/entropy/skip_penalty left at 0


#: Largest LSTM the settings accept: 8 x ENAS's 64 (Pham et al. 2018). Its weights with Adam's
#: state take about 35 MB, so a suggestion pod (1536Mi in manifests/ katib-config) can serve
#: many experiments; 20,000 would take gigabytes (issue 12).
MAX_HIDDEN_SIZE = 512

class _Head(nn.Module):
    """Softmax head and embedding table for layer decisions with one op set."""

    def __init__(self, n: int, hidden: int) -> None:
        super().__init__()
        self.soft = nn.Linear(hidden, n, bias=False)
        self.emb = nn.Embedding(n, hidden)


class EnasController(nn.Module):
    """LSTM policy over the decisions of a space (see the module docstring)."""

    def __init__(self, space_decisions: Sequence[Decision], hidden_size: int = 64,
                 num_layers: int = 1, tanh_constant: float | None = 1.5,
                 temperature: float = 1.0, op_tanh_reduce: float = 1.0,
                 skip_target: float = 0.4, free_ops: Mapping[str, Sequence[int]] | None = None,
                 free_target: float = 0.4) -> None:
        super().__init__()
        _check(hidden_size, num_layers, tanh_constant, temperature, op_tanh_reduce, skip_target)
        if not 0 < free_target < 1:
            raise bad_value("free_target", free_target, "a probability strictly between 0 and 1")
        self.free_ops = {k: list(v) for k, v in (free_ops or {}).items() if v}
        self.free_target = free_target
        self.decisions = list(space_decisions)
        self.hidden_size, self.num_layers = hidden_size, num_layers
        self.tanh_constant, self.temperature = tanh_constant, temperature
        self.op_tanh_reduce, self.skip_target = op_tanh_reduce, skip_target
        self.lstm = nn.ModuleList(nn.LSTMCell(hidden_size, hidden_size) for _ in range(num_layers))
        self.g_emb = nn.Parameter(torch.empty(1, hidden_size).uniform_(-0.1, 0.1))
        self.heads = nn.ModuleDict()
        self._head_of: dict[str, str] = {}
        for d in self.decisions:
            if d.kind == "layer":
                self._head_of[d.key] = self._head_for(d.choices)
        self._build_attention()
        groups = [d.key.rsplit("/", 1)[0] for d in self.decisions]
        self._group_ends = [a != b for a, b in zip(groups, groups[1:] + [None])]
        for p in self.parameters():  # ENAS initialises the controller uniformly in [-0.1, 0.1]
            nn.init.uniform_(p, -0.1, 0.1)

    def _head_for(self, choices: tuple[str, ...]) -> str:
        name = "ops_" + "__".join(choices).replace(".", "_")
        if name not in self.heads:
            self.heads[name] = _Head(len(choices), self.hidden_size)
        return name

    def _build_attention(self) -> None:
        n_max = max([d.n_candidates for d in self.decisions if d.kind == "input"], default=0)
        hid = self.hidden_size
        self.attn_anchor = nn.Linear(hid, hid, bias=False)
        self.attn_query = nn.Linear(hid, hid, bias=False)
        self.attn_v = nn.Linear(hid, 1, bias=False)
        self.pad_anchor = nn.Parameter(torch.zeros(1, hid))
        self.index_emb = nn.Embedding(max(n_max, 1), hid)

    def forward(self, fixed: Mapping[str, Choice] | None = None,
                generator: torch.Generator | None = None, greedy: bool = False,
                record_probs: bool = False, score: bool = True) -> Sample:
        """Sample (``fixed=None``), or score the architecture ``fixed`` (teacher forcing).

        ``greedy`` takes the likeliest option at every step; ``record_probs`` fills
        ``Sample.probs`` (per decision: op probabilities, or per-input probabilities);
        ``score=False`` skips the statistics (same choices, same random numbers, ~half the cost).
        """
        zero = self.g_emb.new_zeros(1, self.hidden_size)  # on the controller's device
        state = [(zero, zero) for _ in self.lstm]
        x: torch.Tensor = self.g_emb  # [1, H]
        anchors: list[torch.Tensor] = []  # each [1, H]
        scalar = self.g_emb.new_zeros(())
        out = Sample({}, scalar, scalar, scalar, {} if record_probs else None, score)
        for d, group_ends in zip(self.decisions, self._group_ends):
            h = self._lstm_step(x, state)
            given = None if fixed is None else fixed[d.key]
            if d.kind == "layer":
                x = self._layer(d, h, given, generator, greedy, out)
            else:
                x = self._input(d, h, anchors, given, generator, greedy, out)
            if group_ends:
                anchors.append(h)
        return out

    def _lstm_step(self, x: torch.Tensor, state: list[tuple[torch.Tensor, torch.Tensor]]
                   ) -> torch.Tensor:
        for i, cell in enumerate(self.lstm):
            state[i] = cell(x, state[i])
            x = state[i][0]
        return x  # [1, H]

    def _shape(self, logits: torch.Tensor, reduce: float = 1.0) -> torch.Tensor:
        logits = logits / self.temperature
        if self.tanh_constant is not None:
            logits = (self.tanh_constant / reduce) * torch.tanh(logits)
        return logits

    def _layer(self, d: Decision, h: torch.Tensor, given: Choice | None,
               gen: torch.Generator | None, greedy: bool, out: Sample) -> torch.Tensor:
        head = cast(_Head, self.heads[self._head_of[d.key]])
        logits = self._shape(head.soft(h).view(-1), self.op_tanh_reduce)  # [n_ops]
        idx = d.choices.index(given) if given is not None else D.categorical(logits, gen, greedy)
        out.choices[d.key] = d.choices[idx]
        if out.scored:
            out.log_prob = out.log_prob + torch.log_softmax(logits, -1)[idx]
            out.entropy = out.entropy + D.categorical_entropy(logits)
            free = self.free_ops.get(d.key)
            if free:
                mass = torch.softmax(logits, -1)[free].sum()
                out.skip_penalty = out.skip_penalty + D.excess_kl(mass, self.free_target)
        _record(out, d.key, torch.softmax(logits.detach(), -1))
        return head.emb.weight[idx].view(1, -1)

    def _input(self, d: Decision, h: torch.Tensor, anchors: list[torch.Tensor],
               given: Choice | None, gen: torch.Generator | None, greedy: bool,
               out: Sample) -> torch.Tensor:
        n = d.n_candidates
        recent = anchors[-n:] if anchors else []
        states = torch.cat([self.pad_anchor] * (n - len(recent)) + recent, 0)  # [n, H]
        cands = states + self.index_emb.weight[:n]  # [n, H]
        query = self.attn_anchor(cands) + self.attn_query(h)  # [n, H]
        logits = self._shape(self.attn_v(torch.tanh(query)).view(-1))  # [n]
        if d.n_chosen is None:
            chosen = list(given) if given is not None else D.bernoulli(logits, gen, greedy,
                                                                       d.allow_empty)
            if out.scored:
                out.log_prob = out.log_prob + D.bernoulli_log_prob(logits, chosen)
                out.entropy = out.entropy + D.bernoulli_entropy(logits)
                out.skip_penalty = out.skip_penalty + D.skip_kl(logits, self.skip_target)
            _record(out, d.key, torch.sigmoid(logits.detach()))
        else:
            chosen = list(given) if given is not None else D.draw_k(logits, d.n_chosen, gen, greedy)
            if out.scored:
                out.log_prob = out.log_prob + D.set_log_prob(logits, chosen)
                out.entropy = out.entropy + D.categorical_entropy(logits)
            _record(out, d.key, torch.softmax(logits.detach(), -1))
        out.choices[d.key] = sorted(chosen)
        return cands[chosen].mean(0, keepdim=True) if chosen else self.g_emb


def _record(out: Sample, key: str, probs: torch.Tensor) -> None:
    if out.probs is not None:
        out.probs[key] = probs.tolist()


def _check(hidden: int, layers: int, tanh: float | None, temp: float, reduce: float,
           skip_target: float) -> None:
    if not isinstance(hidden, int) or hidden < 1:
        raise bad_value("hidden_size", hidden, "an integer >= 1 (ENAS: 64)")
    if not isinstance(layers, int) or layers < 1:
        raise bad_value("num_layers", layers, "an integer >= 1")
    if tanh is not None and not (tanh > 0 and math.isfinite(tanh)):
        raise bad_value("tanh_constant", tanh, "a finite number > 0, or None for no squashing")
    if not (temp > 0 and math.isfinite(temp)):
        raise bad_value("temperature", temp, "a finite number > 0")
    if not (reduce > 0 and math.isfinite(reduce)):
        raise bad_value("op_tanh_reduce", reduce, "a finite number > 0")
    if not 0 < skip_target < 1:
        raise bad_value("skip_target", skip_target, "a probability strictly between 0 and 1")
