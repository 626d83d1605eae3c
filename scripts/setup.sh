#!/usr/bin/env bash
# Installs everything HyperAgent needs on Debian 12, idempotently: system packages, the Python venv
# with the agent SDK and dev tools, and the Rust dependencies. Run as root (or with sudo).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

APT_PACKAGES=(
  build-essential pkg-config git ca-certificates
  protobuf-compiler libprotobuf-dev      # protoc + well-known types for the Rust gRPC codegen
  python3 python3-venv python3-dev       # agents and the SDK
  libdbus-1-dev                          # the desktop keychain (Secret Service) client
  dbus gnome-keyring                     # a real Secret Service for the secrets tests
  postgresql                             # the Postgres variants of the templates are tested on it
  chromium fonts-liberation fonts-noto-core  # the browser the UI's end-to-end tests drive
  libwebkit2gtk-4.1-dev libayatana-appindicator3-dev librsvg2-dev libxdo-dev libssl-dev  # the desktop app (Tauri)
  xvfb xauth webkit2gtk-driver dbus-x11  # its WebDriver test on a virtual display
  python3-gi gir1.2-gtk-3.0              # ... and that test's screenshots of the display
  systemd                                # systemd-analyze checks the user service's unit file
  openssh-client                         # a real ssh-agent in the sandbox escape tests
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  say "installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq -o DPkg::Lock::Timeout=600 "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  echo "HyperAgent needs a Rust toolchain (1.89 or newer) with cargo on PATH; install it with rustup." >&2
  exit 1
fi
# The web UI builds with Vite, which needs Node.js 20.19 or newer (Debian 12's own is 18).
if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null \
   || ! command -v npm >/dev/null; then
  echo "HyperAgent's web UI needs Node.js 20.19 or newer with npm on PATH (e.g. from nodejs.org or NodeSource)." >&2
  exit 1
fi

# The Python venv: Debian's interpreter, pinned tools, the SDK and agents installed editable.
PY=/usr/bin/python3
stamp=.venv/.hyperagent-setup
want=$(cat requirements-dev.txt agents/*/pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "preparing the Python venv (.venv)"
  [ -x .venv/bin/python ] || "$PY" -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt \
    -e agents/sdk -e agents/echo -e "agents/bootstrapper[extensions]" -e agents/testrunner -e agents/codereview \
    -e agents/securityaudit -e agents/devenv -e agents/embeddings -e agents/llm -e agents/coder
  echo "$want" > "$stamp"
fi

# The wheels every template variant installs, for the bootstrapper's offline mode in the tests
# and benchmarks (kept outside the clone when /var/cache is writable, so it stays warm).
.venv/bin/python scripts/wheelhouse.py "$(bash scripts/wheelhouse-dir.sh)"

say "fetching Rust crates"
cargo fetch --locked -q

# The WebDriver server for the desktop app's test (in front of Debian's WebKitWebDriver).
TAURI_DRIVER_VERSION=2.1.0
if ! cargo install --list | grep -q "^tauri-driver v$TAURI_DRIVER_VERSION:"; then
  say "installing tauri-driver $TAURI_DRIVER_VERSION"
  cargo install -q --locked tauri-driver --version "$TAURI_DRIVER_VERSION"
fi

# The web UI's packages, exactly as locked (the browser tests use Debian's Chromium, never a
# downloaded one).
if [ -f ui/package-lock.json ]; then
  lock=$(sha256sum ui/package-lock.json | cut -d' ' -f1)
  if [ ! -d ui/node_modules ] || [ "$(cat ui/node_modules/.hyperagent-setup 2>/dev/null)" != "$lock" ]; then
    say "installing the web UI's npm packages"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm --prefix ui ci --no-audit --no-fund --loglevel=error
    echo "$lock" > ui/node_modules/.hyperagent-setup
  fi
fi

say "setup done ($ROOT)"
