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

python="${PYTHON:-.venv/bin/python}"
target="agents/sdk/src"
check=0

case "${1:-}" in
  "") ;;
  --check) check=1 ;;
  -h | --help)
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "gen-python-stubs: unknown argument: $1 (expected --check)" >&2
    exit 2
    ;;
esac

if ! "$python" -c 'import grpc_tools.protoc' 2>/dev/null; then
  echo "gen-python-stubs: $python cannot import grpc_tools (grpcio-tools);" \
    "install the pinned tools: .venv/bin/pip install -r requirements-dev.txt" >&2
  exit 2
fi

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

stale=()
while IFS= read -r rel; do
  if ! cmp -s "$tmp/$rel" "$target/$rel" 2>/dev/null; then
    stale+=("$target/$rel")
  fi
done < <(cd "$tmp" && find hyperagent -type f \( -name '*.py' -o -name '*.pyi' -o -name py.typed \) | sort)

# Generated files that no .proto produces any more are stale too.
while IFS= read -r rel; do
  if [[ ! -e "$tmp/$rel" ]]; then
    stale+=("$target/$rel (no longer generated)")
  fi
done < <(cd "$target" && find hyperagent -type f \( -name '*.py' -o -name '*.pyi' -o -name py.typed \) 2>/dev/null | sort)

if ((${#stale[@]} > 0)); then
  echo "gen-python-stubs: the generated Python stubs are stale; run scripts/gen-python-stubs.sh" >&2
  printf '  %s\n' "${stale[@]}" >&2
  exit 1
fi
echo "gen-python-stubs: $target/hyperagent is up to date"
