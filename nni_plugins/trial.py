"""NNI trial entry point: ``python -m nni_plugins.trial [options]``.

Reads ``nni.get_next_parameter()`` and runs, on the offline scikit-learn digits data:

* a child training, for an architecture (``supernas.architecture/1`` JSON from the registered-
  space tuners, or NNI flat parameters with ``--space NAME``);
* a one-shot search, for ``supernas.oneshot/1`` parameters from ``SupernasOneShot``.

Reports ``{"default": val_accuracy, "loss": ...}`` after every epoch and a final
``{"default": val_accuracy, "params": parameter count, "architecture": architecture JSON}``; the
architecture is also written to ``$NNI_OUTPUT_DIR/architecture.json``. Plain torch and few
epochs keep it CPU-friendly; the Lightning templates (``trial_templates``) are the full version.
``--fail-if KEY=VALUE`` makes trials whose architecture chooses VALUE for KEY exit with an
error (used to test that failed trials are handled).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import nni
import torch
from torch import nn

from supernas.architecture import Architecture
from supernas.space import Choice, decisions
from supernas.spaces import architecture_of, build_child, create_space

Batch = tuple[torch.Tensor, torch.Tensor]


def digits_data(seed: int = 0, device: str = "cpu") -> tuple[Batch, Batch]:
    """scikit-learn digits (no download): x [N, 64] in [0, 1], y [N]; 75% / 25% split."""
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(y), generator=g)
    xt = torch.tensor(x, dtype=torch.float32)[order] / 16.0  # [N, 64]
    yt = torch.tensor(y, dtype=torch.long)[order]  # [N]
    cut = int(0.75 * len(yt))
    xt, yt = xt.to(device), yt.to(device)
    return (xt[:cut], yt[:cut]), (xt[cut:], yt[cut:])


def batches(data: Batch, size: int, seed: int) -> Iterator[Batch]:
    x, y = data
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed)).to(y.device)
    for i in range(0, len(y), size):
        idx = order[i:i + size]
        yield x[idx], y[idx]


@torch.no_grad()
def accuracy(forward: Any, data: Batch) -> float:
    x, y = data
    return float((forward(x).argmax(1) == y).float().mean())


def train_child(arch: Architecture, args: argparse.Namespace) -> dict[str, Any]:
    """Train the frozen child of ``arch`` for ``args.epochs`` epochs; report every epoch."""
    train, val = digits_data(args.seed, args.device)
    model = build_child(arch).to(args.device)
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    acc = 0.0
    for epoch in range(args.epochs):
        model.train()
        for x, y in batches(train, args.batch_size, args.seed + epoch):
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
        model.eval()
        acc = accuracy(model, val)
        nni.report_intermediate_result({"default": acc, "loss": float(loss)})
    return {"default": acc, "params": sum(p.numel() for p in model.parameters())}


def run_oneshot(params: Mapping[str, Any], args: argparse.Namespace) -> tuple[dict[str, Any], Architecture]:
    """Run one whole one-shot search (weights + architecture steps), report every epoch."""
    from supernas.oneshot import ALGORITHMS

    space = create_space(params["space"], **params["space_args"]).to(args.device)
    algo = ALGORITHMS.create(params["algorithm"], space=space, **params["settings"])
    opts = algo.configure_optimizers()
    train, val = digits_data(args.seed, args.device)
    for epoch in range(args.epochs if algo.needs_training else 0):
        algo.on_epoch_start(epoch, args.epochs)
        val_iter = _cycle(val, args.batch_size, args.seed + epoch)
        for batch in batches(train, args.batch_size, args.seed + epoch):
            algo.arch_step(next(val_iter), opts)
            algo.weight_step(batch, opts)
        nni.report_intermediate_result({"default": accuracy(algo.eval_forward, val)})
    choices = algo.select(list(batches(val, args.batch_size, args.seed)))
    arch = architecture_of(space, choices)
    child_params = sum(p.numel() for p in build_child(arch).parameters())
    return {"default": accuracy(algo.eval_forward, val), "params": child_params}, arch


def _cycle(data: Batch, size: int, seed: int) -> Iterator[Batch]:
    while True:
        yield from batches(data, size, seed)
        seed += 1


def architecture_from(params: Mapping[str, Any], space: str | None) -> Architecture:
    """The architecture in ``params``: supernas JSON, or NNI flat parameters for ``space``."""
    if "choices" in params:
        return Architecture.from_dict(params)
    if space is None:
        raise SystemExit("flat NNI parameters need --space NAME (a registered supernas space)")

    model = create_space(space)
    by_key = {d.key: d for d in decisions(model)}
    choices = {k: _flat_value(v, by_key[k].kind if k in by_key else "layer") for k, v in params.items()}
    return architecture_of(model, choices)


def _flat_value(value: Any, kind: str) -> Choice:
    return sorted(int(v) for v in value) if kind == "input" else value


def check_fail_if(arch: Architecture, rules: list[str]) -> None:
    for rule in rules:
        key, _, value = rule.partition("=")
        if str(arch.choices.get(key)) == value:
            raise SystemExit(f"--fail-if {rule}: this trial fails on purpose")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    params = nni.get_next_parameter() or {}
    if params.get("format") == "supernas.oneshot/1":
        final, arch = run_oneshot(params, args)
    else:
        arch = architecture_from(params, args.space)
        check_fail_if(arch, args.fail_if)
        final = train_child(arch, args)
    final["architecture"] = arch.to_json(indent=None)  # as the Lightning template reports it
    _save(arch)
    nni.report_final_result(final)
    print(json.dumps(final))
    return 0


def _save(arch: Architecture) -> None:
    out = os.environ.get("NNI_OUTPUT_DIR")
    if out:
        arch.save(Path(out) / "architecture.json")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m nni_plugins.trial", description=__doc__.split("\n")[0])
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:0 ...")
    p.add_argument("--space", default=None, help="registered space for flat NNI parameters")
    p.add_argument("--fail-if", action="append", default=[], metavar="KEY=VALUE")
    return p


if __name__ == "__main__":
    sys.exit(main())
