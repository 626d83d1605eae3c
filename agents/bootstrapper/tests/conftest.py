"""Shared paths for the bootstrapper's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data"
REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def thirdparty() -> Path:
    """A template written the way copier's documentation shows (not one of ours)."""
    return DATA / "thirdparty"


@pytest.fixture
def repo() -> Path:
    return REPO


#: Vendored third-party templates hold their own tests and conftest files: not ours to collect.
collect_ignore = ["data"]
