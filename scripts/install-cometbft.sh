#!/usr/bin/env bash
# Installs the pinned CometBFT into $REPO/.bin (idempotent).
set -euo pipefail
COMETBFT_VERSION="${COMETBFT_VERSION:-v0.38.26}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
bin="$repo/.bin"
mkdir -p "$bin"
if [ -x "$bin/cometbft" ] && [ "$("$bin/cometbft" version 2>/dev/null)" = "${COMETBFT_VERSION#v}" ]; then
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "error: Go is not installed; it is needed once to build CometBFT ${COMETBFT_VERSION}." >&2
  echo "       install Go (https://go.dev/doc/install) and re-run 'make deps'." >&2
  exit 1
fi
echo "installing cometbft ${COMETBFT_VERSION} into ${bin} ..."
GOBIN="$bin" GOFLAGS=-mod=mod go install "github.com/cometbft/cometbft/cmd/cometbft@${COMETBFT_VERSION}"
echo "cometbft $("$bin/cometbft" version)"
