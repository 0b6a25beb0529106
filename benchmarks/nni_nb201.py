"""NNI 3.0's DARTS on NNI's own NAS-Bench-201 space, as plain torch steps (for the benchmarks).

``nni.nas.strategy.DARTS().mutate_model`` turns ``nni.nas.hub.pytorch.NasBench201`` into NNI's
differentiable supernet and creates one alpha per edge label; :class:`NniDarts` then runs the two
phases of ``DartsLightningModule.training_step`` (architecture step on a validation batch, weight
step on a training batch) with the DARTS optimisers, without Lightning's loop around them.
``derive`` is NNI's export rule for DARTS: the arg-max of each edge's alpha.
"""
from __future__ import annotations

import math
import warnings
from typing import Any

import torch
from torch import nn

#: NNI edge label -> supernas/NB201 edge key (cell string order).
EDGE_OF_LABEL = {"cell/0_1": "e0", "cell/0_2": "e1", "cell/1_2": "e2",
                 "cell/0_3": "e3", "cell/1_3": "e4", "cell/2_3": "e5"}
#: NNI op names -> NAS-Bench-201 op names.
OP_NAME = {"none": "none", "skip_connect": "skip_connect", "conv_1x1": "nor_conv_1x1",
           "conv_3x3": "nor_conv_3x3", "avg_pool_3x3": "avg_pool_3x3"}


class NniDarts:
    """DARTS (first order; NNI 3.0 has no second order) on NNI's NB201 supernet."""

    def __init__(self, C: int, N: int, lr: float = 0.025, lr_min: float = 0.001,
                 grad_clip: float = 5.0) -> None:
        from nni.nas.hub.pytorch import NasBench201
        from nni.nas.strategy import DARTS

        warnings.filterwarnings("ignore", category=RuntimeWarning)
        space = NasBench201(stem_out_channels=C, num_modules_per_stack=N)
        self.choices = {label: list(m.values) for label, m in space.simplify().items()}
        strategy = DARTS()
        self.model = strategy.mutate_model(space)
        self.alphas: dict[str, nn.Parameter] = dict(strategy._arch_parameters)
        ids = {id(p) for p in self.alphas.values()}
        self.weights = [p for p in self.model.parameters() if id(p) not in ids]
        # DARTS optimisers (arXiv 1806.09055 Sec. A.1.1), as NNI's DARTS docs use them
        self.w_opt = torch.optim.SGD(self.weights, lr=lr, momentum=0.9, weight_decay=3e-4)
        self.a_opt = torch.optim.Adam(list(self.alphas.values()), lr=3e-4, betas=(0.5, 0.999),
                                      weight_decay=1e-3)
        self.lr, self.lr_min, self.grad_clip = lr, lr_min, grad_clip
        self.loss_fn = nn.CrossEntropyLoss()

    def on_epoch_start(self, epoch: int, max_epochs: int) -> None:
        """Cosine annealing of the weight learning rate (DARTS)."""
        lr = self.lr_min + 0.5 * (self.lr - self.lr_min) * (1 + math.cos(math.pi * epoch / max_epochs))
        for group in self.w_opt.param_groups:
            group["lr"] = lr

    def arch_step(self, batch: tuple[torch.Tensor, torch.Tensor]) -> None:
        self.a_opt.zero_grad()
        self.loss_fn(self.model(batch[0]), batch[1]).backward()
        self.a_opt.step()

    def weight_step(self, batch: tuple[torch.Tensor, torch.Tensor]) -> None:
        self.w_opt.zero_grad()
        self.loss_fn(self.model(batch[0]), batch[1]).backward()
        nn.utils.clip_grad_norm_(self.weights, self.grad_clip)
        self.w_opt.step()

    def derive(self) -> dict[str, str]:
        """``{"e0": nb201_op, ...}``: arg-max alpha per edge."""
        out = {}
        for label, alpha in self.alphas.items():
            out[EDGE_OF_LABEL[label]] = OP_NAME[self.choices[label][int(alpha.argmax())]]
        return out

    def max_prob(self) -> float:
        """Largest softmax(alpha) entry over all edges (0.2 = uniform over 5 ops)."""
        return max(float(torch.softmax(a.detach(), -1).max()) for a in self.alphas.values())

    def summary(self) -> dict[str, Any]:
        return {EDGE_OF_LABEL[k]: dict(zip((OP_NAME[o] for o in self.choices[k]),
                                           torch.softmax(a.detach(), -1).tolist()))
                for k, a in self.alphas.items()}
