"""Fixtures of the dev-env agent's tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from devenv_projects import fastapi_postgres_files, write_project


@pytest.fixture
def fastapi_postgres(tmp_path: Path) -> Path:
    """A FastAPI project using PostgreSQL, as the bootstrapper's template makes it."""
    return write_project(tmp_path / "shop", fastapi_postgres_files())
