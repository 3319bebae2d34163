#!/usr/bin/env bash
# Builds and tests the L1 contracts with the pinned forge and solc-js (see scripts/install-foundry.sh).
#   contracts.sh build   compile contracts/
#   contracts.sh test    run the forge tests (-vv)
#   contracts.sh gas     the gas report (isolated calls), then the *Gas tests' gasleft() figures
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

# Writes the trimmed artifacts (abi + bytecode) of ABI_CONTRACTS from out/ into directory $1.
# node, not jq: Node.js is already required for solc-js.
write_artifacts() {
  mkdir -p "$1"
  node -e '
    const fs = require("fs");
    const [dir, ...names] = process.argv.slice(1);
    for (const name of names) {
      const art = JSON.parse(fs.readFileSync(`out/${name}.sol/${name}.json`, "utf8"));
      const trimmed = { contractName: name, abi: art.abi, bytecode: art.bytecode.object,
                        deployedBytecode: art.deployedBytecode.object };
      fs.writeFileSync(`${dir}/${name}.json`, JSON.stringify(trimmed, null, 2) + "\n");
    }' "$1" "${ABI_CONTRACTS[@]}"
}

cmd="${1:-build}"
shift || true
case "$cmd" in
  build) "$forge" build "$@" ;;
  test)
    "$forge" test -vv "$@"
    # The Rust bindings compile from contracts/abi/: fail if it no longer matches the sources.
    fresh="$(mktemp -d)"
    trap 'rm -rf "$fresh"' EXIT
    write_artifacts "$fresh"
    if ! diff -rq "$fresh" abi >/dev/null; then
      echo "error: contracts/abi/ is stale; run 'scripts/contracts.sh abi' and commit it" >&2
      diff -rq "$fresh" abi >&2 || true
      exit 1
    fi
    echo "contracts/abi/ matches the sources"
    ;;
  gas)
    # Two modes, never mixed: the gas report runs every top-level call as its own transaction
    # (isolation: intrinsic 21,000 + calldata + cold accesses), so the in-test gasleft() bounds of
    # the *Gas tests, measured inside one test transaction, do not apply there. They run after it,
    # in the normal mode, with their figures printed.
    "$forge" test --gas-report --no-match-test 'Gas' "$@"
    "$forge" test --match-test 'Gas' -vv "$@"
    ;;
  abi)
    "$forge" build "$@"
    write_artifacts abi
    echo "wrote ${#ABI_CONTRACTS[@]} artifacts to contracts/abi/"
    ;;
  *)
    echo "usage: $0 build|test|gas|abi [forge args...]" >&2
    exit 2
    ;;
esac
