"""CIFAR-10 (Krizhevsky 2009) from local files, in three layouts, detected from ``data_dir``:

* the standard python format: ``data_batch_1`` .. ``data_batch_5`` and ``test_batch`` pickles
  (directly in ``data_dir`` or in ``data_dir/cifar-10-batches-py``), read with an unpickler that
  admits numpy array reconstruction and a few builtin containers only (``ARRAY_GLOBALS``), so a
  tampered file cannot run code (the way ``supernas.persist`` reads state);
* an image-folder tree: ``train/<class>/*.jpg|png`` and ``test/<class>/*`` (classes sorted by name);
* the zip archives ``cifar10_train.zip`` / ``cifar10_test.zip`` (``<split>/<class>/<n>.jpg``
  inside), read straight from the zip with pillow.

Images are kept as uint8 [N, 3, 32, 32]; normalisation uses the usual CIFAR-10 per-channel mean and
std (as in the DARTS code, quark0/darts ``cnn/utils.py``).
"""
from __future__ import annotations

import io
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from supernas.errors import ConfigError
from trial_templates.data.arrays import ArrayData
from trial_templates.data.datasets import stratified_subset

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
Split = tuple[torch.Tensor, torch.Tensor]  # images [N, 3, 32, 32] uint8, labels [N]
#: What a CIFAR-10 batch pickle may refer to: numpy array/scalar reconstruction (``numpy.core`` in
#: files from numpy 1, ``numpy._core`` from numpy 2), ``_codecs.encode`` (bytes in protocols <= 2)
#: and builtin containers (``__builtin__`` is the Python 2 name).
ARRAY_GLOBALS = frozenset(
    {(f"numpy.{core}.multiarray", name) for core in ("core", "_core") for name in ("_reconstruct", "scalar")}
    | {(f"numpy.{core}.numeric", "_frombuffer") for core in ("core", "_core")}
    | {("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}
    | {(mod, name) for mod in ("builtins", "__builtin__") for name in ("set", "frozenset", "bytearray")})


def load_cifar10(root: Path, subset: int | None, test_subset: int | None, seed: int) -> ArrayData:
    """Detect the layout under ``root`` and load both splits (stratified subsets if asked)."""
    reader = _reader_for(root)
    x, y = reader("train", subset, seed)
    xt, yt = reader("test", test_subset, seed)
    return ArrayData(x, y, xt, yt, 10, mean=CIFAR_MEAN, std=CIFAR_STD, augment=True)


def _reader_for(root: Path) -> Callable[[str, int | None, int], Split]:
    if not root.exists():
        raise ConfigError(f"data_dir={str(root)!r} does not exist; allowed: a directory with CIFAR-10 "
                          "python pickles (data_batch_1..5, test_batch), train/ and test/ image "
                          "folders, or cifar10_train.zip and cifar10_test.zip")
    for base in (root, root / "cifar-10-batches-py"):
        if (base / "data_batch_1").is_file():
            return lambda split, size, seed: _pickles(base, split, size, seed)
    if (root / "cifar10_train.zip").is_file():
        return lambda split, size, seed: _zip(root / f"cifar10_{split}.zip", split, size, seed)
    if (root / "train").is_dir():
        return lambda split, size, seed: _folder(root / split, size, seed)
    raise ConfigError(f"data_dir={str(root)!r} holds no CIFAR-10 data; allowed: data_batch_1..5 + "
                      "test_batch pickles, train/<class>/ image folders, or cifar10_{train,test}.zip")


def _pickles(base: Path, split: str, size: int | None, seed: int) -> Split:
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    xs, ys = [], []
    for name in names:
        path = base / name
        if not path.is_file():
            raise ConfigError(f"CIFAR-10 file {str(path)!r} is missing")
        batch = _read_batch(path)
        xs.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        ys.extend(int(v) for v in batch[b"labels"])
    x, y = torch.from_numpy(np.concatenate(xs)), torch.tensor(ys, dtype=torch.long)
    if size is None:
        return x, y
    idx = stratified_subset(ys, size, seed)
    return x[idx], y[idx]


class _ArrayUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ARRAY_GLOBALS:
            raise pickle.UnpicklingError(f"it refers to {module}.{name}; CIFAR-10 batches hold numpy "
                                         "arrays, lists, bytes and numbers only")
        return super().find_class(module, name)


def _read_batch(path: Path) -> Any:
    """One batch pickle (``{b"data": uint8 [N, 3072], b"labels": [N], ...}``)."""
    try:
        with path.open("rb") as f:
            batch = _ArrayUnpickler(f, encoding="bytes").load()
    except Exception as exc:  # noqa: BLE001 - UnpicklingError (refused or corrupt), EOFError ...
        raise ConfigError(f"CIFAR-10 file {str(path)!r} cannot be read: {str(exc) or type(exc).__name__}; "
                          "allowed: the python-format batches of cifar-10-python.tar.gz") from None
    if not isinstance(batch, dict) or not {b"data", b"labels"} <= batch.keys():
        raise ConfigError(f"CIFAR-10 file {str(path)!r} is not a CIFAR-10 batch (no b'data' and "
                          "b'labels'); allowed: the python-format batches of cifar-10-python.tar.gz")
    return batch


def _decode(data: bytes) -> np.ndarray:
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"), dtype=np.uint8).transpose(2, 0, 1)  # [3, H, W]


def _labelled(names: list[str], class_of: Callable[[str], str]) -> tuple[list[str], list[int]]:
    classes = sorted({class_of(n) for n in names})
    index = {c: i for i, c in enumerate(classes)}
    names = sorted(names)
    return names, [index[class_of(n)] for n in names]


def _select(names: list[str], labels: list[int], size: int | None, seed: int) -> tuple[list[str], list[int]]:
    if size is None:
        return names, labels
    idx = stratified_subset(labels, size, seed)
    return [names[i] for i in idx], [labels[i] for i in idx]


def _stack(images: list[np.ndarray], labels: list[int]) -> Split:
    return torch.from_numpy(np.stack(images)), torch.tensor(labels, dtype=torch.long)


def _zip(path: Path, split: str, size: int | None, seed: int) -> Split:
    if not path.is_file():
        raise ConfigError(f"CIFAR-10 archive {str(path)!r} is missing")
    with zipfile.ZipFile(path) as z:
        names = [n for n in z.namelist() if n.lower().endswith(IMAGE_SUFFIXES)]
        names, labels = _select(*_labelled(names, lambda n: n.split("/")[-2]), size, seed)
        return _stack([_decode(z.read(n)) for n in names], labels)


def _folder(root: Path, size: int | None, seed: int) -> Split:
    if not root.is_dir():
        raise ConfigError(f"CIFAR-10 image folder {str(root)!r} is missing")
    files = [str(p) for p in root.glob("*/*") if p.suffix.lower() in IMAGE_SUFFIXES]
    names, labels = _select(*_labelled(files, lambda n: Path(n).parent.name), size, seed)
    return _stack([_decode(Path(n).read_bytes()) for n in names], labels)
