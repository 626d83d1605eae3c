#!/usr/bin/env bash
# Prints where the tests' wheelhouse lives: $HYPERAGENT_WHEELHOUSE, else under /var/cache when
# it is writable (warm between runs), else .cache/wheelhouse in the clone.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${HYPERAGENT_WHEELHOUSE:-}" ]; then
  echo "$HYPERAGENT_WHEELHOUSE"
elif mkdir -p /var/cache/hyperagent/wheelhouse 2>/dev/null && [ -w /var/cache/hyperagent/wheelhouse ]; then
  echo /var/cache/hyperagent/wheelhouse
else
  echo "$PWD/.cache/wheelhouse"
fi
