#!/usr/bin/env bash
# Sets everything up, builds, then runs HyperAgent in the foreground: the manager with the bundled
# agents and templates, and the web UI on loopback (it prints the URL to open, with its token).
# (The desktop app comes next; until then the browser is the UI on every machine.)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm --prefix ui run build
cargo build --release --locked -p hyperagent
export PATH="$PWD/.venv/bin:$PATH"
target_dir=$(cargo metadata --format-version 1 --no-deps | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
echo "HyperAgent starting. CLI in another terminal: $target_dir/release/hyperagent agents" >&2
exec "$target_dir/release/hyperagent" serve --web --agents-dir "$PWD/agents" --templates-dir "$PWD/templates" "$@"
