#!/usr/bin/env bash
# Generates the Python gRPC stubs of the HyperAgent protocol (proto/hyperagent/v1/*.proto) into
# agents/sdk/src as the package `hyperagent.v1`, shipped with the `hyperagent-sdk` distribution.
#
# Usage: scripts/gen-python-stubs.sh [--check]
#   --check  generate into a temporary directory and compare with the committed files; exit 1 when
#            they differ (the stubs are stale).
# Uses ${PYTHON:-.venv/bin/python} (relative to the repository root), which needs grpcio-tools at
# the version pinned in requirements-dev.txt (the generated code depends on it).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/generated.sh
source scripts/generated.sh

python="${PYTHON:-.venv/bin/python}"
target="agents/sdk/src"

gen_args gen-python-stubs "$@"
gen_need_grpc_tools gen-python-stubs "$python"

generate() {
  local out="$1"
  mkdir -p "$out/hyperagent/v1"
  "$python" -m grpc_tools.protoc -I proto \
    --python_out="$out" --pyi_out="$out" --grpc_python_out="$out" \
    proto/hyperagent/v1/*.proto
  echo '"""Generated HyperAgent protocol packages; do not edit (scripts/gen-python-stubs.sh)."""' \
    >"$out/hyperagent/__init__.py"
  echo '"""Generated from proto/hyperagent/v1 by scripts/gen-python-stubs.sh; do not edit."""' \
    >"$out/hyperagent/v1/__init__.py"
  : >"$out/hyperagent/py.typed" # the .pyi files type the messages for the SDK's users too
}

if [[ "$check" -eq 0 ]]; then
  rm -f "$target"/hyperagent/v1/*_pb2.py "$target"/hyperagent/v1/*_pb2.pyi "$target"/hyperagent/v1/*_pb2_grpc.py
  generate "$target"
  echo "gen-python-stubs: wrote $target/hyperagent"
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
generate "$tmp"
# Only the generated kinds of file: the package folder also holds __pycache__.
gen_compare gen-python-stubs "generated Python stubs" "$tmp/hyperagent" "$target/hyperagent" \
  -type f \( -name '*.py' -o -name '*.pyi' -o -name py.typed \)
