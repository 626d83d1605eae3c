"""HyperAgent's dev-env agent: ``devenv.create`` gives a Python project a dev container and
a Compose file (see its README)."""
