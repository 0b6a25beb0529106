"""Draw many architectures in one batched controller pass (no gradient).

The controller's cost is one LSTM step per decision, dominated by per-op overhead rather than
arithmetic, so drawing ``n`` architectures side by side costs about as much as drawing one. One-shot
ENAS keeps a small buffer of such draws (emptied whenever the controller is updated, so every
child is still drawn from the current policy) to keep the per-step overhead low on large spaces.

Each row follows exactly the distribution of ``EnasController.forward`` (same logits, same
sampling rules: see ``supernas.controller.distributions``); only the order in which random numbers
are consumed differs.
"""
from __future__ import annotations

from typing import cast

import torch
import torch.nn.functional as F

from supernas.controller.lstm import EnasController, _Head
from supernas.space import Choice, Decision


@torch.no_grad()
def sample_batch(ctrl: EnasController, n: int, gen: torch.Generator | None = None
                 ) -> list[dict[str, Choice]]:
    """``n`` architectures drawn independently from ``ctrl``'s current policy."""
    zero = ctrl.g_emb.new_zeros(n, ctrl.hidden_size)
    state = [(zero, zero) for _ in ctrl.lstm]
    x = ctrl.g_emb.expand(n, -1)  # [n, H]
    anchors: list[torch.Tensor] = []  # each [n, H]
    out: list[dict[str, Choice]] = [{} for _ in range(n)]
    for d, group_ends in zip(ctrl.decisions, ctrl._group_ends):
        h = ctrl._lstm_step(x, state)  # [n, H]
        if d.kind == "layer":
            x = _layer(ctrl, d, h, gen, out)
        else:
            x = _input(ctrl, d, h, anchors, gen, out)
        if group_ends:
            anchors.append(h)
    return out


def _layer(ctrl: EnasController, d: Decision, h: torch.Tensor, gen: torch.Generator | None,
           out: list[dict[str, Choice]]) -> torch.Tensor:
    head = cast(_Head, ctrl.heads[ctrl._head_of[d.key]])
    logits = ctrl._shape(head.soft(h), ctrl.op_tanh_reduce)  # [n, ops]
    idx = torch.multinomial(F.softmax(logits, -1).cpu(), 1, generator=gen).view(-1)  # [n]
    for row, i in enumerate(idx.tolist()):
        out[row][d.key] = d.choices[i]
    return head.emb.weight[idx.to(logits.device)]  # [n, H]


def _input(ctrl: EnasController, d: Decision, h: torch.Tensor, anchors: list[torch.Tensor],
           gen: torch.Generator | None, out: list[dict[str, Choice]]) -> torch.Tensor:
    n, k = h.shape[0], d.n_candidates
    recent = anchors[-k:]
    pad = ctrl.pad_anchor.expand(n, -1)
    states = torch.stack([pad] * (k - len(recent)) + recent, 1)  # [n, k, H]
    cands = states + ctrl.index_emb.weight[:k]  # [n, k, H]
    query = ctrl.attn_anchor(cands) + ctrl.attn_query(h).unsqueeze(1)  # [n, k, H]
    logits = ctrl._shape(ctrl.attn_v(torch.tanh(query)).squeeze(-1)).cpu()  # [n, k]
    mask = _skip_mask(logits, gen, d.allow_empty) if d.n_chosen is None else \
        _k_mask(logits, d.n_chosen, gen)  # [n, k] bool
    for row in range(n):
        out[row][d.key] = mask[row].nonzero().view(-1).tolist()
    w = mask.to(cands.dtype).to(cands.device).unsqueeze(-1)  # [n, k, 1]
    count = w.sum(1)  # [n, 1]
    mean = (w * cands).sum(1) / count.clamp(min=1)  # [n, H]
    return torch.where(count > 0, mean, ctrl.g_emb.expand(n, -1))


def _skip_mask(logits: torch.Tensor, gen: torch.Generator | None, allow_empty: bool
               ) -> torch.Tensor:
    probs = torch.sigmoid(logits)  # [n, k]
    mask = torch.rand(probs.shape, generator=gen) < probs
    if not allow_empty:
        empty = ~mask.any(1)
        mask[empty, probs[empty].argmax(1)] = True
    return mask


def _k_mask(logits: torch.Tensor, k: int, gen: torch.Generator | None) -> torch.Tensor:
    masked = logits.clone()
    mask = torch.zeros_like(logits, dtype=torch.bool)
    rows = torch.arange(len(logits))
    for _ in range(k):
        idx = torch.multinomial(F.softmax(masked, -1), 1, generator=gen).view(-1)
        mask[rows, idx] = True
        masked[rows, idx] = float("-inf")
    return mask
