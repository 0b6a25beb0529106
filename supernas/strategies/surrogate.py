"""A small torch ensemble of MLPs predicting a trial's reward from an architecture encoding.

The surrogate of the model-based strategies (``bo``: BANANAS, White et al., AAAI 2021, arXiv
1910.11858; ``pnas``: Liu et al., ECCV 2018, arXiv 1712.00559). Both papers predict accuracy with
an ensemble of neural networks: BANANAS takes the ensemble's spread as its uncertainty (ensemble
of 5 feed-forward networks, the size we keep), PNAS averages an ensemble of predictors.

Variant here: ``ensemble_size`` fully connected ReLU networks trained as one batched model (weights
``[E, in, out]``, so the members cost one matrix product per layer), each from its own random
initialisation, full batch, Adam, mean squared error on rewards standardised by the training set's
mean and standard deviation. Layer width, depth, epochs and learning rate are ours, chosen small
enough that a fit on 200 architectures costs tens of milliseconds on one CPU core (BANANAS'
networks are deeper; NB201 figures in ``supernas/strategies/bo.py``).

Training is deterministic given the seed passed to ``fit`` (a private ``torch.Generator``; the
global torch RNG is untouched), so a strategy that refits from its history at the same points
rebuilds the same predictions after a restart.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from supernas.settings import choice, integer, number
from supernas.space import Choice
from supernas.strategies.base import StrategySettings
from supernas.strategies.dedupe import arch_key
from supernas.strategies.encoding import ENCODINGS, Encoder

Choices = dict[str, Choice]


@dataclass(frozen=True)
class SurrogateSettings(StrategySettings):
    """Settings of the surrogate shared by ``bo`` and ``pnas`` (sources in the module docstring)."""

    encoding: str = "auto"  # supernas.strategies.encoding: path for the NB201 cell (BANANAS)
    ensemble_size: int = 5  # BANANAS: an ensemble of 5 networks
    hidden_size: int = 32  # ours (cost)
    hidden_layers: int = 2  # ours (cost)
    epochs: int = 150  # ours: full-batch Adam steps per fit
    surrogate_lr: float = 0.01  # ours
    initial: int = 10  # ours: random architectures before the first fit

    def validate(self) -> None:
        super().validate()
        choice("encoding", self.encoding, ENCODINGS)
        integer("ensemble_size", self.ensemble_size, low=1, high=64)
        integer("hidden_size", self.hidden_size, low=1, high=1024)
        integer("hidden_layers", self.hidden_layers, low=0, high=16)
        integer("epochs", self.epochs, low=1, high=100_000)
        number("surrogate_lr", self.surrogate_lr, low=0.0, high=10.0, low_open=True)
        integer("initial", self.initial, low=1)


class MlpEnsemble:
    """``E`` MLPs over ``in_features`` inputs, trained together; ``predict`` gives mean and std."""

    def __init__(self, in_features: int, settings: SurrogateSettings) -> None:
        self.sizes = [in_features] + [settings.hidden_size] * settings.hidden_layers + [1]
        self.members, self.epochs, self.lr = settings.ensemble_size, settings.epochs, settings.surrogate_lr
        self.weights: list[torch.Tensor] = []  # [E, in, out] per layer
        self.biases: list[torch.Tensor] = []  # [E, 1, out] per layer
        self.y_mean, self.y_std = 0.0, 1.0

    def _init(self, gen: torch.Generator) -> None:
        self.weights, self.biases = [], []
        for fan_in, fan_out in zip(self.sizes[:-1], self.sizes[1:]):
            bound = 1.0 / fan_in ** 0.5  # torch.nn.Linear's default range
            w = (torch.rand(self.members, fan_in, fan_out, generator=gen) * 2 - 1) * bound
            b = (torch.rand(self.members, 1, fan_out, generator=gen) * 2 - 1) * bound
            self.weights.append(w.requires_grad_())
            self.biases.append(b.requires_grad_())

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` ``[N, F]`` -> ``[E, N]`` standardised predictions."""
        h = x.unsqueeze(0).expand(self.members, -1, -1)  # [E, N, F]
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            h = torch.baddbmm(b, h, w)  # [E, N, out]
            if i < last:
                h = torch.relu(h)
        return h.squeeze(-1)

    def fit(self, x: Sequence[Sequence[float]], y: Sequence[float], seed: int) -> None:
        """Train every member from its own initialisation on (encodings ``x``, rewards ``y``)."""
        xt, yt = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
        self.y_mean = float(yt.mean())
        self.y_std = float(yt.std()) if len(y) > 1 and float(yt.std()) > 0 else 1.0
        target = ((yt - self.y_mean) / self.y_std).expand(self.members, -1)  # [E, N]
        self._init(torch.Generator().manual_seed(seed))
        opt = torch.optim.Adam(self.weights + self.biases, lr=self.lr)
        with torch.enable_grad():
            for _ in range(self.epochs):
                opt.zero_grad()
                loss = ((self._forward(xt) - target) ** 2).mean()
                loss.backward()
                opt.step()

    def predict(self, x: Sequence[Sequence[float]]) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean ``[N]``, std ``[N]``) over the members, in reward units."""
        with torch.no_grad():
            out = self._forward(torch.tensor(x, dtype=torch.float32)) * self.y_std + self.y_mean
        std = out.std(dim=0) if self.members > 1 else torch.zeros(out.shape[1])
        return out.mean(dim=0), std


def successes(history: Sequence[tuple[Choices, float | None]]) -> list[tuple[Choices, float]]:
    """The (architecture, reward) pairs of the successful trials, in order."""
    return [(a, r) for a, r in history if r is not None]


def fit_on(done: Sequence[tuple[Choices, float]], encode: Encoder, settings: SurrogateSettings,
           seed: int) -> MlpEnsemble:
    """An ensemble fitted to the successful trials ``done`` (at least one)."""
    x = [encode(a) for a, _ in done]
    model = MlpEnsemble(len(x[0]), settings)
    model.fit(x, [r for _, r in done], seed)
    return model


def top_distinct(done: Sequence[tuple[Choices, float]], n: int) -> list[Choices]:
    """The ``n`` best distinct architectures by reward (the first of equal rewards first)."""
    best: dict[str, tuple[float, int, Choices]] = {}
    for i, (a, r) in enumerate(done):
        key = arch_key(a)
        if key not in best or r > best[key][0]:
            best[key] = (r, i, a)
    ranked = sorted(best.values(), key=lambda t: (-t[0], t[1]))
    return [a for _, _, a in ranked[:n]]
