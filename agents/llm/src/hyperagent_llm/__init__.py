"""HyperAgent's LLM agent: ``llm.route`` asks a language model to route a request (see README)."""

from .agent import agent

__version__ = "0.1.0"
__all__ = ["__version__", "agent"]
