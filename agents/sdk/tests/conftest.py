"""Shared fixtures: a socket directory short enough for AF_UNIX, and a fake manager on it."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fake_manager import FakeManager


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    # Unix socket paths are limited to ~107 bytes: pytest's tmp_path can be longer.
    path = Path(tempfile.mkdtemp(prefix="ha-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def socket_path(socket_dir: Path) -> str:
    return str(socket_dir / "manager.sock")


@pytest.fixture
def manager(socket_path: str) -> Iterator[FakeManager]:
    fake = FakeManager(socket_path)
    yield fake
    fake.stop()
