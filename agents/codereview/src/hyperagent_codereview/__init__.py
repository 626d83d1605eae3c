"""HyperAgent's code-review agent: ``code.review`` reviews a git repository (see its README)."""
