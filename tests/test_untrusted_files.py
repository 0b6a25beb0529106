"""Files supernas reads are data, never code: ``model.pt`` (``supernas export``, the Katib trial's
supernet publishing) and the CIFAR-10 python pickles. Each poisoned file holds an object whose
unpickling would write a marker file; the marker must stay absent and the error must name the file."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import Poison

from supernas.errors import ConfigError
from trial_templates.cli import main

MODEL = {"architecture": {"format": "supernas.architecture/1", "space": "mlp",
                          "space_args": {"in_features": 64, "num_classes": 4},
                          "choices": {"hidden": "h10", "activation": "relu"}},
         "input_shape": [64], "binary_mode": None}


def _export(capsys: pytest.CaptureFixture, model_file: Path, tmp_path: Path) -> str:
    code = main(["export", "--checkpoint", str(model_file), "--output", str(tmp_path / "m.ts")])
    assert code == 2 and not (tmp_path / "m.ts").exists()
    return capsys.readouterr().err


def test_export_refuses_a_model_file_that_would_run_code(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    marker = tmp_path / "marker"
    torch.save({**MODEL, "state_dict": {"net.weight": Poison(marker)}}, tmp_path / "model.pt")
    err = _export(capsys, tmp_path / "model.pt", tmp_path)
    assert not marker.exists()
    assert f"checkpoint='{tmp_path / 'model.pt'}' cannot be read safely" in err
    assert "Unsupported global: GLOBAL exec" in err


@pytest.mark.parametrize("content, needle", [
    (b"", "empty, truncated or not a torch file"),
    (b"PK\x03\x04 not really a zip", "empty, truncated or not a torch file"),
    ({"weights": {}}, "is not a supernas model file (it lacks architecture, state_dict, input_shape)"),
])
def test_export_names_an_empty_broken_or_foreign_model_file(content: object, needle: str, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "model.pt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(content, path)
    err = _export(capsys, path, tmp_path)
    assert err.startswith("supernas: error: ") and needle in err and "written by `supernas train`" in err


def test_katib_trial_publishes_only_plain_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """torch 2.5.1 (the old trial image) defaulted ``torch.load`` to ``weights_only=False``; the
    environment variable restores that default here, so only an explicit argument protects."""
    from katib_suggestions.trial_entry import publish_supernet

    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    marker = tmp_path / "marker"
    torch.save({**MODEL, "state_dict": {"w": Poison(marker)}}, tmp_path / "model.pt")
    with pytest.raises(ConfigError, match="model.pt' cannot be read safely"):
        publish_supernet(tmp_path / "model.pt", tmp_path)
    torch.save({**MODEL, "state_dict": {"w": torch.ones(2)}}, tmp_path / "model.pt")
    torch.save({"w0": Poison(marker)}, tmp_path / "supernet.pt")  # the shared weights, tampered
    with pytest.raises(ConfigError, match="supernet.pt' cannot be read safely"):
        publish_supernet(tmp_path / "model.pt", tmp_path)
    assert not marker.exists() and not (tmp_path / "supernet-out.pt").exists()
    (tmp_path / "supernet.pt").unlink()
    out = publish_supernet(tmp_path / "model.pt", tmp_path)
    assert torch.equal(torch.load(out, weights_only=True)["w"], torch.ones(2))


def _cifar_batches(root: Path, protocol: int, data: object = None) -> None:
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (10, 3072), dtype=np.uint8) if data is None else data,
                 b"labels": [i % 10 for i in range(10)], b"batch_label": b"x", b"filenames": [b"a.png"]}
        (root / name).write_bytes(pickle.dumps(batch, protocol=protocol))


def test_cifar10_pickle_that_would_run_code_is_refused(tmp_path: Path) -> None:
    from trial_templates.data import create_datamodule

    marker = tmp_path / "marker"
    _cifar_batches(tmp_path, pickle.DEFAULT_PROTOCOL, data=Poison(marker))
    with pytest.raises(ConfigError, match=r"data_batch_1' cannot be read: it refers to builtins.exec"):
        create_datamodule("cifar10", data_dir=str(tmp_path)).load()
    assert not marker.exists()


@pytest.mark.parametrize("protocol, numpy_1", [(2, True), (2, False), (5, False)],
                         ids=["p2-numpy1-names", "p2", "p5"])
def test_cifar10_pickles_of_every_protocol_still_load(protocol: int, numpy_1: bool, tmp_path: Path) -> None:
    """The published batches are protocol 2 from numpy 1 (``numpy.core`` names; rewritten here,
    which only protocol 2's newline-ended names allow); numpy 2 writes ``numpy._core``."""
    from trial_templates.data import create_datamodule

    _cifar_batches(tmp_path, protocol)
    if numpy_1:
        for f in tmp_path.iterdir():
            f.write_bytes(f.read_bytes().replace(b"numpy._core", b"numpy.core"))
    data = create_datamodule("cifar10", data_dir=str(tmp_path)).load()
    assert data.x_train.shape == (50, 3, 32, 32) and data.y_test.tolist() == [i % 10 for i in range(10)]
