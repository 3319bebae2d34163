#!/usr/bin/env bash
# Installs every external tool the build, the tests and the devnet need, pinned, into $REPO/.bin.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
"$here/install-cometbft.sh"
if [ -x "$here/install-foundry.sh" ]; then
  "$here/install-foundry.sh"
fi
