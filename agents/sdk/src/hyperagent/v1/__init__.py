"""Generated from proto/hyperagent/v1 by scripts/gen-python-stubs.sh; do not edit."""
