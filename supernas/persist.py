"""Plain-data state files: fast to write, safe to read, never torn.

Search state (strategy history, an ENAS controller's weights and optimiser moments as nested
lists) is plain data: dicts, lists, tuples, strings, numbers, booleans and ``None``. It is
stored with ``pickle`` (protocol 5) because encoding a controller's weights as JSON text is
about 25x slower (hundreds of milliseconds per event once a controller has trained), and read
back with an unpickler that refuses every class reference, so a tampered file cannot run code.
Writes go to a temporary file in the target directory that is renamed over the old file
(optionally after ``fsync``): a process killed at any moment leaves the old or the new state.
Used by the NNI tuners and the Katib suggestion service.
"""
from __future__ import annotations

import io
import os
import pickle
import tempfile
from pathlib import Path
from typing import Any


def dump_plain(state: Any) -> bytes:
    """``state`` (plain data only) as bytes."""
    return pickle.dumps(state, protocol=5)


def load_plain(data: bytes) -> Any:
    """Inverse of ``dump_plain``; raises ``pickle.UnpicklingError`` for any class reference."""
    return _PlainUnpickler(io.BytesIO(data)).load()


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"state files hold plain data only, not {module}.{name}")


def atomic_write(path: Path, data: bytes, fsync: bool = True) -> None:
    """Write ``data`` to ``path`` via a temporary file and ``os.replace``.

    ``fsync=True`` also survives a machine crash (the rename follows durable bytes); without it
    the write survives a killed process, which is what a tuner inside NNI's manager needs.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
