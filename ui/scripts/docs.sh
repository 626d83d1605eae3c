#!/usr/bin/env bash
# Makes the docs' screenshots (docs/screenshots/) and the bootstrap recording (docs/bootstrap.webm)
# again, against the real manager and agents: every browser spec that takes screenshots, with
# HYPERAGENT_DOCS=1 (a plain test run never writes docs/), or only the specs named. Needs what the browser tests need (a
# built binary in HYPERAGENT_BIN, `npm run build`) and, for the recording, Debian's ffmpeg, which
# Playwright uses in place of the build of its own it would download.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v ffmpeg >/dev/null; then
  echo "the recording needs ffmpeg: sudo apt-get install ffmpeg" >&2
  exit 1
fi
# Playwright looks for its ffmpeg at <browsers path>/ffmpeg-<revision>/ffmpeg-linux.
revision=$(node -p "JSON.parse(require('fs').readFileSync('node_modules/playwright-core/browsers.json', 'utf8')).browsers.find((b) => b.name === 'ffmpeg').revision")
tools=$(mktemp -d)
trap 'rm -rf "$tools"' EXIT
mkdir -p "$tools/ffmpeg-$revision"
ln -s "$(command -v ffmpeg)" "$tools/ffmpeg-$revision/ffmpeg-linux"
# The specs named (npm run docs -- e2e/docs.spec.ts), else every one that takes screenshots.
if [ $# -gt 0 ]; then
  specs=("$@")
else
  mapfile -t specs < <(grep -l "shots\?(\|WRITE_DOCS" e2e/*.spec.ts)
fi
PLAYWRIGHT_BROWSERS_PATH="$tools" HYPERAGENT_DOCS=1 npx playwright test "${specs[@]}"
