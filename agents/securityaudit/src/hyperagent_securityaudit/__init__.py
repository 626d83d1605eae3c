"""HyperAgent's security-audit agent."""
