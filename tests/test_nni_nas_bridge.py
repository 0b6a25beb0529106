"""NNI 3.0 Python NAS API: an ``nni.nas.nn.pytorch.ModelSpace`` searched by supernas DARTS."""
from __future__ import annotations

import itertools
from collections.abc import Iterator

import nni
import pytest
import torch
from nni.nas.nn.pytorch import InputChoice, LayerChoice, ModelSpace, MutableLinear
from torch import nn

from nni_plugins.nas_bridge import from_nni_model_space, to_nni_sample
from supernas.errors import SpaceError
from supernas.mutator import FixedMutator
from supernas.oneshot import ALGORITHMS
from supernas.space import decisions

pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")
Batch = tuple[torch.Tensor, torch.Tensor]


def digits_data(seed: int) -> tuple[Batch, Batch]:
    """scikit-learn digits (no download): x [N, 64] in [0, 1], y [N]; 75% / 25% split."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    xt = torch.tensor(x, dtype=torch.float32)[order] / 16.0  # [N, 64]
    yt = torch.tensor(y, dtype=torch.long)[order]  # [N]
    cut = int(0.75 * len(yt))
    return (xt[:cut], yt[:cut]), (xt[cut:], yt[cut:])


def batches(data: Batch, size: int, seed: int) -> Iterator[Batch]:
    x, y = data
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    for i in range(0, len(y), size):
        yield x[order[i:i + size]], y[order[i:i + size]]


class DigitsSpace(ModelSpace):
    """Dense NNI space for 8x8 digits: an op choice, an unnamed (list) choice, a skip choice."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.op = LayerChoice({"relu": nn.ReLU(), "tanh": nn.Tanh(), "lin": nn.Linear(32, 32)}, label="op")
        self.op2 = LayerChoice([nn.Linear(32, 32), nn.Sigmoid()], label="op2")
        self.skip = InputChoice(2, 1, label="skip")
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, 64] -> [B, 10]
        a = self.op(torch.relu(self.fc1(x)))
        return self.fc2(self.skip([a, self.op2(a)]))


class DigitsOpsSpace(ModelSpace):
    """Layer choices only (supernas DARTS mixes ops; input choices need DARTS-style edges)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.op = LayerChoice({"relu": nn.ReLU(), "tanh": nn.Tanh(), "lin": nn.Linear(32, 32)}, label="op")
        self.op2 = LayerChoice([nn.Linear(32, 32), nn.Sigmoid()], label="op2")
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, 64] -> [B, 10]
        return self.fc2(self.op2(self.op(torch.relu(self.fc1(x)))))


def test_decisions_mirror_the_nni_labels_and_candidates() -> None:
    nni_space = DigitsSpace()
    by_key = {d.key: d for d in decisions(from_nni_model_space(nni_space))}
    assert set(by_key) == set(nni_space.simplify()) == {"op", "op2", "skip"}
    assert by_key["op"].choices == ("relu", "tanh", "lin") and by_key["op2"].choices == ("0", "1")
    assert (by_key["skip"].n_candidates, by_key["skip"].n_chosen) == (2, 1)


def test_every_architecture_matches_nni_freeze() -> None:
    """Same weights, same architecture: supernas's fixed supernet equals NNI's frozen model."""
    nni_space = DigitsSpace()
    space = from_nni_model_space(nni_space)
    x = torch.randn(8, 64)
    ds = decisions(space)
    for combo in itertools.product(*(list(d.options()) for d in ds)):
        arch = {d.key: v for d, v in zip(ds, combo)}
        FixedMutator(arch).bind(space)
        frozen = nni_space.freeze(to_nni_sample(nni_space, arch))
        assert torch.allclose(space(x), frozen(x), atol=1e-6), arch


def test_darts_searches_an_nni_model_space() -> None:
    nni_space = DigitsOpsSpace()
    space = from_nni_model_space(nni_space)
    algo = ALGORITHMS.create("darts", space=space, temperature=0.5, arch_lr=3e-2, weight_lr=0.1)
    opts = algo.configure_optimizers()
    train, val = digits_data(0)
    losses = []
    for epoch in range(3):
        algo.on_epoch_start(epoch, 3)
        for tb, vb in zip(batches(train, 64, epoch), batches(val, 64, epoch)):
            algo.arch_step(vb, opts)
            losses.append(algo.weight_step(tb, opts)["train_loss"])
    assert sum(losses[-5:]) < sum(losses[:5])  # the supernet learned through the converted choices
    child = nni_space.freeze(to_nni_sample(nni_space, algo.derive()))  # NNI accepts the result
    assert child(val[0][:4]).shape == (4, 10)


def test_nni_mutables_without_supernas_counterpart_are_refused() -> None:
    class Hyper(ModelSpace):
        def __init__(self) -> None:
            super().__init__()
            self.fc = MutableLinear(64, nni.choice("width", [16, 32]))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(x)

    with pytest.raises(SpaceError, match="width"):
        from_nni_model_space(Hyper())
