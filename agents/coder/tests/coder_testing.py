"""What the coder's tests share (a module of its own: `conftest` is a name every agent's tests
have, so it cannot be imported from when they run together)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(repo: Path, *args: str) -> str:
    """``git -C repo args``' output; the test fails when git does."""
    return subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    ).stdout
