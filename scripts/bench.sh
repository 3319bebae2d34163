#!/usr/bin/env bash
# `make bench`: every benchmark of the project, one step after another. A failing step does not
# stop the others; the run ends with a summary (each step: ok or FAILED, its time, its headline
# figure) and exits non-zero if any step failed. Figures go into docs/benchmarks.md by hand, with
# the command that produced them. Criterion keeps its reports in target/criterion/.
#
#   scripts/bench.sh            the full run (release builds, every size)
#   scripts/bench.sh --smoke    make bench-smoke: every step in a short form (a few short samples,
#                               small n, a few hundred load txs) on the dev-profile binaries that
#                               make test builds anyway. It checks that each step runs and prints
#                               its figure, never how fast.
#   BENCH_STEPS="store abci"    run only these steps (names as in the summary)
set -uo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
export PATH="$repo/.bin:$PATH"

smoke=0
[ "${1:-}" = "--smoke" ] && smoke=1
logs="$repo/target/bench-logs"
mkdir -p "$logs"

if [ "$smoke" = 1 ]; then
  export SEQPOOL_BENCH_SMOKE=1
  bench_profile=(--profile dev)
  test_profile=()
  store_opts=(--warm-up-time 0.1 --measurement-time 0.5 --sample-size 10)
else
  bench_profile=()
  test_profile=(--release)
  store_opts=(--warm-up-time 1 --measurement-time 5)
fi

# The devnet step: seqpoold's 4 validators, then the same 4 CometBFT nodes on the kvstore app, the
# same load shape (broadcast_tx_async, the same window per sender and txs per sender), each on a
# devnet of its own (own directory and ports, so a running `make devnet` is left alone; 256 in
# flight per sender: seqpool's auth.max_pending_txs_per_account, as async cannot retry); the
# ratio of committed txs/s says what seqpoold costs over bare consensus. The full run leaves L1
# and L2 out for the comparison; the smoke run keeps them in (the load accounts must not clash
# with the sidecars).
run_load() { # app txs extra-env...
  local app=$1 txs=$2 dir rc
  shift 2
  dir="$(mktemp -d)"
  env "$@" DEVNET_APP="$app" DEVNET_DIR="$dir/devnet" DEVNET_BASE_PORT=27656 DEVNET_GRPC_PORT=9190 \
    DEVNET_REST_PORT=1417 DEVNET_L1_PORT=8645 DEVNET_L2_PORT=9645 LOAD_BROADCAST=async LOAD_WINDOW=256 \
    scripts/devnet-load.sh "$txs"
  rc=$?
  rm -rf "$dir"
  return $rc
}

devnet_load() {
  local out rate_seqpool rate_kvstore
  out="$(mktemp)"
  if [ "$smoke" = 1 ]; then
    cargo build -p seqpoold --bin seqpoold && cargo build -p seqpool-sidecar || return 1
    local bins=(SEQPOOLD="$repo/target/debug/seqpoold" SIDECAR="$repo/target/debug/seqpool-sidecar" SEQPOOLD_PREBUILT=1 DEVNET_EXTRA_ACCOUNTS=8)
    run_load seqpool 400 "${bins[@]}" | tee "$out" || return 1
    run_load kvstore 400 "${bins[@]}" | tee -a "$out" || return 1
  else
    cargo build --release -p seqpoold --bin seqpoold && cargo build --release -p seqpool-sidecar || return 1
    run_load seqpool 20000 SEQPOOLD_PREBUILT=1 DEVNET_L1=0 DEVNET_L2=0 | tee "$out" || return 1
    run_load kvstore 20000 SEQPOOLD_PREBUILT=1 | tee -a "$out" || return 1
  fi
  rate_seqpool="$(grep -m1 '^sustained:' "$out" | awk '{print $2}')"
  rate_kvstore="$(grep '^sustained:' "$out" | sed -n 2p | awk '{print $2}')"
  rm -f "$out"
  [ -n "$rate_seqpool" ] && [ -n "$rate_kvstore" ] || return 1
  echo "devnet vs kvstore: seqpoold $rate_seqpool txs/s, kvstore $rate_kvstore txs/s committed (same nodes, same load): $((100 * rate_seqpool / (rate_kvstore > 0 ? rate_kvstore : 1)))% of bare consensus"
}

# Store and tss benches are built with the workspace's feature set (as make test-unit builds them),
# so the smoke run reuses its dependencies instead of building them again for one package.
# name | headline pattern (extended grep over the step's output; the last match is shown) | command
steps=(
  "store|^store/prepare_commit_10000_writes_on_100k|cargo bench ${bench_profile[*]} --workspace --exclude seqpoold --bench commit -- ${store_opts[*]}"
  "store-p99|^store commit 10000 writes|cargo bench ${bench_profile[*]} --workspace --exclude seqpoold --bench commit_percentiles"
  "abci|^finalize_block/|cargo bench ${bench_profile[*]} -p seqpool-app --bench abci"
  "abci-server|^abci server query|cargo bench ${bench_profile[*]} -p seqpoold --bench abci_server"
  "tss|^signing/|cargo bench ${bench_profile[*]} --workspace --exclude seqpoold --bench engine --bench cpu_time"
  "mpc-signing|^mpc signing n=|cargo test ${test_profile[*]} -p seqpoold --test mpc_signing -- --ignored --nocapture signing_latency"
  "mpc-signed-poll|^signed poll with|cargo test ${test_profile[*]} -p seqpoold --test mpc_signing -- --ignored --nocapture signed_poll_cost"
  "mpc-reshare|^reshare [0-9]+ ->|cargo test ${test_profile[*]} -p seqpoold --test mpc_keygen -- --ignored --nocapture reshare_duration"
  "l1-gas|executeSigned\\(slash\\) gas|scripts/contracts.sh gas"
  "devnet-load|^devnet vs kvstore:|devnet_load"
)

summary=()
failed=0
for step in "${steps[@]}"; do
  IFS='|' read -r name pattern command <<<"$step"
  if [ -n "${BENCH_STEPS:-}" ] && ! [[ " $BENCH_STEPS " == *" $name "* ]]; then
    continue
  fi
  log="$logs/$name.log"
  echo "== $name: $command"
  start=$(date +%s)
  if [ "$command" = devnet_load ]; then
    devnet_load 2>&1 | tee "$log"
  else
    # shellcheck disable=SC2086 # the command is a word list on purpose
    $command 2>&1 | tee "$log"
  fi
  rc=${PIPESTATUS[0]}
  took=$(($(date +%s) - start))
  # Criterion prints the name, then `time:` and `thrpt:` (on the name's line when it is short).
  headline="$(awk -v pat="$pattern" '
      $0 ~ pat { cur = $0; want = 1; last = cur; next }
      want && /(time|thrpt):/ { cur = cur " " $0; last = cur; next }
      { want = 0 }
      END { print last }' "$log" | tr -s ' ')"
  status=ok
  if [ "$rc" != 0 ]; then
    status=FAILED
  elif [ -z "$headline" ]; then
    status="FAILED (no figure printed)"
  fi
  [ "$status" = ok ] || failed=$((failed + 1))
  summary+=("$(printf '%-16s %-26s %5ss  %s' "$name" "$status" "$took" "${headline:-"-"}")")
done

echo
echo "== bench summary ($([ "$smoke" = 1 ] && echo smoke || echo full); logs in $logs)"
printf '%s\n' "${summary[@]}"
if [ "$failed" != 0 ]; then
  echo "$failed step(s) failed"
  exit 1
fi
