"""supernas.persist: plain-data state files, refused classes, writes that are never torn."""
from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from supernas.persist import atomic_write, dump_plain, load_plain


def test_plain_data_round_trips() -> None:
    state = {"history": [({"e0": "conv"}, 0.5), ({"e0": "skip"}, None)], "seen": {"a", "b"},
             "weights": [[0.25, -1.0]], "flag": True, "n": 3}
    assert load_plain(dump_plain(state)) == state


def test_class_references_are_refused() -> None:
    with pytest.raises(pickle.UnpicklingError, match="plain data only, not pathlib"):
        load_plain(pickle.dumps({"p": Path("/tmp")}))


@pytest.mark.parametrize("fsync", [True, False])
def test_failed_write_keeps_the_old_file(tmp_path: Path, fsync: bool) -> None:
    path = tmp_path / "sub" / "state.bin"
    atomic_write(path, b"old", fsync=fsync)
    with pytest.raises(TypeError):
        atomic_write(path, "not bytes", fsync=fsync)  # type: ignore[arg-type]
    assert path.read_bytes() == b"old"
    assert [p.name for p in path.parent.iterdir()] == ["state.bin"]  # no temporary file left
