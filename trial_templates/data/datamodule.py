"""``ArrayDataModule``: one LightningDataModule for every in-memory data set.

``mode="search"``: the training pool is split (seeded) into a weight part and an architecture part
(``arch_fraction``); ``train_dataloader`` yields ``(train_batch, arch_batch)`` pairs and
``val_dataloader`` is the architecture part. ``mode="train"``: the whole pool trains, the test set
validates. Order and augmentation depend on (seed, epoch, index) only, so resumed runs match.
"""
from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
from torch.utils.data import DataLoader, Dataset

from supernas.errors import bad_value
from trial_templates.data.datasets import (
    EpochShuffleSampler,
    ImageTensorDataset,
    PairedDataset,
    split_indices,
)
from trial_templates.data.sources import DATA, ArrayData

MODES = ("search", "train")


class ArrayDataModule(pl.LightningDataModule):
    """Loads ``DATA[name]`` once (``load()``) and serves seeded loaders for search or training."""

    def __init__(self, name: str, data_dir: str | None = None, batch_size: int = 64,
                 arch_fraction: float = 0.5, seed: int = 0, mode: str = "search",
                 subset: int | None = None, num_workers: int = 0, **source_args: Any) -> None:
        super().__init__()
        DATA.get(name)  # unknown name -> error listing the data sets
        _check(batch_size, arch_fraction, mode, num_workers)
        self.name, self.data_dir, self.batch_size = name, data_dir, batch_size
        self.arch_fraction, self.seed, self.mode = arch_fraction, seed, mode
        self.subset, self.num_workers, self.source_args = subset, num_workers, source_args
        self.data: ArrayData | None = None

    def load(self) -> ArrayData:
        """Read the data (once); errors about missing files surface here, before training."""
        if self.data is None:
            self.data = DATA.create(self.name, data_dir=self.data_dir, subset=self.subset,
                                    seed=self.seed, **self.source_args)
        return self.data

    def setup(self, stage: str | None = None) -> None:
        self.load()

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.load().input_shape

    @property
    def num_classes(self) -> int:
        return self.load().num_classes

    def _dataset(self, train: bool, idx: list[int] | None, augment: bool) -> ImageTensorDataset:
        d = self.load()
        x, y = (d.x_train, d.y_train) if train else (d.x_test, d.y_test)
        if idx is not None:
            x, y = x[idx], y[idx]
        return ImageTensorDataset(x, y, d.mean, d.std, augment and d.augment, self.seed)

    def splits(self) -> tuple[list[int], list[int]]:
        """(weight indices, architecture indices) of the training pool."""
        return split_indices(len(self.load().y_train), self.arch_fraction, self.seed)

    def train_dataloader(self) -> DataLoader:
        if self.mode == "train":
            ds = self._dataset(True, None, augment=True)
            return self._loader(ds, EpochShuffleSampler(len(ds), self.seed, [ds]))
        w_idx, a_idx = self.splits()
        w, a = self._dataset(True, w_idx, True), self._dataset(True, a_idx, True)
        paired = PairedDataset(w, a)
        return self._loader(paired, EpochShuffleSampler(len(paired), self.seed, [w, a]))

    def val_dataloader(self) -> DataLoader:
        if self.mode == "train":
            return self._loader(self._dataset(False, None, augment=False), None)
        return self._loader(self._dataset(True, self.splits()[1], augment=False), None)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self._dataset(False, None, augment=False), None)

    def _loader(self, ds: Dataset, sampler: EpochShuffleSampler | None) -> DataLoader:
        return DataLoader(ds, batch_size=self.batch_size, sampler=sampler,
                          num_workers=self.num_workers, drop_last=False)


def _check(batch_size: int, arch_fraction: float, mode: str, num_workers: int) -> None:
    if not isinstance(batch_size, int) or batch_size < 1:
        raise bad_value("batch_size", batch_size, "an integer >= 1")
    if not 0.0 < arch_fraction < 1.0:
        raise bad_value("arch_fraction", arch_fraction, "a fraction strictly between 0 and 1")
    if mode not in MODES:
        raise bad_value("mode", mode, ", ".join(MODES))
    if num_workers < 0:
        raise bad_value("num_workers", num_workers, "an integer >= 0")


def create_datamodule(name: str, **kwargs: Any) -> ArrayDataModule:
    """``ArrayDataModule(name, **kwargs)``; kept as the one way the CLI builds data."""
    return ArrayDataModule(name, **kwargs)
