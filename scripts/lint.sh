#!/usr/bin/env bash
# Formatting, lints and type checks for Rust, Python and the web UI, and the freshness checks of
# the generated Python stubs and UI types.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

say "cargo fmt --check"
cargo fmt --all -- --check
say "web UI: build (the desktop app embeds it, so clippy needs it)"
npm --prefix ui run build
say "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -q -- -D warnings
say "crate layers (the core knows no transport, wire types or UI shell)"
bash scripts/check-deps.sh
say "python stubs are up to date"
bash scripts/gen-python-stubs.sh --check
say "web UI: types generated from the protos are up to date"
bash scripts/gen-ui-types.sh --check
say "ruff"
.venv/bin/ruff check agents tests scripts
.venv/bin/ruff format --check agents tests
say "mypy --strict"
.venv/bin/mypy --config-file agents/sdk/pyproject.toml
.venv/bin/mypy --config-file agents/sdk/pyproject.toml agents/codereview/src/hyperagent_codereview
.venv/bin/mypy --config-file agents/sdk/pyproject.toml agents/securityaudit/src/hyperagent_securityaudit
.venv/bin/mypy --config-file agents/sdk/pyproject.toml agents/devenv/src/hyperagent_devenv
.venv/bin/mypy --config-file agents/sdk/pyproject.toml agents/embeddings/src/hyperagent_embeddings
.venv/bin/mypy --config-file agents/sdk/pyproject.toml agents/llm/src/hyperagent_llm
.venv/bin/mypy --config-file agents/sdk/pyproject.toml agents/coder/src/hyperagent_coder
say "web UI: TypeScript"
npm --prefix ui run typecheck
