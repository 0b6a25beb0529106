"""Shared fixtures: the ../shared directory (skip cleanly when absent), seeds, thread count."""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SUPERNAS_SHARED", REPO.parent / "shared"))

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))


@pytest.fixture
def shared_dir() -> Path:
    """``../shared`` (or ``$SUPERNAS_SHARED``); tests using it are skipped when it is missing."""
    if not SHARED.is_dir():
        pytest.skip(f"shared data directory {SHARED} not present")
    return SHARED


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One intra-op thread while the test runs: the ENAS controller's tiny ops pay more in
    OpenMP synchronisation than they gain on a busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


class Poison:
    """Unpickling this runs code (it writes ``marker``): files holding it must be refused unread."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (exec, (f"open({str(self.marker)!r}, 'w').write('code ran')",))


@pytest.fixture
def channel(tmp_path: Path) -> Iterator[Any]:
    """A real Katib suggestion gRPC server on a free port (state under ``tmp_path``), and a
    channel to it; grpc is imported here so that tests without the fixture never load it."""
    import grpc

    from katib_suggestions.server import build_server

    server, port = build_server(tmp_path / "state", "127.0.0.1:0")
    server.start()
    with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
        yield ch
    server.stop(None)
