"""Sampling overhead of one-shot ENAS: one weight step vs training the sampled child alone.

Project goal: an ENAS supernet weight step (controller sample + forward/backward/SGD through the
supernet) within 1.15x of the same step on the frozen child. Both run the same architecture on
the same random batch; the median of ``--steps`` timed steps is reported (after warm-up), and
the controller's mean cost per drawn child (batched draws from the sample buffer).

    .venv/bin/python benchmarks/enas_oneshot_overhead.py --space nb201 --set C=16 --set N=1
    .venv/bin/python benchmarks/enas_oneshot_overhead.py --space enas-macro --set layers=6
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from supernas.freeze import freeze
from supernas.oneshot import ALGORITHMS
from supernas.spaces import create_space


def median_ms(step: Callable[[], None], steps: int, warmup: int = 3) -> float:
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def child_step(child: nn.Module, x: torch.Tensor, y: torch.Tensor) -> Callable[[], None]:
    opt = torch.optim.SGD(child.parameters(), lr=0.05, momentum=0.9, nesterov=True,
                          weight_decay=2.5e-4)
    loss_fn = nn.CrossEntropyLoss()

    def step() -> None:
        opt.zero_grad()
        loss = loss_fn(child(x), y)
        loss.backward()
        nn.utils.clip_grad_norm_(child.parameters(), 5.0)
        opt.step()

    return step


def measure(space_name: str, space_args: dict[str, Any], batch: int, steps: int) -> dict:
    torch.manual_seed(0)
    space = create_space(space_name, **space_args)
    algo = ALGORITHMS.create("enas", space=space)
    opts = algo.configure_optimizers()
    x, y = torch.randn(batch, 3, 32, 32), torch.randint(0, 10, (batch,))
    arch = algo.mutator.sample()
    child = freeze(space, arch)
    # The supernet step samples a new child each time; fix the controller's draw to ``arch`` so
    # both sides run the same network and only the sampling and dispatch overhead differ.
    sample = algo.mutator.sample
    algo.mutator.sample = lambda: (sample(), algo.mutator.set_current(arch))  # type: ignore
    supernet_ms = median_ms(lambda: algo.weight_step((x, y), opts), steps)
    child_ms = median_ms(child_step(child, x, y), steps)
    start = time.perf_counter()  # amortised: buffered draws are refilled one batch at a time
    for _ in range(64):
        sample()
    sample_ms = (time.perf_counter() - start) * 1000 / 64
    return {"space": space_name, "space_args": space_args, "batch": batch,
            "threads": torch.get_num_threads(), "supernet_step_ms": round(supernet_ms, 2),
            "child_step_ms": round(child_ms, 2), "controller_sample_ms": round(sample_ms, 2),
            "ratio": round(supernet_ms / child_ms, 3)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--space", default="nb201")
    p.add_argument("--set", action="append", default=[], help="space argument key=JSON value")
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    space_args = {k: json.loads(v) for k, _, v in (s.partition("=") for s in args.set)}
    print(json.dumps(measure(args.space, space_args, args.batch, args.steps)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
