"""Init for the project."""
