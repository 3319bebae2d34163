#!/usr/bin/env bash
# Builds and tests the L1 contracts with the pinned forge and solc-js (see scripts/install-foundry.sh).
#   contracts.sh build   compile contracts/
#   contracts.sh test    run the forge tests (-vv)
#   contracts.sh gas     run the tests with the gas report
#   contracts.sh abi     compile and refresh the committed artifacts in contracts/abi/ (abi + bytecode)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
forge="$repo/.bin/forge"
if [ ! -x "$forge" ]; then
  echo "error: $forge not found; run 'make deps' (scripts/install-foundry.sh) first" >&2
  exit 1
fi
cd "$repo/contracts"

# The contracts the Rust crate (l1/) binds and deploys.
ABI_CONTRACTS=(DevnetToken Governance GroupKeyRegistry LockingPool LockingEscrow BatchInbox)

cmd="${1:-build}"
shift || true
case "$cmd" in
  build) "$forge" build "$@" ;;
  test) "$forge" test -vv "$@" ;;
  gas) "$forge" test --gas-report "$@" ;;
  abi)
    "$forge" build "$@"
    mkdir -p abi
    # node, not jq: Node.js is already required for solc-js.
    node -e '
      const fs = require("fs");
      for (const name of process.argv.slice(1)) {
        const art = JSON.parse(fs.readFileSync(`out/${name}.sol/${name}.json`, "utf8"));
        const trimmed = { contractName: name, abi: art.abi, bytecode: art.bytecode.object,
                          deployedBytecode: art.deployedBytecode.object };
        fs.writeFileSync(`abi/${name}.json`, JSON.stringify(trimmed, null, 2) + "\n");
      }' "${ABI_CONTRACTS[@]}"
    echo "wrote ${#ABI_CONTRACTS[@]} artifacts to contracts/abi/"
    ;;
  *)
    echo "usage: $0 build|test|gas|abi [forge args...]" >&2
    exit 2
    ;;
esac
