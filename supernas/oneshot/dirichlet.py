"""Dirichlet mixing weights for DARTS (``darts`` setting ``mixing="dirichlet"``).

DrNAS (Chen et al., ICLR 2021, arXiv 2006.10355) treats each edge's mixing weights as a random
vector ``w ~ Dirichlet(c)`` with concentration ``c = elu(alpha) + 1`` and trains ``alpha`` through
the pathwise (reparameterised) gradient of the sample; the weights of every forward pass in
training are a fresh sample, and the derived op is the argmax of ``alpha`` (authors' code,
``201-space/search_model.py``; its l2 regulariser is Adam's weight decay on ``alpha``, 1e-3,
which is ``darts``'s ``arch_weight_decay`` default). The sampling noise is what DrNAS credits
for keeping the search off the parameter-free cells without removing the skip op's advantage.

Temperature: supernas sharpens each sample as ``softmax(log(w) / T)`` (``w ** (1 / T)``,
renormalised). ``T = 1`` is DrNAS as published. An annealed ``T`` (1 -> 0.1 by the ``darts``
default schedule) turns the late samples towards one-hot draws, so the weights train nearly
single paths chosen with the learned distribution, as the hard samples of GDAS (Dong & Yang,
CVPR 2019, arXiv 1910.04465) do, while alpha still gets the relaxed gradient; unlike a constant T
on a plain softmax, this is not an architecture learning-rate change. Outside training (and for
the probabilities a search reports) the Dirichlet mean ``c / sum(c)`` takes the sample's place,
sharpened the same way.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

MIXINGS = ("softmax", "dirichlet")
_FLOOR = 1e-12  # keeps log(w) finite when a sample underflows


def concentration(alpha: torch.Tensor) -> torch.Tensor:
    """DrNAS's ``elu(alpha) + 1`` (always > 0)."""
    return F.elu(alpha) + 1.0


def sharpen(weights: torch.Tensor, temperature: float) -> torch.Tensor:
    """``weights ** (1 / T)`` renormalised: ``softmax(log(weights) / T)``."""
    if temperature == 1.0:
        return weights / weights.sum(-1, keepdim=True)
    return torch.softmax(torch.log(weights.clamp_min(_FLOOR)) / temperature, dim=-1)


def dirichlet_weights(alpha: torch.Tensor, temperature: float, sample: bool) -> torch.Tensor:
    """A sharpened ``Dirichlet(elu(alpha) + 1)`` sample (``sample``) or its sharpened mean."""
    conc = concentration(alpha)
    if sample:
        draw = torch.distributions.Dirichlet(conc).rsample()
    else:
        draw = conc / conc.sum(-1, keepdim=True)
    return sharpen(draw, temperature)
