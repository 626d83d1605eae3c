"""HyperAgent's coding worker: ``code.change`` makes a change to a git repository on a branch of
its own, in a git worktree, with a language model choosing one tool a turn (see README)."""

from .agent import agent

__version__ = "0.1.0"
__all__ = ["__version__", "agent"]
