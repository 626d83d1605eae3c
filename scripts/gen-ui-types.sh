#!/usr/bin/env bash
# Generates the web UI's TypeScript types of the client API (proto/hyperagent/v1/{common,client}.proto)
# into ui/src/ipc/gen, with ts-proto (pinned in ui/package.json) run by grpcio-tools' protoc.
#
# Usage: scripts/gen-ui-types.sh [--check]
#   --check  generate into a temporary directory and compare with the committed files; exit 1 when
#            they differ (the types are stale).
# Uses ${PYTHON:-.venv/bin/python} (relative to the repository root), which needs grpcio-tools at
# the version pinned in requirements-dev.txt, and ui/node_modules from `npm --prefix ui ci`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# shellcheck source=scripts/generated.sh
source scripts/generated.sh

python="${PYTHON:-.venv/bin/python}"
plugin="ui/node_modules/.bin/protoc-gen-ts_proto"
target="ui/src/ipc/gen"
# The agent API (agent.proto) is not the UI's business.
protos=(proto/hyperagent/v1/common.proto proto/hyperagent/v1/client.proto)

gen_args gen-ui-types "$@"
gen_need_grpc_tools gen-ui-types "$python"
if [[ ! -x "$plugin" ]]; then
  echo "gen-ui-types: $plugin is missing; install the UI's packages: npm --prefix ui ci" >&2
  exit 2
fi

# The UI receives what the manager's pbjson serde writes (web API and desktop shell alike): the
# proto3 JSON mapping with the proto's field names, every scalar, repeated and map field present
# (emit_fields), an unset message or timestamp left out, 64-bit integers as strings, enums by name,
# timestamps as RFC 3339 strings. The options below type exactly that:
#   onlyTypes, useJsonWireFormat  interfaces only, typed as the JSON form (timestamps as strings,
#                                 enums as their names); the transports move plain JSON
#   snakeToCamel=false            the proto's field names, as pbjson's preserve_proto_field_names
#   enumsAsLiterals               `as const` objects whose type is the union of the names, so the UI
#                                 writes 'TASK_STATE_QUEUED' literals (no TS `enum`)
#   unrecognizedEnum=false        no made-up UNRECOGNIZED member: pbjson sends only named values
#   forceLong=string              64-bit integers as strings
#   useOptionals=messages         message and timestamp fields (and oneof members, proto3
#                                 `optional`s) are optional keys: left out when unset
#   useUnknownForValue            a google.protobuf.Struct is an object of unknowns, not of `any`
#   emitImportedFiles=false       no google/protobuf/*.ts: timestamps are strings here
#   annotateFilesWithVersion=false  the output depends on the protos and ts-proto's pinned version
#                                 only, not on which protoc ran it
#   outputServices=default, outputClientImpl=false, useAsyncIterable
#                                 the ClientService interface alone (no client code, no rxjs), from
#                                 which ui/src/ipc/types.ts derives the UI's method table
opts=(
  onlyTypes=true useJsonWireFormat=true snakeToCamel=false enumsAsLiterals=true unrecognizedEnum=false
  forceLong=string useOptionals=messages useUnknownForValue=true emitImportedFiles=false
  annotateFilesWithVersion=false outputServices=default outputClientImpl=false useAsyncIterable=true
)

# ts-proto types a `bytes` field as Uint8Array, but its JSON form is a base64 string: refuse rather
# than generate a type that lies.
if grep -nE '^\s*((repeated|optional)\s+)?bytes\s+\w+\s*=|map<\s*\w+\s*,\s*bytes\s*>' "${protos[@]}" >&2; then
  echo "gen-ui-types: a bytes field (above) would be mistyped as Uint8Array (JSON sends base64);" \
    "give this script a mapping for it first" >&2
  exit 2
fi

generate() {
  local out="$1" f
  mkdir -p "$out"
  "$python" -m grpc_tools.protoc -I proto \
    --plugin=protoc-gen-ts_proto="$plugin" \
    --ts_proto_out="$out" \
    --ts_proto_opt="$(IFS=,; echo "${opts[*]}")" \
    "${protos[@]}"
  while IFS= read -r f; do
    {
      echo "// Generated from proto/${f%.ts}.proto by scripts/gen-ui-types.sh; do not edit, run the script."
      cat "$out/$f"
    } >"$out/$f.tmp"
    mv "$out/$f.tmp" "$out/$f"
  done < <(cd "$out" && find . -type f -name '*.ts' | sed 's|^\./||' | sort)
}

if [[ "$check" -eq 0 ]]; then
  rm -rf "$target"
  generate "$target"
  echo "gen-ui-types: wrote $target"
  exit 0
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
generate "$tmp"
gen_compare gen-ui-types "generated UI types" "$tmp" "$target" -type f
