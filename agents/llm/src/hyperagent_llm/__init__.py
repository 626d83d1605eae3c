"""HyperAgent's LLM agent: ``llm.route`` and ``llm.summarize`` ask a language model (see README)."""

from .agent import agent

__version__ = "0.1.0"
__all__ = ["__version__", "agent"]
