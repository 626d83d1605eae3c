"""Generated HyperAgent protocol packages; do not edit (scripts/gen-python-stubs.sh)."""
