"""Every registered one-shot algorithm end to end through SupernetModule (real Lightning training
on tiny synthetic data), the child module, BATS's two stages and NaN detection."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from supernas.architecture import Architecture
from supernas.errors import SupernasError
from supernas.oneshot import ALGORITHMS
from supernas.space import decisions
from supernas.spaces import create_space, space_of
from trial_templates.config import SearchConfig, TrainConfig
from trial_templates.runner import run_search
from trial_templates.train_runner import run_train

SPACE_FOR = {"bats": ("bats", {"channels": 4, "layers": 3, "nodes": 2})}
TINY = ("nb201", {"C": 4, "N": 1})
SETTINGS = {"zero-shot": {"num_samples": 4}, "random": {"num_samples": 4},
            "spos": {"population": 4, "iterations": 1}, "enas": {"num_select": 3}}


def _search(algorithm: str, out: Path, **kw: object) -> dict:
    space, args = SPACE_FOR.get(algorithm, TINY)
    cfg = SearchConfig(algorithm=algorithm, space=space, space_args=dict(args), data="synthetic",
                       subset=48, batch_size=16, epochs=1, output=str(out), progress=False,
                       accelerator="cpu", report="none", plots=False,
                       settings=dict(SETTINGS.get(algorithm, {})))
    for k, v in kw.items():
        setattr(cfg, k, v)
    return run_search(cfg)


@pytest.mark.parametrize("algorithm", [pytest.param(n, marks=pytest.mark.slow) if n == "bats" else n
                                       for n in ALGORITHMS.names()])
def test_algorithm_runs_end_to_end(algorithm: str, tmp_path: Path) -> None:
    result = _search(algorithm, tmp_path)
    arch = Architecture.load(tmp_path / "architecture.json")
    assert arch.to_dict() == result["architecture"]
    space = space_of(arch)
    assert not Architecture.from_dict(result["architecture"]).choices.keys() ^ {d.key for d in decisions(space)}
    assert 0.0 <= result["metrics"]["val_acc"] <= 1.0 and result["metrics"]["params"] > 0
    needs_training = ALGORITHMS.create(algorithm, space=space, **SETTINGS.get(algorithm, {})).needs_training
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file() == needs_training
    assert (tmp_path / "config.yaml").read_text().count("algorithm: " + algorithm) == 1
    if algorithm == "darts":
        _check_darts_checkpoint(tmp_path)


def _check_darts_checkpoint(out: Path) -> None:
    """DARTS's alphas ride in last.ckpt and match the architecture exported for that epoch."""
    ckpt = torch.load(out / "checkpoints" / "last.ckpt", weights_only=False)
    alpha = ckpt["supernas"]["algorithm"]["alpha"]
    current = Architecture.load(out / "architecture_current.json").choices
    ops = {d.key: d.choices for d in decisions(space_of(Architecture.load(out / "architecture.json")))}
    assert set(alpha) == set(current)
    best = {k: ops[k][int(v.argmax())] for k, v in alpha.items()}
    assert all(best[k] in (current[k], "none") for k in alpha)  # derivation may skip "none"


def test_nan_loss_stops_with_clear_message(tmp_path: Path) -> None:
    with pytest.raises(SupernasError, match=r"phase: \w+=nan at epoch 0"):
        _search("darts", tmp_path, settings={"weight_lr": 1e30})


def test_child_training_learns_and_saves_model(tmp_path: Path) -> None:
    space = create_space("mlp", in_features=64, num_classes=4)
    arch = Architecture({d.key: d.choices[0] for d in decisions(space)}, "mlp",
                        {"in_features": 64, "num_classes": 4})
    cfg = TrainConfig(architecture=arch.to_dict(), data="synthetic", subset=128, batch_size=32,
                      epochs=4, output=str(tmp_path), progress=False, accelerator="cpu",
                      report="none", lr=0.1)
    result = run_train(cfg)
    assert result["metrics"]["val_acc"] > 0.5  # 4 classes: chance is 0.25
    saved = torch.load(tmp_path / "model.pt", weights_only=False)
    assert saved["architecture"]["choices"] == arch.choices
    assert json.loads((tmp_path / "metrics.json").read_text())["val_acc"] == result["metrics"]["val_acc"]


@pytest.mark.slow
def test_bats_two_stages_binarise_weights(tmp_path: Path) -> None:
    from supernas.binarize import binary_convs

    space = create_space("bats", channels=4, layers=3, nodes=2, in_channels=1, num_classes=4)
    arch = Architecture({d.key: (d.choices[-1] if d.kind == "layer" else [0, 1]) for d in decisions(space)},
                        "bats", dict(space.space_args))
    cfg = TrainConfig(architecture=arch.to_dict(), data="synthetic", subset=32, batch_size=16, epochs=1,
                      output=str(tmp_path), progress=False, accelerator="cpu", report="none",
                      bats_stages=True)
    result = run_train(cfg)
    assert {"stage1_val_acc", "stage2_val_acc"} <= set(result["metrics"])
    assert (tmp_path / "stage1" / "last.ckpt").is_file() and (tmp_path / "stage2" / "last.ckpt").is_file()
    saved = torch.load(tmp_path / "model.pt", weights_only=False)
    assert saved["binary_mode"] == "full"
    from trial_templates.export import load_child

    model, _ = load_child(str(tmp_path / "model.pt"), None, None)
    assert binary_convs(model) and all(c.binary_weights for c in binary_convs(model))


def test_channels_last_is_a_layout_not_a_different_search(tmp_path: Path) -> None:
    """Default channels-last and plain NCHW runs of one seed find the same architecture."""
    nhwc = _search("darts", tmp_path / "nhwc")
    nchw = _search("darts", tmp_path / "nchw", channels_last=False)
    assert nhwc["architecture"] == nchw["architecture"]
    for name, value in nchw["metrics"].items():
        assert nhwc["metrics"][name] == pytest.approx(value, abs=1e-3), name


def test_apply_layout_keeps_parameters() -> None:
    from trial_templates.setup import apply_layout

    space = create_space(TINY[0], **TINY[1])
    params = list(space.parameters())
    assert apply_layout(space, True) is space and list(space.parameters()) == params
    convs = [p for p in params if p.dim() == 4]
    assert convs and all(p.is_contiguous(memory_format=torch.channels_last) for p in convs)
    assert all(p.is_contiguous() for p in apply_layout(create_space(TINY[0], **TINY[1]), False).parameters())
