"""HyperAgent's project bootstrapper: copier-format templates rendered, committed and checked.

``hyperagent_bootstrapper.agent`` is the agent (``python3 -m hyperagent_bootstrapper`` runs it);
``template`` and ``render`` are the renderer, usable without the SDK (``cli`` renders a
template into a folder from the command line).
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
