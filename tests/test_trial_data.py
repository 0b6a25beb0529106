"""DataModules: CIFAR-10 in python pickle format (generated here), image folders, the shared JPEG
zips (subset), digits, splits and seeded order/augmentation."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from supernas.errors import ConfigError
from trial_templates.data import create_datamodule


def _write_pickles(root: Path, per_batch: int = 20) -> None:
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),
                 b"labels": [i % 10 for i in range(per_batch)]}
        (root / name).write_bytes(pickle.dumps(batch))


def test_cifar10_python_format_directory(tmp_path: Path) -> None:
    _write_pickles(tmp_path)
    dm = create_datamodule("cifar10", data_dir=str(tmp_path), batch_size=8, subset=30)
    data = dm.load()
    assert data.x_train.shape == (30, 3, 32, 32) and data.x_test.shape == (20, 3, 32, 32)
    assert torch.bincount(data.y_train).tolist() == [3] * 10  # stratified subset
    (xb, _), (xa, _) = next(iter(dm.train_dataloader()))
    assert xb.shape == xa.shape == (8, 3, 32, 32) and xb.dtype == torch.float32


def test_image_folder_tree(tmp_path: Path) -> None:
    from PIL import Image

    for split in ("train", "test"):
        for c in ("cat", "dog"):
            (tmp_path / split / c).mkdir(parents=True)
            for i in range(3):
                Image.new("RGB", (32, 32), (i * 40, 0, 0)).save(tmp_path / split / c / f"{i}.png")
    data = create_datamodule("cifar10", data_dir=str(tmp_path)).load()
    assert data.x_train.shape == (6, 3, 32, 32) and data.y_train.tolist() == [0, 0, 0, 1, 1, 1]


def test_shared_cifar10_zip_subset(shared_dir: Path) -> None:
    dm = create_datamodule("cifar10", data_dir=str(shared_dir / "datasets" / "cifar10-jpeg"), subset=40,
                           test_subset=20, batch_size=10)
    data = dm.load()
    assert data.x_train.shape == (40, 3, 32, 32) and data.x_train.dtype == torch.uint8
    assert torch.bincount(data.y_train, minlength=10).tolist() == [4] * 10
    x, _ = next(iter(dm.val_dataloader()))
    assert abs(float(x.mean())) < 1.0  # normalised with the CIFAR mean/std


def test_missing_data_dir_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=str(tmp_path / "absent")):
        create_datamodule("cifar10", data_dir=str(tmp_path / "absent")).load()


def test_split_and_seeded_order() -> None:
    dm = create_datamodule("digits", batch_size=16, arch_fraction=0.25, seed=3)
    w, a = dm.splits()
    assert not set(w) & set(a) and len(a) == round(0.25 * (len(w) + len(a)))
    first = [next(iter(dm.train_dataloader()))[0][0] for _ in range(2)]
    assert torch.equal(first[0], first[1])  # same seed + epoch -> same order
    loader = dm.train_dataloader()
    loader.sampler.set_epoch(1)
    assert not torch.equal(next(iter(loader))[0][0], first[0])


def test_mnist1d_offline() -> None:
    data = create_datamodule("mnist1d", subset=100).load()
    assert data.x_train.shape[1:] == (1, 40) and data.num_classes == 10
