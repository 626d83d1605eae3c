"""Init for the test."""
