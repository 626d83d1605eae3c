#!/usr/bin/env bash
# The whole test suite: Rust unit tests, Python SDK and agent tests, and the end-to-end tests that
# start the real manager binary with real agent processes over real sockets.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

bash scripts/setup.sh

say "web UI: build (the desktop app embeds it)"
npm --prefix ui run build
say "cargo test"
# One build of the whole workspace (same features as the tests), so the binary is not rebuilt.
cargo build --workspace --locked
cargo test --workspace --locked
target_dir=$(cargo metadata --format-version 1 --no-deps | .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
export HYPERAGENT_BIN="$target_dir/debug/hyperagent"
export HYPERAGENT_APP_BIN="$target_dir/debug/hyperagent-app"

# Agents started by the manager find the venv's python3 first.
export PATH="$PWD/.venv/bin:$PATH"
say "pytest: SDK, agents, templates, end to end"
.venv/bin/pytest -q agents/sdk/tests agents/echo/tests agents/bootstrapper/tests agents/testrunner/tests \
  agents/codereview/tests agents/securityaudit/tests agents/devenv/tests agents/embeddings/tests \
  agents/llm/tests agents/coder/tests \
  tests/router tests/templates tests/e2e

say "benchmarks: quick mode (no figure asserted; it keeps the harness from rotting)"
BENCH_QUICK=1 BENCH_AGENTS_DIR="$PWD/agents" BENCH_ONLY=start,dispatch,logs,sdk,sandbox,agents \
  timeout 600 "$target_dir/debug/hyperagent-bench" "$HYPERAGENT_BIN" >/dev/null
BENCH_RUNS=1 timeout 600 .venv/bin/python bench/agents.py >/dev/null
say "router: the labelled prompt set, the router beside the keyword baseline (report only)"
router_out=$(mktemp -d)
.venv/bin/python scripts/router_predict.py > "$router_out/router.jsonl"
.venv/bin/python scripts/router_baseline.py > "$router_out/baseline.jsonl"
.venv/bin/python scripts/router_eval.py baseline="$router_out/baseline.jsonl" router="$router_out/router.jsonl" \
  | sed -n '/## Summary/,/latency p95/p'
say "router: the fresh set, written apart from it (report only)"
.venv/bin/python scripts/router_predict.py --prompts tests/router/fresh.jsonl > "$router_out/fresh.jsonl"
.venv/bin/python scripts/router_eval.py --prompts tests/router/fresh.jsonl router="$router_out/fresh.jsonl" \
  | sed -n '/## Summary/,/latency p95/p'
rm -rf "$router_out"

say "web UI: unit tests (Vitest)"
npm --prefix ui test
say "web UI: end to end in Debian's Chromium (Playwright) against the real manager"
(cd ui && npx playwright test)
