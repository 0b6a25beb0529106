"""Data loaders by name (``DATA`` registry): each returns an ``ArrayData`` held in memory.

Nothing here downloads: digits ships with scikit-learn, MNIST-1D is generated procedurally by
``mnist1d.data.make_dataset`` (Greydanus 2020, arXiv 2011.14439), synthetic data is generated,
and CIFAR-10 is read from a local directory or zip (``trial_templates.data.cifar``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from supernas.errors import bad_value
from supernas.registry import Registry
from trial_templates.data.arrays import ArrayData
from trial_templates.data.cifar import load_cifar10
from trial_templates.data.datasets import split_indices, stratified_subset

__all__ = ["DATA", "ArrayData"]


DATA: Registry[ArrayData] = Registry("data set")


@DATA.register("synthetic")
def synthetic(data_dir: str | None = None, subset: int | None = None, seed: int = 0,
              shape: tuple[int, ...] = (1, 8, 8), num_classes: int = 4) -> ArrayData:
    """Gaussian blobs around one random prototype per class (learnable in a few steps)."""
    n_train = subset or 256
    g = torch.Generator().manual_seed(seed)
    protos = torch.randn(num_classes, *shape, generator=g)  # [K, *shape]

    def draw(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = torch.arange(n) % num_classes
        return protos[y] + 0.8 * torch.randn(n, *shape, generator=g), y

    (xa, ya), (xb, yb) = draw(n_train), draw(max(num_classes, n_train // 2))
    return ArrayData(xa, ya, xb, yb, num_classes)


@DATA.register("digits")
def digits(data_dir: str | None = None, subset: int | None = None, seed: int = 0,
           test_fraction: float = 0.2) -> ArrayData:
    """scikit-learn's 1,797 8x8 handwritten digits as [N, 1, 8, 8], scaled to [0, 1] and
    standardised; a seeded ``test_fraction`` split is held out as the test set."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0  # [N, 1, 8, 8]
    x = (x - x.mean()) / x.std()
    y = torch.tensor(bunch.target, dtype=torch.long)
    train, test = split_indices(len(y), test_fraction, seed)
    return _with_subset(ArrayData(x[train], y[train], x[test], y[test], 10), subset, seed)


@DATA.register("mnist1d")
def mnist1d(data_dir: str | None = None, subset: int | None = None, seed: int = 0,
            num_samples: int = 5000) -> ArrayData:
    """MNIST-1D (4,000 train / 1,000 test sequences of length 40 by default) as [N, 1, 40]."""
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()
    args.num_samples, args.seed = num_samples, seed
    saved = np.random.get_state()  # make_dataset reseeds numpy's global generator
    try:
        d = make_dataset(args)
    finally:
        np.random.set_state(saved)
    x, xt = (torch.tensor(d[k], dtype=torch.float32).unsqueeze(1) for k in ("x", "x_test"))
    y, yt = (torch.tensor(d[k], dtype=torch.long) for k in ("y", "y_test"))
    return _with_subset(ArrayData(x, y, xt, yt, 10), subset, seed)


@DATA.register("cifar10")
def cifar10(data_dir: str | None = None, subset: int | None = None, seed: int = 0,
            test_subset: int | None = None) -> ArrayData:
    """CIFAR-10 from ``data_dir`` (python pickles, ``train/<class>/*`` folders or the JPEG zips);
    ``subset``/``test_subset``: stratified subsets of the train/test images."""
    if data_dir is None:
        raise bad_value("data_dir", None, "a directory holding CIFAR-10 (required for cifar10)")
    return load_cifar10(Path(data_dir), subset, test_subset, seed)


def _with_subset(data: ArrayData, subset: int | None, seed: int) -> ArrayData:
    if subset is None:
        return data
    if subset <= 0:
        raise bad_value("subset", subset, "a positive number of training examples")
    idx = stratified_subset(data.y_train.tolist(), subset, seed)
    data.x_train, data.y_train = data.x_train[idx], data.y_train[idx]
    return data
