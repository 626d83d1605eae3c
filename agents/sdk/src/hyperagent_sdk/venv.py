"""Python virtual environments as agents find them in a project: which Python a ``.venv`` was
made with, and whether that is the one asked for. Shared by the agents that use a project's own
environment (the test runner, the bootstrapper's post-check)."""

from __future__ import annotations

import re
from pathlib import Path

_VERSION = re.compile(r"^(?:version_info|version)\s*=\s*(\d+\.\d+(?:\.\d+)?)", re.MULTILINE)


def venv_version(venv: Path) -> str:
    """The Python version a venv was made with (``pyvenv.cfg``'s ``version`` as venv writes it,
    or ``version_info`` as uv does), or ''."""
    try:
        cfg = (venv / "pyvenv.cfg").read_text(errors="replace")
    except OSError:
        return ""
    m = _VERSION.search(cfg)
    return m.group(1) if m else ""


def matches(version: str, wanted: str | None) -> bool:
    """Whether ``version`` ("3.11.7") is the Python ``wanted`` ("3.11"; None: any)."""
    return bool(version) and (wanted is None or f"{version}.".startswith(f"{wanted}."))


def usable(venv: Path) -> bool:
    """Whether ``venv`` is an environment that can run: its ``pyvenv.cfg`` and its interpreter."""
    return (venv / "pyvenv.cfg").is_file() and (venv / "bin" / "python").exists()
