#!/usr/bin/env bash
# Sustained signed-tx throughput through the 4-validator devnet.
#
#   scripts/devnet-load.sh [TXS]     (default 20000; LOAD_ACCOUNTS limits the number of sending accounts,
#                                     LOAD_WINDOW sets the txs in flight per account, default 400,
#                                     LOAD_BROADCAST sync|async, default sync)
#   DEVNET_APP=kvstore scripts/devnet-load.sh   the same nodes on CometBFT's kvstore app (baseline)
#
# Starts a background devnet (scripts/devnet.sh up) unless one is already running in .devnet/, runs
# `seqpoold load` against it, prints the figures, and stops the devnet again if it started it.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="${DEVNET_DIR:-$repo/.devnet}"
seqpoold="${SEQPOOLD:-$repo/target/release/seqpoold}"
txs="${1:-${LOAD_TXS:-20000}}"
export DEVNET_DIR="$dir" SEQPOOLD="$seqpoold"

if [ -z "${SEQPOOLD_PREBUILT:-}" ]; then
  (cd "$repo" && cargo build --release -p seqpoold --bin seqpoold && cargo build --release -p seqpool-sidecar)
fi
[ -x "$seqpoold" ] || { echo "load: $seqpoold not found; run 'make build'" >&2; exit 1; }

started=0
if [ ! -f "$dir/pids" ]; then
  "$repo/scripts/devnet.sh" up
  started=1
fi
cleanup() { if [ "$started" = 1 ]; then "$repo/scripts/devnet.sh" down; fi; }
trap cleanup EXIT

args=(load --nodes-file "$dir/nodes.json" --txs "$txs" --app "${DEVNET_APP:-seqpool}")
[ -n "${LOAD_BROADCAST:-}" ] && args+=(--broadcast "$LOAD_BROADCAST")
[ -n "${LOAD_ACCOUNTS:-}" ] && args+=(--accounts "$LOAD_ACCOUNTS")
[ -n "${LOAD_WINDOW:-}" ] && args+=(--window "$LOAD_WINDOW")
echo "running: seqpoold ${args[*]}"
"$seqpoold" "${args[@]}"
