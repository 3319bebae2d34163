#!/usr/bin/env bash
# Installs the pinned L1 toolchain from the npm registry (idempotent): forge, anvil and cast 1.7.1,
# solc-js 0.8.30 and OpenZeppelin contracts into tools/node_modules (from tools/package-lock.json),
# then links forge, anvil and cast into $REPO/.bin.
set -euo pipefail
FOUNDRY_VERSION="1.7.1"
repo="$(cd "$(dirname "$0")/.." && pwd)"
tools="$repo/tools"
bin="$repo/.bin"
mkdir -p "$bin"

if ! command -v npm >/dev/null 2>&1; then
  echo "error: npm (Node.js >= 18) is needed to install forge, anvil and solc-js; install Node.js and re-run 'make deps'." >&2
  exit 1
fi

installed_ok() {
  for tool in forge anvil cast; do
    [ -x "$bin/$tool" ] || return 1
    "$bin/$tool" --version 2>/dev/null | grep -q "Version: ${FOUNDRY_VERSION}" || return 1
  done
  [ -f "$tools/node_modules/solc/soljson.js" ] || return 1
  [ -d "$tools/node_modules/@openzeppelin/contracts" ] || return 1
  # Reinstall when the lock file changed since the last install.
  [ "$tools/node_modules/.package-lock.json" -nt "$tools/package-lock.json" ] || return 1
}

if installed_ok; then
  exit 0
fi

echo "installing forge/anvil/cast ${FOUNDRY_VERSION}, solc-js and OpenZeppelin into ${tools}/node_modules ..."
(cd "$tools" && npm ci --no-audit --no-fund --loglevel=error)

for tool in forge anvil cast; do
  src="$tools/node_modules/@foundry-rs/${tool}-linux-amd64/bin/${tool}"
  if [ ! -x "$src" ]; then
    echo "error: ${src} missing after npm ci (only linux-amd64 packages are pinned)" >&2
    exit 1
  fi
  ln -sf "$src" "$bin/$tool"
done
"$bin/forge" --version | head -1
"$bin/anvil" --version | head -1
echo "solc-js $("$repo/scripts/solc-js" --version | tail -1)"
