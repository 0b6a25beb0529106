"""CIFAR-10 from the offline JPEG zips (``../shared/datasets/cifar10-jpeg/``) as tensors.

Stratified subsets are drawn per class with a seeded generator, so every benchmark that asks for
``n`` images with one seed trains on the same images. Normalisation uses the usual CIFAR-10
per-channel mean/std (as in the DARTS and NAS-Bench-201 code bases).
"""
from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import numpy as np
import torch

from benchmarks.common import SHARED

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
MEAN = (0.4914, 0.4822, 0.4465)  # CIFAR-10 train mean (DARTS cnn/utils.py uses the same values)
STD = (0.2470, 0.2435, 0.2616)


def _members(zf: zipfile.ZipFile) -> dict[int, list[str]]:
    """Label -> sorted JPEG member names (``<split>/<class>/<n>.jpg``)."""
    by_label: dict[int, list[str]] = {i: [] for i in range(len(CLASSES))}
    for name in zf.namelist():
        parts = name.split("/")
        if name.endswith(".jpg") and len(parts) >= 3 and parts[-2] in CLASSES:
            by_label[CLASSES.index(parts[-2])].append(name)
    return {k: sorted(v) for k, v in by_label.items()}


def _decode(zf: zipfile.ZipFile, names: list[str]) -> np.ndarray:
    from PIL import Image

    out = np.empty((len(names), 32, 32, 3), dtype=np.uint8)
    for i, name in enumerate(names):
        out[i] = np.asarray(Image.open(io.BytesIO(zf.read(name))).convert("RGB"))
    return out


def load_subset(split: str, per_class: int, seed: int = 0,
                shared: Path = SHARED) -> tuple[torch.Tensor, torch.Tensor]:
    """``per_class`` images of each class from ``split`` ('train' or 'test'), normalised.

    Returns x: [10 * per_class, 3, 32, 32] float32, y: [10 * per_class] int64, class-interleaved
    order shuffled with ``seed``.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split={split!r} is not allowed; allowed: 'train', 'test'")
    path = Path(shared) / "datasets" / "cifar10-jpeg" / f"cifar10_{split}.zip"
    rng = random.Random(seed)
    with zipfile.ZipFile(path) as zf:
        members = _members(zf)
        picked = [(n, lab) for lab, names in members.items() for n in rng.sample(names, per_class)]
        rng.shuffle(picked)
        pixels = _decode(zf, [n for n, _ in picked])
    x = torch.from_numpy(pixels).permute(0, 3, 1, 2).float().div_(255)  # [N, 3, 32, 32]
    x = (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    return x.contiguous(), torch.tensor([lab for _, lab in picked], dtype=torch.long)


def batches(x: torch.Tensor, y: torch.Tensor, batch_size: int, seed: int,
            flip: bool = True) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """One epoch of shuffled mini-batches (drops the last partial batch), random h-flips."""
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(x), generator=g)
    out = []
    for start in range(0, len(x) - batch_size + 1, batch_size):
        idx = order[start:start + batch_size]
        xb = x[idx]
        if flip:
            mask = torch.rand(len(idx), generator=g) < 0.5
            xb = torch.where(mask.view(-1, 1, 1, 1), xb.flip(3), xb)
        out.append((xb, y[idx]))
    return out
