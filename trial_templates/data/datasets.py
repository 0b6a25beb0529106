"""Torch datasets and samplers whose order and augmentation depend only on (seed, epoch, index).

A run resumed from a checkpoint therefore sees exactly the batches an uninterrupted run sees,
whatever the global random state is when the epoch starts (see ``EpochShuffleSampler``).
"""
from __future__ import annotations

import random
from collections.abc import Iterator, Sequence

import torch
from torch.utils.data import Dataset, Sampler


class ImageTensorDataset(Dataset):
    """Images ``x`` ([N, C, H, W] or [N, C, L]; uint8 or float) with labels ``y`` ([N]).

    uint8 images are scaled to [0, 1] and normalised with ``mean``/``std`` per channel.
    ``augment``: random crop (4 pixels of zero padding) and horizontal flip, the usual CIFAR
    training augmentation (He et al. 2016, arXiv 1512.03385, section 4.2), seeded per sample.
    """

    def __init__(self, x: torch.Tensor, y: torch.Tensor, mean: Sequence[float] | None = None,
                 std: Sequence[float] | None = None, augment: bool = False, seed: int = 0) -> None:
        self.x, self.y = x, y
        self.mean = None if mean is None else torch.tensor(mean).view(-1, *([1] * (x.dim() - 2)))
        self.std = None if std is None else torch.tensor(std).view(-1, *([1] * (x.dim() - 2)))
        self.augment, self.seed, self.epoch = augment, seed, 0

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.x[i]
        if x.dtype == torch.uint8:
            x = x.float() / 255.0
            if self.mean is not None and self.std is not None:
                x = (x - self.mean) / self.std
        if self.augment and x.dim() == 3:
            x = crop_flip(x, random.Random(hash((self.seed, self.epoch, int(i)))))
        return x, self.y[i]


def crop_flip(x: torch.Tensor, rng: random.Random, pad: int = 4) -> torch.Tensor:
    """Random ``pad``-pixel crop and horizontal flip of one image ``x`` [C, H, W]."""
    _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))  # [C, H+2p, W+2p]
    top, left = rng.randint(0, 2 * pad), rng.randint(0, 2 * pad)
    out = padded[:, top:top + h, left:left + w]
    return out.flip(-1) if rng.random() < 0.5 else out


class PairedDataset(Dataset):
    """Item ``i`` is ``(a[i], b[i mod len(b)])``: a weight-phase sample and an architecture-phase
    sample, so one shuffled loader yields ``(train_batch, arch_batch)`` pairs (and works with
    Lightning's distributed sampler)."""

    def __init__(self, a: Dataset, b: Dataset) -> None:
        self.a, self.b = a, b

    def __len__(self) -> int:
        return len(self.a)  # type: ignore[arg-type]

    def __getitem__(self, i: int) -> tuple[object, object]:
        return self.a[i], self.b[i % len(self.b)]  # type: ignore[arg-type]


class EpochShuffleSampler(Sampler[int]):
    """A permutation of ``range(n)`` drawn from ``seed + epoch``; ``set_epoch`` (called by
    Lightning before every epoch) also tells ``datasets`` the epoch for their augmentation."""

    def __init__(self, n: int, seed: int, datasets: Sequence[object] = ()) -> None:
        self.n, self.seed, self.epoch = n, seed, 0
        self.datasets = list(datasets)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        for ds in self.datasets:
            ds.epoch = epoch  # type: ignore[attr-defined]

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[int]:
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        return iter(torch.randperm(self.n, generator=g).tolist())


def split_indices(n: int, fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Seeded split of ``range(n)`` into (first, second) with ``round(n * fraction)`` in second."""
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n, generator=g).tolist()
    k = round(n * fraction)
    return sorted(perm[k:]), sorted(perm[:k])


def stratified_subset(labels: Sequence[int], size: int, seed: int) -> list[int]:
    """``size`` indices with classes as balanced as the data allow, seeded (sorted)."""
    by_class: dict[int, list[int]] = {}
    for i, label in enumerate(labels):
        by_class.setdefault(int(label), []).append(i)
    rng = random.Random(seed)
    for idx in by_class.values():
        rng.shuffle(idx)
    chosen: list[int] = []
    rounds = max(len(v) for v in by_class.values()) if by_class else 0
    for r in range(rounds):  # round-robin over classes keeps the subset balanced
        for c in sorted(by_class):
            if len(chosen) < size and r < len(by_class[c]):
                chosen.append(by_class[c][r])
    return sorted(chosen)
