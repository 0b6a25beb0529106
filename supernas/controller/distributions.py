"""Sampling, log-probabilities and entropies of one controller decision from its logits.

Three kinds of decision (see ``supernas.space.Decision``):

* layer choice: one of ``n`` ops, categorical over ``softmax(logits)``;
* input choice with ``n_chosen=k``: ``k`` draws without replacement from ``softmax(logits)``; the
  probability of the chosen *set* sums over its orderings (exact for ``k <= 4``, beyond that the
  ascending order stands in for the set), so sampling and later scoring of an observed
  architecture give the same number;
* input choice with ``n_chosen=None``: one Bernoulli per candidate, ``sigmoid(logit)`` (ENAS macro
  skip connections). An empty draw where empty is not allowed is replaced by the likeliest
  candidate; its log-probability is still that of the Bernoulli vector.
"""
from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F

MAX_EXACT_K = 4


def categorical(logits: torch.Tensor, gen: torch.Generator | None, greedy: bool) -> int:
    """One index from ``softmax(logits)`` (``logits``: [n])."""
    if greedy:
        return int(logits.argmax())
    probs = F.softmax(logits.detach(), dim=-1).cpu()  # the generator lives on the CPU
    return int(torch.multinomial(probs, 1, generator=gen))


def categorical_entropy(logits: torch.Tensor) -> torch.Tensor:
    logp = F.log_softmax(logits, dim=-1)
    return -(logp.exp() * logp).sum()


def draw_k(logits: torch.Tensor, k: int, gen: torch.Generator | None, greedy: bool) -> list[int]:
    """``k`` distinct indices, drawn one by one from the softmax over the remaining ones."""
    if greedy:
        return sorted(int(i) for i in logits.topk(k).indices)
    masked = logits.detach().cpu().clone()
    chosen: list[int] = []
    for _ in range(k):
        i = categorical(masked, gen, greedy=False)
        chosen.append(i)
        masked[i] = float("-inf")
    return sorted(chosen)


def set_log_prob(logits: torch.Tensor, chosen: list[int]) -> torch.Tensor:
    """log P(the set ``chosen``) under sequential draws without replacement."""
    orders = (list(itertools.permutations(chosen)) if len(chosen) <= MAX_EXACT_K
              else [tuple(chosen)])
    terms = [_sequence_log_prob(logits, list(order)) for order in orders]
    return torch.logsumexp(torch.stack(terms), dim=0)


def _sequence_log_prob(logits: torch.Tensor, order: list[int]) -> torch.Tensor:
    total = logits.new_zeros(())
    mask = torch.zeros_like(logits, dtype=torch.bool)
    for i in order:
        logp = F.log_softmax(logits.masked_fill(mask, float("-inf")), dim=-1)
        total = total + logp[i]
        mask = mask.clone()
        mask[i] = True
    return total


def bernoulli(logits: torch.Tensor, gen: torch.Generator | None, greedy: bool,
              allow_empty: bool) -> list[int]:
    """Indices whose Bernoulli(sigmoid(logit)) came up 1 (``logits``: [n])."""
    probs = torch.sigmoid(logits.detach()).cpu()
    if greedy:
        picked = [i for i in range(len(probs)) if probs[i] > 0.5]
    else:
        draws = torch.rand(len(probs), generator=gen)
        picked = [i for i in range(len(probs)) if draws[i] < probs[i]]
    if not picked and not allow_empty:
        picked = [int(probs.argmax())]
    return picked


def bernoulli_log_prob(logits: torch.Tensor, chosen: list[int]) -> torch.Tensor:
    target = torch.zeros_like(logits)
    target[chosen] = 1.0
    return -F.binary_cross_entropy_with_logits(logits, target, reduction="sum")


def bernoulli_entropy(logits: torch.Tensor) -> torch.Tensor:
    p = torch.sigmoid(logits)
    return (F.binary_cross_entropy_with_logits(logits, p, reduction="none")).sum()


def skip_kl(logits: torch.Tensor, target: float) -> torch.Tensor:
    """sum_i KL(Bernoulli(sigmoid(logit_i)) || Bernoulli(target)): the ENAS skip penalty."""
    p = torch.sigmoid(logits).clamp(1e-6, 1 - 1e-6)
    return (p * torch.log(p / target) + (1 - p) * torch.log((1 - p) / (1 - target))).sum()


def excess_kl(mass: torch.Tensor, target: float) -> torch.Tensor:
    """KL(Bernoulli(mass) || Bernoulli(target)) where ``mass > target``, else 0 (scalar ``mass``):
    the ENAS skip penalty (``skip_kl``) one-sided, for the total probability of a set of ops."""
    p = mass.clamp(1e-6, 1 - 1e-6)
    kl = p * torch.log(p / target) + (1 - p) * torch.log((1 - p) / (1 - target))
    return torch.where(p > target, kl, torch.zeros_like(kl))
