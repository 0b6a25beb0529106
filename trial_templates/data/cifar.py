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
        images, labels = _batch_arrays(path, _read_batch(path))
        xs.append(images)
        ys.extend(labels)
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


def _batch_arrays(path: Path, batch: Any) -> tuple[np.ndarray, list[int]]:
    """``b"data"`` as uint8 [N, 3, 32, 32] and ``b"labels"`` as N ints in 0..9, or a
    ``ConfigError`` naming the file and what was expected."""
    def bad(what: str) -> ConfigError:
        return ConfigError(f"CIFAR-10 file {str(path)!r} {what}; allowed: the python-format batches "
                           "of cifar-10-python.tar.gz (b'data': uint8 [N, 3072], b'labels': N ints 0..9)")

    data = batch[b"data"]
    if not isinstance(data, np.ndarray) or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        shape = getattr(data, "shape", None)
        found = f"shape {tuple(shape)}" if shape is not None else f"type {type(data).__name__}"
        raise bad(f"holds b'data' of {found}, not [N, 3072] (N images of 3x32x32)")
    if data.dtype != np.uint8:
        if data.dtype.kind not in "iu" or (data.size and not 0 <= data.min() <= data.max() <= 255):
            raise bad(f"holds b'data' of dtype {data.dtype}, not uint8 pixel values 0..255")
        data = data.astype(np.uint8)
    labels = batch[b"labels"]
    if (not isinstance(labels, (list, tuple, np.ndarray))
            or not all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in labels)):
        raise bad(f"holds b'labels' of type {type(labels).__name__}, not a list of ints")
    if len(labels) != len(data):
        raise bad(f"holds {len(data)} images but {len(labels)} labels")
    outside = [int(v) for v in labels if not 0 <= int(v) < 10]
    if outside:
        raise bad(f"holds labels outside 0..9 (e.g. {outside[0]})")
    return data.reshape(-1, 3, 32, 32), [int(v) for v in labels]


def _decode(data: bytes, where: str) -> np.ndarray:
    """One image as uint8 [3, 32, 32]; ``where`` names it in errors."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            image = np.asarray(img.convert("RGB"), dtype=np.uint8).transpose(2, 0, 1)  # [3, H, W]
    except UnidentifiedImageError:
        raise ConfigError(f"CIFAR-10 image {where} is not an image PIL can read; allowed: JPEG or PNG "
                          "images of 32x32 pixels") from None
    except (OSError, ValueError) as exc:  # truncated or corrupt image data
        raise ConfigError(f"CIFAR-10 image {where} cannot be decoded: {exc}; allowed: JPEG or PNG "
                          "images of 32x32 pixels") from None
    if image.shape != (3, 32, 32):
        raise ConfigError(f"CIFAR-10 image {where} is {image.shape[2]}x{image.shape[1]} pixels; "
                          "allowed: JPEG or PNG images of 32x32 pixels")
    return image


def _labelled(names: list[str], class_of: Callable[[str], str], where: str) -> tuple[list[str], list[int]]:
    classes = sorted({class_of(n) for n in names})
    if not classes:
        raise ConfigError(f"CIFAR-10 {where} holds no images; allowed: <split>/<class>/<n>.jpg|png "
                          f"images ({', '.join(IMAGE_SUFFIXES)})")
    if len(classes) > 10:
        raise ConfigError(f"CIFAR-10 {where} holds {len(classes)} classes ({', '.join(classes[:12])}"
                          f"{', ...' if len(classes) > 12 else ''}); allowed: at most the 10 CIFAR-10 "
                          "classes, one folder each")
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
    try:
        with zipfile.ZipFile(path) as z:
            names = [n for n in z.namelist() if n.lower().endswith(IMAGE_SUFFIXES) and "/" in n]
            where = f"archive {str(path)!r}"
            names, labels = _select(*_labelled(names, lambda n: n.split("/")[-2], where), size, seed)
            return _stack([_decode(z.read(n), f"{n!r} in {str(path)!r}") for n in names], labels)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError) as exc:
        raise ConfigError(f"CIFAR-10 archive {str(path)!r} cannot be read: {exc}; allowed: a zip of "
                          f"{split}/<class>/<n>.jpg images") from None


def _folder(root: Path, size: int | None, seed: int) -> Split:
    if not root.is_dir():
        raise ConfigError(f"CIFAR-10 image folder {str(root)!r} is missing")
    files = [str(p) for p in root.glob("*/*") if p.suffix.lower() in IMAGE_SUFFIXES]
    where = f"image folder {str(root)!r}"
    names, labels = _select(*_labelled(files, lambda n: Path(n).parent.name, where), size, seed)
    return _stack([_decode(Path(n).read_bytes(), repr(n)) for n in names], labels)
