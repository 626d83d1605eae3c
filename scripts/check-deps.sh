#!/usr/bin/env bash
# The crates' layering (ARCHITECTURE.md, "Crates"): the core knows no transport, no generated wire
# types and no UI shell; the adapters know no UI shell. Fails naming the crate and the dependency
# that crossed a line, and the path that brought it in.
#
# Usage: scripts/check-deps.sh
set -euo pipefail
cd "$(dirname "$0")/.."

# crate -> packages it must not reach, directly or through anything else (normal and build edges).
declare -A forbidden=(
  [hyperagent-core]='^(tonic|tonic-[a-z-]+|axum|axum-core|prost|prost-[a-z-]+|pbjson|pbjson-[a-z-]+|hyperagent-proto|hyperagent-server|tauri|tauri-[a-z-]+|tower|tower-http|hyper|h2)$'
  [hyperagent-server]='^(tauri|tauri-[a-z-]+|hyperagent-app|hyperagent)$'
)

status=0
for crate in "${!forbidden[@]}"; do
  tree=$(cargo tree --locked -p "$crate" -e normal,build --prefix none --format '{p}')
  bad=$(awk '{print $1}' <<<"$tree" | sort -u | grep -E "${forbidden[$crate]}" || true)
  if [[ -n "$bad" ]]; then
    status=1
    for dep in $bad; do
      echo "check-deps: $crate must not depend on $dep; it comes in through:" >&2
      cargo tree --locked -p "$crate" -e normal,build -i "$dep" --prefix indent 2>&1 | sed 's/^/    /' >&2
    done
  fi
done
[[ $status -eq 0 ]] && echo "check-deps: hyperagent-core and hyperagent-server keep to their layers"
exit $status
