# ruff: noqa: F401
"""nox configuration file."""

from calcipy.noxfile import tests
