#!/usr/bin/env bash
# `make bench`: every benchmark of the project; figures go into docs/benchmarks.md by hand, with the
# command that produced them. Criterion keeps its reports in target/criterion/.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
short=(-- --warm-up-time 1 --measurement-time 5)

echo "== store: commit of 1k/10k writes, reads"
cargo bench -p seqpool-store "${short[@]}"

echo "== app: CheckTx and block throughput (in-process driver, one consensus thread)"
cargo bench -p seqpoold --bench abci

if [ -d tss/benches ]; then
  echo "== threshold key engine"
  cargo bench -p seqpool-tss
fi

echo "== mpc: signing latency through the driver (n = 10, 50, 100)"
cargo test --release -p seqpoold --test mpc_signing -- --ignored --nocapture signing_latency

echo "== mpc: the relayer's SIGNED poll through the status index vs a scan"
cargo test --release -p seqpoold --test mpc_signing -- --ignored --nocapture signed_poll_cost

echo "== mpc: reshare duration after a join (n = 4 and 50, driver)"
cargo test --release -p seqpoold --test mpc_keygen -- --ignored --nocapture reshare_duration

echo "== L1 gas report"
scripts/contracts.sh gas

if [ -x scripts/devnet-load.sh ]; then
  echo "== devnet: sustained txs/s through 4 validators"
  scripts/devnet-load.sh
fi
