"""``supernas export``: the ONNX file, run with onnxruntime, and the TorchScript file give the
outputs of the torch child they came from (fresh children of several spaces, BATS with binary
activations and weights); the ONNX batch dimension stays dynamic and the weights live in the one
file. Needs the ``export`` extra (part of ``all``); nothing is downloaded."""
from __future__ import annotations

import importlib.util
import random
from pathlib import Path

import pytest
import torch
from torch import nn

from supernas.binarize import set_binary_mode
from supernas.errors import ConfigError
from supernas.mutator import sample_uniform
from supernas.space import decisions
from supernas.spaces import architecture_of, build_child, create_space
from trial_templates.export import export

#: space -> (space arguments, shape of one input); small so each export takes seconds.
CASES = {"mlp": ({}, (64,)), "darts": ({"channels": 4, "cells": 2, "nodes": 2}, (3, 8, 8)),
         "bats": ({"channels": 4, "layers": 3, "nodes": 2}, (3, 8, 8))}
ATOL, RTOL = 1e-5, 1e-4  # float32 kernels of onnxruntime vs torch


def random_child(name: str, seed: int = 0) -> tuple[nn.Module, tuple[int, ...]]:
    """A uniformly drawn child of space ``name`` with fresh weights, in eval mode."""
    args, shape = CASES[name]
    torch.manual_seed(seed)
    space = create_space(name, **args)
    model = build_child(architecture_of(space, sample_uniform(decisions(space), random.Random(seed))))
    if name == "bats":
        set_binary_mode(model, "full")  # binary activations and binary weights, as after stage 2
    return model.eval(), shape


def run_onnx(path: Path, x: torch.Tensor) -> torch.Tensor:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return torch.from_numpy(session.run(["logits"], {"input": x.numpy()})[0])


@pytest.mark.parametrize("name", sorted(CASES))
def test_onnx_export_matches_the_torch_child(name: str, tmp_path: Path) -> None:
    model, shape = random_child(name)
    path = export(model, shape, "onnx", tmp_path / "child.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["child.onnx"]  # weights inside the file
    for batch in (1, 5):  # exported with a batch of 2: the batch dimension is dynamic
        x = torch.randn(batch, *shape, generator=torch.Generator().manual_seed(batch))
        with torch.no_grad():
            expected = model(x)
        torch.testing.assert_close(run_onnx(path, x), expected, atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize("name", sorted(CASES))
def test_torchscript_export_matches_the_torch_child(name: str, tmp_path: Path) -> None:
    model, shape = random_child(name)
    path = export(model, shape, "torchscript", tmp_path / "child.ts")
    x = torch.randn(4, *shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(torch.jit.load(str(path))(x), model(x), atol=ATOL, rtol=RTOL)


def test_onnx_without_its_packages_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "onnxscript" else real(n, *a))
    model, shape = random_child("mlp")
    with pytest.raises(ConfigError, match=r"needs the 'onnxscript' package.*supernas\[export\]"):
        export(model, shape, "onnx", tmp_path / "child.onnx")
