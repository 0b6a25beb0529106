"""An append-only file of framed plain-data records: torn tails are detected and cut off.

Each record is one ``write`` of ``[payload length: 4 bytes][crc32 of the payload: 4 bytes]
[payload]`` (big-endian; payload: ``supernas.persist.dump_plain``), followed by ``fdatasync``, so
a process killed at any moment leaves the file holding whole records plus, at worst, a prefix of
the last one. ``read_records`` returns the whole records with the offset after each; a
short header, a short payload or a checksum mismatch ends the log there (the record being written
when the process died: its reply was never sent, see ``state.py``). The payload is read back with
the class-refusing unpickler, so a tampered file cannot run code. The framing is the one of
LevelDB's write-ahead log (``doc/log_format.md``: length, checksum, payload), without blocks.
"""
from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path
from typing import Any, BinaryIO

from supernas.persist import dump_plain, load_plain

HEADER = struct.Struct(">II")  # payload length, crc32 of the payload


def frame(record: Any) -> bytes:
    """``record`` (plain data) as one framed record."""
    payload = dump_plain(record)
    return HEADER.pack(len(payload), zlib.crc32(payload)) + payload


def read_records(path: Path) -> list[tuple[Any, int]]:
    """The whole records of ``path`` (none when it is missing), each with the byte offset after it."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return []
    records: list[tuple[Any, int]] = []
    at = 0
    while at + HEADER.size <= len(data):
        size, crc = HEADER.unpack_from(data, at)
        payload = data[at + HEADER.size: at + HEADER.size + size]
        if len(payload) < size or zlib.crc32(payload) != crc:
            break  # torn (or damaged) tail: the log ends before it
        try:
            record = load_plain(payload)
        except Exception:  # noqa: BLE001 - a checksummed payload that is not plain data: stop
            break
        at += HEADER.size + size
        records.append((record, at))
    return records


class AppendLog:
    """Appends framed records to one file, each durable (``fdatasync``) before ``append`` returns."""

    def __init__(self, path: Path, end: int) -> None:
        """Open ``path`` for appending after byte ``end`` (what follows is cut off)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file: BinaryIO = open(path, "ab")  # noqa: SIM115 - kept open between appends
        if self._file.tell() != end:
            self._file.truncate(end)
            self._file.seek(end)

    def append(self, record: Any) -> int:
        """Write one record durably; returns its size in bytes."""
        data = frame(record)
        self._file.write(data)
        self._file.flush()
        os.fdatasync(self._file.fileno())
        return len(data)

    def reset(self) -> None:
        """Empty the file (after a compaction wrote everything it held into the snapshot)."""
        self._file.truncate(0)
        self._file.seek(0)
        os.fdatasync(self._file.fileno())

    def close(self) -> None:
        self._file.close()
