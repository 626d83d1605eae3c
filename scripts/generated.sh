# Sourced (never run) by the scripts that generate code from the protos, scripts/gen-*.sh: their
# shared command line, tool check and staleness check. Each function takes the calling script's
# name (e.g. gen-ui-types) for its messages.

# gen_args NAME "$@": sets `check` to 1 for --check, else 0; --help prints the calling script's
# header (its lines 2-9); anything else exits 2.
gen_args() {
  local name="$1"
  shift
  check=0
  case "${1:-}" in
    "") ;;
    --check) check=1 ;;
    -h | --help)
      sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
      exit 0
      ;;
    *)
      echo "$name: unknown argument: $1 (expected --check)" >&2
      exit 2
      ;;
  esac
}

# gen_need_grpc_tools NAME PYTHON: exits 2 unless PYTHON has grpcio-tools (and so its protoc).
gen_need_grpc_tools() {
  if ! "$2" -c 'import grpc_tools.protoc' 2>/dev/null; then
    echo "$1: $2 cannot import grpc_tools (grpcio-tools);" \
      "install the pinned tools: .venv/bin/pip install -r requirements-dev.txt" >&2
    exit 2
  fi
}

# gen_compare NAME WHAT FRESH COMMITTED FIND_ARGS...: compares the files FIND_ARGS select below
# FRESH (just generated) and COMMITTED. Exits 1, naming them, when any differs, is missing, or is
# no longer generated (WHAT says what they are: "generated UI types"); else says all is up to date.
gen_compare() {
  local name="$1" what="$2" fresh="$3" committed="$4" rel
  shift 4
  local stale=()
  while IFS= read -r rel; do
    if ! cmp -s "$fresh/$rel" "$committed/$rel" 2>/dev/null; then
      stale+=("$committed/$rel")
    fi
  done < <(cd "$fresh" && find . "$@" | sed 's|^\./||' | sort)

  # Generated files that no .proto produces any more are stale too.
  while IFS= read -r rel; do
    if [[ ! -e "$fresh/$rel" ]]; then
      stale+=("$committed/$rel (no longer generated)")
    fi
  done < <(cd "$committed" 2>/dev/null && find . "$@" | sed 's|^\./||' | sort)

  if ((${#stale[@]} > 0)); then
    echo "$name: the $what are stale; run scripts/$name.sh" >&2
    printf '  %s\n' "${stale[@]}" >&2
    exit 1
  fi
  echo "$name: $committed is up to date"
}
