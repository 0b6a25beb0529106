"""The step functions timed by ``benchmarks/speed.py``, one builder per configuration.

Each builder takes the settings (``channels``, ``cells``, ``batch``, ``seed``) and returns
``(step(i), info)``: ``step`` runs one full training step on batch ``i`` (forward, backward,
update) and ``info`` describes what was built. Builders import their libraries lazily so a
worker process only pays for what it runs.
"""
from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

Step = Callable[[int], Any]
SGD = {"lr": 0.025, "momentum": 0.9, "weight_decay": 3e-4}  # DARTS weight optimiser (arXiv 1806.09055)
ADAM = {"lr": 3e-4, "betas": (0.5, 0.999), "weight_decay": 1e-3}  # DARTS architecture optimiser
CLIP = 5.0  # DARTS gradient norm clip


def make_batches(n: int, batch: int, seed: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``n`` random CIFAR-shaped batches (x: [batch, 3, 32, 32], y: [batch])."""
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(batch, 3, 32, 32, generator=g), torch.randint(0, 10, (batch,), generator=g))
            for _ in range(n)]


def _space(s: dict[str, Any]) -> nn.Module:
    from supernas.spaces import create_space

    return _layout(s, create_space("darts", cells=s["cells"], channels=s["channels"]))


def _layout(s: dict[str, Any], model: nn.Module) -> nn.Module:
    """``model`` in the run's memory layout (``s["channels_last"]``: NHWC weights)."""
    return model.to(memory_format=torch.channels_last) if s.get("channels_last") else model


def _batches(s: dict[str, Any], seed: int) -> list[tuple[Any, Any]]:
    """8 random batches, in channels-last layout when the run asks for it."""
    batches = make_batches(8, s["batch"], seed)
    if not s.get("channels_last"):
        return batches
    return [(x.contiguous(memory_format=torch.channels_last), y) for x, y in batches]


def _n_params(params: Any) -> int:
    return sum(p.numel() for p in params)


def supernas_darts(s: dict[str, Any], order: int) -> tuple[Step, dict[str, Any]]:
    from supernas.oneshot import ALGORITHMS

    space = _space(s)
    algo = ALGORITHMS.create("darts", space=space, order=order, seed=s["seed"])
    opts = algo.configure_optimizers()
    train, val = _batches(s, 1), _batches(s, 2)

    def step(i: int) -> None:
        algo.arch_step(val[i % 8], opts, train_batch=train[i % 8])
        algo.weight_step(train[i % 8], opts)

    return step, {"weights": _n_params(algo.weight_parameters()),
                  "arch": _n_params(algo.arch_parameters())}


def darts_floor(s: dict[str, Any]) -> tuple[Step, dict[str, Any]]:
    """Every candidate op of the ``supernas-darts-1st`` supernet run once per pass, alone
    (``benchmarks.speed_floor``); ``info["by_kind_ms"]``: medians per op name and pass."""
    from benchmarks.speed_floor import floor_by_kind, record_calls
    from supernas.oneshot import ALGORITHMS

    space = _space(s)
    algo = ALGORITHMS.create("darts", space=space, order=1, seed=s["seed"])
    opts = algo.configure_optimizers()
    train, val = _batches(s, 1), _batches(s, 2)
    calls = record_calls(space, {"arch": lambda: algo.arch_step(val[0], opts, train_batch=train[0]),
                                 "weight": lambda: algo.weight_step(train[0], opts)})
    runs: list[dict[str, dict[str, float]]] = []
    info: dict[str, Any] = {"calls": len(calls), "by_kind_ms": {}}

    def step(i: int) -> None:
        runs.append(floor_by_kind(calls))
        info["by_kind_ms"] = {name: {k: statistics.median(r[name][k] for r in runs) for k in row}
                              for name, row in runs[0].items()}

    return step, info


def nni_darts(s: dict[str, Any]) -> tuple[Step, dict[str, Any]]:
    import warnings

    from nni.nas.hub.pytorch import DARTS as NniDartsSpace
    from nni.nas.strategy import DARTS as NniDarts

    warnings.filterwarnings("ignore", category=RuntimeWarning)
    strategy = NniDarts()
    model = _layout(s, strategy.mutate_model(NniDartsSpace(width=s["channels"], num_cells=s["cells"])))
    arch = list(strategy._arch_parameters.values())  # the alphas NNI created for the supernet
    arch_ids = {id(p) for p in arch}
    weights = [p for p in model.parameters() if id(p) not in arch_ids]
    w_opt, a_opt = torch.optim.SGD(weights, **SGD), torch.optim.Adam(arch, **ADAM)
    train, val = _batches(s, 1), _batches(s, 2)
    loss_fn = nn.CrossEntropyLoss()

    def step(i: int) -> None:  # DartsLightningModule.training_step, phases 1 and 2
        a_opt.zero_grad()
        loss_fn(model(val[i % 8][0]), val[i % 8][1]).backward()
        a_opt.step()
        w_opt.zero_grad()
        loss_fn(model(train[i % 8][0]), train[i % 8][1]).backward()
        nn.utils.clip_grad_norm_(weights, CLIP)
        w_opt.step()

    return step, {"weights": _n_params(weights), "arch": _n_params(arch)}


def sampled_oneshot(s: dict[str, Any], name: str) -> tuple[Step, dict[str, Any]]:
    """ENAS / SPOS shared-weight step: ``weight_step`` of registered algorithm ``name``.

    ``info["archs"]`` collects the architecture each step ran, so ``child_alone`` can train
    exactly those children on the same batches (a paired comparison).
    """
    from supernas.oneshot import ALGORITHMS

    space = _space(s)
    algo = ALGORITHMS.create(name, space=space, seed=s["seed"])
    opts = algo.configure_optimizers()
    train = _batches(s, 1)
    archs: list[dict[str, Any]] = []

    def step(i: int) -> None:
        algo.weight_step(train[i % 8], opts)
        archs.append(dict(algo.mutator.current))

    return step, {"weights": _n_params(space.parameters()), "algorithm": name, "archs": archs}


def _children_archs(s: dict[str, Any], space: nn.Module) -> tuple[list[dict[str, Any]], bool]:
    """The architectures to train alone: the ones a sampled run recorded, else uniform draws."""
    from supernas.mutator import sample_uniform
    from supernas.space import decisions

    if s.get("archs"):
        return s["archs"], True
    rng = random.Random(s["seed"])
    return [sample_uniform(decisions(space), rng) for _ in range(s["warmup"] + s["steps"])], False


def child_alone(s: dict[str, Any]) -> tuple[Step, dict[str, Any]]:
    """Step ``i`` trains the frozen child of architecture ``i`` alone (SGD, same clip, same
    batch as step ``i`` of the sampled run it is paired with; children are built untimed)."""
    from supernas.freeze import freeze

    space = _space(s)
    archs, paired = _children_archs(s, space)
    children = [_layout(s, freeze(space, a)) for a in archs]
    opts = [torch.optim.SGD(c.parameters(), **SGD) for c in children]
    train = _batches(s, 1)
    loss_fn = nn.CrossEntropyLoss()

    def step(i: int) -> None:
        child, opt = children[i % len(children)], opts[i % len(children)]
        opt.zero_grad()
        loss_fn(child(train[i % 8][0]), train[i % 8][1]).backward()
        nn.utils.clip_grad_norm_(child.parameters(), CLIP)
        opt.step()

    return step, {"children": len(children), "paired": paired,
                  "mean_child_params": sum(_n_params(c.parameters()) for c in children) / len(children)}


def build(name: str, s: dict[str, Any]) -> tuple[Step, dict[str, Any]]:
    """The step function for configuration ``name`` (see ``benchmarks.speed.CONFIGS``)."""
    if name == "supernas-darts-1st":
        return supernas_darts(s, 1)
    if name == "supernas-darts-2nd":
        return supernas_darts(s, 2)
    if name == "darts-floor":
        return darts_floor(s)
    if name == "nni-darts":
        return nni_darts(s)
    if name in ("supernas-enas", "supernas-spos"):
        return sampled_oneshot(s, name.split("-", 1)[1])
    if name in ("child-alone", "child-alone-spos"):
        return child_alone(s)
    raise ValueError(f"config={name!r} is not allowed; allowed: supernas-darts-1st, "
                     "supernas-darts-2nd, darts-floor, nni-darts, supernas-enas, supernas-spos, child-alone, child-alone-spos")
