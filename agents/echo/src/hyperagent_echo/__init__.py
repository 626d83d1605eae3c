"""The example HyperAgent agent: echoes, sleeps, spams log lines, fails on request."""

from .agent import agent

__version__ = "0.1.0"
__all__ = ["__version__", "agent"]
