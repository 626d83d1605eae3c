#!/usr/bin/env bash
# Sets everything up, builds, then runs HyperAgent: the desktop app where there is a display (it
# runs the manager inside itself, with the bundled agents and templates, and lives in the tray),
# else the headless manager with the web UI on loopback (it prints the URL to open, with its token).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
npm --prefix ui run build
export PATH="$PWD/.venv/bin:$PATH"  # agents find the venv's python3 first
target_dir=$(cargo metadata --format-version 1 --no-deps | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
# A release binary finds what HyperAgent ships beside itself (<prefix>/share/hyperagent), as when
# installed, never in the tree it was built from: lay that out here, pointing into this checkout.
share="$target_dir/share/hyperagent"
mkdir -p "$share"
ln -sfn "$PWD/agents" "$share/agents"
ln -sfn "$PWD/templates" "$share/templates"
ln -sfn "$PWD/ui/dist" "$share/ui"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${HYPERAGENT_HEADLESS:-}" ]; then
  cargo build --release --locked -p hyperagent-app -p hyperagent
  echo "HyperAgent desktop app starting (HYPERAGENT_HEADLESS=1 for the web UI instead)." >&2
  exec "$target_dir/release/hyperagent-app"
fi
cargo build --release --locked -p hyperagent
echo "HyperAgent starting. CLI in another terminal: $target_dir/release/hyperagent agents" >&2
exec "$target_dir/release/hyperagent" serve --web --agents-dir "$PWD/agents" --templates-dir "$PWD/templates" "$@"
