#!/usr/bin/env bash
# Sets everything up, then runs the HyperAgent manager in the foreground with the bundled agents.
# (The desktop app arrives with the UI; until then this is the product: `hyperagent` CLI + manager.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --locked -p hyperagent
export PATH="$PWD/.venv/bin:$PATH"
target_dir=$(cargo metadata --format-version 1 --no-deps | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
echo "HyperAgent manager starting. In another terminal: $target_dir/release/hyperagent agents" >&2
exec "$target_dir/release/hyperagent" serve --agents-dir "$PWD/agents" --templates-dir "$PWD/templates" "$@"
