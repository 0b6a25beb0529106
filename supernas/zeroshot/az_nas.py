"""AZ-NAS's proxies: expressivity, progressivity, trainability (``az-expressivity``, ...).

Lee & Ham 2024, "AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search", CVPR,
arXiv 2403.19232, section 3. With f_1 .. f_L the feature maps at the primary blocks' outputs
(``supernas.zeroshot.block_features``) of a network initialised with Kaiming-normal (fan-in)
weights on one batch:

* expressivity: sum over l of the entropy of the normalised eigenvalues of the channel covariance
  of f_l (positions of the batch as samples): features spread over many directions score high;
* progressivity: the smallest increase of that per-block entropy from one block to the next;
* trainability: the mean over consecutive block pairs of ``2 - s - 1/s``, with s the largest
  singular value of the block's Jacobian, estimated as E[g_in g_out^T] for Rademacher vectors
  g_out pulled back through the block (g_in = J^T g_out; a stride is undone by pixel-unshuffling
  g_in), best at s = 1; a block that is exactly the identity scores ``-inf`` as in the paper.

The fourth proxy, complexity (FLOPs), is ``macs`` (``supernas.zeroshot.complexity``). Variant
notes: the eigenvalues are clamped at 0 before normalising (round-off can make them slightly
negative); a NaN statistic (e.g. every feature constant) is ``-inf``; a block pair whose spatial
ratio is not an integer, or whose output does not depend on its input, is left out of
trainability (``-inf`` if none is left). The network runs in training mode (batch statistics),
weights are redrawn from a private generator seeded with ``seed``, and the network's own weights,
buffers and mode are restored afterwards (``KeepState``).
"""
from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import torch
from torch import nn

from supernas.zeroshot.block_features import block_features
from supernas.zeroshot.registry import KeepState, register_proxy

EPS = 1e-8  # inside the entropy's log (AZ-NAS)
SIGMA_EPS = 1e-6  # in 1 / s (AZ-NAS)
NAMES = ("az-expressivity", "az-progressivity", "az-trainability")


@torch.no_grad()
def kaiming_init(network: nn.Module, generator: torch.Generator) -> None:
    """Conv/linear weights ~ Kaiming normal (fan-in, ReLU gain), biases 0; BN weight 1, bias 0."""
    for m in network.modules():
        if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu", generator=generator)
            if m.bias is not None:
                m.bias.zero_()
        elif isinstance(m, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm)) and m.weight is not None:
            m.weight.fill_(1.0)
            m.bias.zero_()


def spectral_entropy(feature: torch.Tensor) -> float:
    """Entropy of the normalised eigenvalues of the channel covariance of ``feature`` [N, C, H, W]."""
    rows = feature.detach().double().permute(0, 2, 3, 1).reshape(-1, feature.shape[1])  # [NHW, C]
    rows = rows - rows.mean(dim=0, keepdim=True)
    eig = torch.linalg.eigvalsh(rows.T @ rows / rows.shape[0]).clamp(min=0.0)  # [C]
    p = eig / eig.sum()
    value = float(-(p * torch.log(p + EPS)).sum())
    return -math.inf if math.isnan(value) else value


def jacobian_score(f_in: torch.Tensor, f_out: torch.Tensor, generator: torch.Generator) -> float | None:
    """``2 - s - 1/s`` for the block ``f_in -> f_out``; ``None`` when it cannot be estimated."""
    g_out = torch.randint(0, 2, f_out.shape, generator=generator, device=f_out.device)
    g_out = (2 * g_out - 1).to(f_out.dtype)  # Rademacher, [N, Co, Ho, Wo]
    (g_in,) = torch.autograd.grad(f_out, f_in, g_out, retain_graph=True, allow_unused=True)
    if g_in is None:
        return None
    if g_in.shape == g_out.shape and torch.equal(g_in, g_out):
        return -math.inf  # the block is the identity
    if g_in.shape[2:] != g_out.shape[2:]:
        stride = g_in.shape[2] // g_out.shape[2]
        if stride < 1 or g_in.shape[2:] != torch.Size([s * stride for s in g_out.shape[2:]]):
            return None
        g_in = nn.functional.pixel_unshuffle(g_in, stride)  # [N, Ci * stride^2, Ho, Wo]
    a = g_in.double().permute(0, 2, 3, 1).reshape(-1, g_in.shape[1])  # [positions, Ci']
    b = g_out.double().permute(0, 2, 3, 1).reshape(-1, g_out.shape[1])  # [positions, Co]
    s = float(torch.linalg.matrix_norm(a.T @ b / a.shape[0], ord=2))
    return 2.0 - s - 1.0 / (s + SIGMA_EPS)


def _trainability(features: list[torch.Tensor], generator: torch.Generator) -> float:
    scores = [jacobian_score(features[i - 1], features[i], generator)
              for i in reversed(range(1, len(features)))]
    kept = [s for s in scores if s is not None]
    value = sum(kept) / len(kept) if kept else -math.inf
    return -math.inf if math.isnan(value) else value


def az_statistics(network: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None, *,
                  seed: int = 0) -> dict[str, float]:
    """The three statistics (``NAMES``) of ``network`` on batch ``x``, from one forward pass."""
    gen = torch.Generator(device=x.device).manual_seed(seed)
    with KeepState(network), torch.enable_grad():
        network.train()
        kaiming_init(network, gen)
        features = block_features(network, x)
        entropies = [spectral_entropy(f) for f in features]
        steps = [b - a if math.isfinite(a) and math.isfinite(b) else -math.inf
                 for a, b in itertools.pairwise(entropies)]
        stats = {"az-expressivity": sum(entropies) if entropies else -math.inf,
                 "az-progressivity": min(steps) if steps else -math.inf,
                 "az-trainability": _trainability(features, gen)}
    return {k: -math.inf if math.isnan(v) else v for k, v in stats.items()}


def _one(name: str) -> Callable[..., float]:
    def proxy(network: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None, *,
              seed: int = 0) -> float:
        return az_statistics(network, x, y, seed=seed)[name]

    proxy.__doc__ = f"AZ-NAS {name.split('-')[1]} of ``network`` on batch ``x`` (module docstring)."
    proxy.joint = az_statistics  # type: ignore[attr-defined]  # an ensemble computes all three at once
    return register_proxy(name)(proxy)


az_expressivity, az_progressivity, az_trainability = (_one(n) for n in NAMES)
