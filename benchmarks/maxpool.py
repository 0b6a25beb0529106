"""Max pooling on CPU: ``torch.nn.MaxPool2d`` on NCHW tensors against ``supernas.ops.pooling
.MaxPool2d`` (pools a channels-last copy), forward + backward, one thread, the shapes of the
speed benchmark's DARTS space and of the one-shot NB201 benchmark.

    .venv/bin/python benchmarks/maxpool.py            # about a minute
    .venv/bin/python benchmarks/maxpool.py --smoke
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import write_result

SHAPES = ((16, 8, 32, 32), (16, 16, 16, 16), (16, 32, 8, 8), (64, 16, 32, 32))


def median_ms(pool: Any, x: Any, steps: int) -> float:
    """Median wall ms of ``pool(x).backward(g)`` over ``steps`` calls after 3 warm-up calls."""
    import torch

    g = torch.randn_like(pool(x))
    times = []
    for i in range(steps + 3):
        start = time.perf_counter()
        pool(x).backward(g)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times[3:])


def main(argv: Sequence[str] | None = None) -> Path:
    import torch
    from torch import nn

    from supernas.ops.pooling import MaxPool2d

    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--smoke", action="store_true")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    shapes, steps = (SHAPES[:1], 2) if args.smoke else (SHAPES, args.steps)
    rows = []
    for shape in shapes:
        x = torch.randn(*shape, requires_grad=True)
        for stride in (1, 2):
            stock = median_ms(nn.MaxPool2d(3, stride, padding=1), x, steps)
            ours = median_ms(MaxPool2d(3, stride, padding=1), x, steps)
            rows.append({"shape": list(shape), "stride": stride, "torch_ms": stock,
                         "supernas_ms": ours, "ratio": ours / stock})
            print(rows[-1], flush=True)
    return write_result("maxpool_smoke" if args.smoke else "maxpool",
                        {"smoke": args.smoke, "steps": steps, "rows": rows}, args.out, argv)


if __name__ == "__main__":
    print(main())
