#!/usr/bin/env bash
# Local 4-validator seqpool devnet: each validator is a cometbft + seqpoold pair on loopback.
#
#   scripts/devnet.sh run     generate .devnet/, start every process in the foreground, show progress,
#                             stop everything on Ctrl-C
#   scripts/devnet.sh up      the same in the background; returns once every node is past height 2
#   scripts/devnet.sh down    stop a devnet started by `up` (or left behind)
#   scripts/devnet.sh status  one line of height and app hash per node
#   scripts/devnet.sh stop|start|restart <i>
#                             one node of a running devnet: its sidecar, cometbft and seqpoold
#                             (stopped in that order, started seqpoold first), reusing its home
#
# L1: an anvil node (own port) with the seqpool contracts; `seqpoold testnet --l1-rpc` deploys them,
# whitelists every validator's operator account and locks its stake for its consensus key with
# lockFor, and the genesis mirrors that set. Anvil then mines a block every DEVNET_L1_BLOCK_TIME
# seconds so that confirmations advance.
#
# MPC: `seqpoold testnet` gives each node its MPC identity in the encrypted keystore
# node<k>/data/mpc_keystore (key file node<k>/config/mpc_keystore.key, devnet only) and lists it in
# genesis mpc.members; `seqpoold start` opens it, the chain runs the DKG, and with L1 every sidecar
# relays signed batches to BatchInbox (node0's also registers the first group key on L1).
#
# Environment: DEVNET_DIR (.devnet), DEVNET_VALIDATORS (4), DEVNET_BASE_PORT (26656),
# DEVNET_GRPC_PORT (9090), DEVNET_REST_PORT (1317), DEVNET_EXTRA_ACCOUNTS (32),
# DEVNET_CHAIN_ID (seqpool-devnet), SEQPOOLD (target/release/seqpoold), COMETBFT (.bin/cometbft),
# DEVNET_UP_TIMEOUT (90 seconds).
# L1: DEVNET_L1_PORT (8545), DEVNET_L1_BLOCK_TIME (1 s), DEVNET_L1_CONFIRMATIONS (2),
# DEVNET_L1_STAKE (1000 tokens locked per validator = its voting power), DEVNET_L1_DEPLOYER_KEY
# (anvil's public dev key 0); DEVNET_L1=0 leaves L1 out.
# L2 (see docs/sidecar.md): DEVNET_L2_PORT (9545, anvil without automine), DEVNET_L2_CHAIN_ID (901),
# DEVNET_L2_BLOCK_TIME_MS (1000), SIDECAR (target/release/seqpool-sidecar), ANVIL (.bin/anvil);
# DEVNET_L2=0 leaves L2 out (no anvil, no sidecars, no L2 watchers).
# DEVNET_APP=kvstore: the same 4 CometBFT nodes (same genesis, config and block settings) on
# CometBFT's built-in kvstore app instead of seqpoold (`cometbft start --proxy_app=kvstore`), with
# L1 and L2 left out: the bare-consensus baseline of the throughput benchmark (docs/benchmarks.md).
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="${DEVNET_DIR:-$repo/.devnet}"
validators="${DEVNET_VALIDATORS:-4}"
base_port="${DEVNET_BASE_PORT:-26656}"
grpc_port="${DEVNET_GRPC_PORT:-9090}"
rest_port="${DEVNET_REST_PORT:-1317}"
extra_accounts="${DEVNET_EXTRA_ACCOUNTS:-32}"
chain_id="${DEVNET_CHAIN_ID:-seqpool-devnet}"
seqpoold="${SEQPOOLD:-$repo/target/release/seqpoold}"
cometbft="${COMETBFT:-$repo/.bin/cometbft}"
up_timeout="${DEVNET_UP_TIMEOUT:-90}"
pids_file="$dir/pids"
app="${DEVNET_APP:-seqpool}"
case "$app" in
  seqpool) ;;
  kvstore) export DEVNET_L1=0 DEVNET_L2=0 ;;
  *) echo "devnet: DEVNET_APP must be seqpool or kvstore, not '$app'" >&2; exit 1 ;;
esac
l1_enabled="${DEVNET_L1:-1}"
l1_port="${DEVNET_L1_PORT:-8545}"
l1_block_time="${DEVNET_L1_BLOCK_TIME:-1}"
l1_confirmations="${DEVNET_L1_CONFIRMATIONS:-2}"
l1_stake="${DEVNET_L1_STAKE:-1000}"
# anvil's first default dev account: a publicly known key, for local devnets only.
l1_deployer_key="${DEVNET_L1_DEPLOYER_KEY:-0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80}"
l1_rpc="http://127.0.0.1:$l1_port"
l2_enabled="${DEVNET_L2:-1}"
l2_port="${DEVNET_L2_PORT:-9545}"
l2_chain_id="${DEVNET_L2_CHAIN_ID:-901}"
l2_block_time_ms="${DEVNET_L2_BLOCK_TIME_MS:-1000}"
sidecar="${SIDECAR:-$repo/target/release/seqpool-sidecar}"
anvil="${ANVIL:-$repo/.bin/anvil}"
l2_rpc="http://127.0.0.1:$l2_port"

die() { echo "devnet: $*" >&2; exit 1; }

check_binaries() {
  [ -x "$seqpoold" ] || die "$seqpoold not found; run 'make build' (or set SEQPOOLD)"
  [ -x "$cometbft" ] || die "$cometbft not found; run 'make deps' (scripts/install-cometbft.sh)"
  check_l2_binaries
}

# ---- L2: anvil as the L2 execution node (no automine) and one seqpool-sidecar per validator ----

check_l2_binaries() {
  [ "$l2_enabled" = 1 ] || return 0
  [ -x "$sidecar" ] || die "$sidecar not found; run 'make build' (or set SIDECAR)"
  [ -x "$anvil" ] || die "$anvil not found; run 'make deps' (scripts/install-foundry.sh)"
}

# Extra `seqpoold testnet` flags: every node's app.toml gets l2_rpc, nodes.json the L2 section.
l2_testnet_args() {
  [ "$l2_enabled" = 1 ] || return 0
  echo "--l2-rpc $l2_rpc --l2-chain-id $l2_chain_id --l2-block-time-ms $l2_block_time_ms"
}

l2_answers() {
  curl -s --max-time 1 -H 'content-type: application/json' \
    -d '{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}' "$l2_rpc" 2>/dev/null |
    grep -q '"result"'
}

# Starts the L2 anvil (before the nodes, whose watchers follow it) and waits until it answers.
start_l2() {
  [ "$l2_enabled" = 1 ] || return 0
  if l2_answers; then die "something already answers on $l2_rpc; set DEVNET_L2_PORT"; fi
  mkdir -p "$dir/l2"
  "$anvil" --port "$l2_port" --host 127.0.0.1 --chain-id "$l2_chain_id" --no-mining \
    >"$dir/l2/anvil.log" 2>&1 &
  echo $! >>"$pids_file"
  for _ in $(seq 1 100); do
    l2_answers && return 0
    sleep 0.1
  done
  die "the L2 anvil did not answer on $l2_rpc within 10 s; see $dir/l2/anvil.log"
}

# Consensus address of node $1 from nodes.json (one "consensus_address" line per node, in order).
consensus_address() {
  grep -o '"consensus_address": *"[0-9A-Fa-f]*"' "$dir/nodes.json" | sed -n "$(($1 + 1))p" |
    sed 's/.*: *"\(.*\)"/\1/'
}

# One sidecar per validator, after the nodes; listed first in the pids file so it stops first.
# Its batch submitter signs MsgSubmitBatch with the node's operator key (test keyring). With L1 each sidecar also relays signed requests to L1, paying gas with its validator's operator
# key (the L1 owner of its lock, funded by the testnet setup); node0's also registers the first
# group key through Governance with the deployer key (devnet only).
start_sidecars() {
  [ "$l2_enabled" = 1 ] || return 0
  local k
  for k in $(seq 0 $((validators - 1))); do start_sidecar "$k"; done
}

# The sidecar of node $1 (nothing without L2).
start_sidecar() {
  [ "$l2_enabled" = 1 ] || return 0
  local k="$1" home="$dir/node$1" addr l1_key
  local -a l1_flags=() l1_env=()
  addr="$(consensus_address "$k")"
  [ -n "$addr" ] || die "no consensus address of node$k in $dir/nodes.json"
  if [ "$l1_enabled" = 1 ]; then
    l1_key="$("$seqpoold" keys export operator --unsafe-hex --home "$home" --keyring-backend test 2>/dev/null)" ||
      die "cannot read node$k's operator key for its relayer"
    l1_flags=(--l1-rpc "$l1_rpc" --l1-deployment "$dir/l1-deployment.json"
      --metrics-addr "127.0.0.1:$((grpc_port + 300 + k))")
    l1_env=("SEQPOOL_SIDECAR_L1_KEY=$l1_key")
    [ "$k" = 0 ] && l1_env+=("SEQPOOL_SIDECAR_L1_ADMIN_KEY=$l1_deployer_key")
  fi
  env ${l1_env[@]+"${l1_env[@]}"} \
    "$sidecar" --grpc "127.0.0.1:$((grpc_port + k))" --l2-rpc "$l2_rpc" --validator "$addr" \
    --block-time-ms "$l2_block_time_ms" ${l1_flags[@]+"${l1_flags[@]}"} \
    --operator-key operator --home "$home" --keyring-backend test \
    --cometbft-rpc "http://127.0.0.1:$(rpc_port "$k")" >>"$home/sidecar.log" 2>&1 &
  track "$k" sidecar $!
}

describe_l2() {
  [ "$l2_enabled" = 1 ] || return 0
  echo "  L2: anvil $l2_rpc (chain id $l2_chain_id, no automine; log $dir/l2/anvil.log)," \
    "sidecars make a block every ${l2_block_time_ms} ms as the scheduled producer (logs $dir/node*/sidecar.log)"
  echo "  try: cast block latest --rpc-url $l2_rpc   (miner = the producer's signer address)"
}

# "L2 #<head> by <coinbase prefix>", or nothing without L2.
l2_progress() {
  [ "$l2_enabled" = 1 ] || return 0
  local out n miner
  out="$(curl -s --max-time 1 -H 'content-type: application/json' \
    -d '{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["latest",false]}' "$l2_rpc" 2>/dev/null)" ||
    { echo " L2 down"; return 0; }
  n="$(printf '%s' "$out" | grep -o '"number":"0x[0-9a-f]*"' | head -1 | sed 's/.*"0x\([0-9a-f]*\)"/\1/')"
  miner="$(printf '%s' "$out" | grep -o '"miner":"0x[0-9a-f]*"' | head -1 | sed 's/.*"\(0x[0-9a-f]*\)"/\1/')"
  if [ -n "$n" ]; then echo " L2 #$((16#$n)) by $(printf '%.10s' "$miner")"; else echo " L2 down"; fi
}

# ---- L1: anvil with the seqpool contracts; every validator's stake locked there ----------------

# One JSON-RPC call to the L1 node; prints the response.
l1_call() {
  curl -s --max-time 5 -H 'content-type: application/json' \
    -d "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$1\",\"params\":$2}" "$l1_rpc"
}

# Starts the L1 anvil automining (so the testnet's deployment and locks take seconds), before the
# testnet is generated; waits until it answers.
start_l1() {
  [ "$l1_enabled" = 1 ] || return 0
  [ -x "$anvil" ] || die "$anvil not found; run 'make deps' (scripts/install-foundry.sh)"
  if l1_call eth_chainId '[]' 2>/dev/null | grep -q '"result"'; then
    die "something already answers on $l1_rpc; set DEVNET_L1_PORT"
  fi
  mkdir -p "$dir/l1"
  "$anvil" --host 127.0.0.1 --port "$l1_port" --chain-id 31337 >"$dir/l1/anvil.log" 2>&1 &
  echo $! >>"$pids_file"
  for _ in $(seq 1 100); do
    l1_call eth_chainId '[]' 2>/dev/null | grep -q '"result"' && return 0
    sleep 0.1
  done
  stop_all
  die "the L1 anvil did not answer on $l1_rpc within 10 s; see $dir/l1/anvil.log"
}

# Extra `seqpool testnet` flags: deploy to L1, lock every validator, app.toml l1_* settings.
l1_testnet_args() {
  [ "$l1_enabled" = 1 ] || return 0
  echo "--l1-rpc $l1_rpc --l1-deployer-key $l1_deployer_key --l1-stake $l1_stake --l1-confirmations $l1_confirmations"
}

# After the setup: a block every DEVNET_L1_BLOCK_TIME seconds, so confirmations advance.
start_l1_mining() {
  [ "$l1_enabled" = 1 ] || return 0
  l1_call evm_setIntervalMining "[$l1_block_time]" | grep -q '"result"' ||
    { stop_all; die "evm_setIntervalMining failed on $l1_rpc"; }
}

describe_l1() {
  [ "$l1_enabled" = 1 ] || return 0
  local pool
  pool="$(grep -o '"lockingPool": *"0x[0-9a-fA-F]*"' "$dir/l1-deployment.json" | grep -o '0x[0-9a-fA-F]*' || true)"
  echo "  L1: anvil $l1_rpc (chain id 31337, a block every ${l1_block_time} s, confirmations $l1_confirmations)," \
    "LockingPool $pool; addresses $dir/l1-deployment.json; log $dir/l1/anvil.log"
}

rpc_port() { echo $((base_port + 10 * $1 + 1)); }

# Prints "height app_hash" of node $1, or nothing if its RPC does not answer.
node_status() {
  local out
  out="$(curl -s --max-time 2 "http://127.0.0.1:$(rpc_port "$1")/status" 2>/dev/null)" || return 0
  local h a
  h="$(printf '%s' "$out" | grep -o '"latest_block_height": *"[0-9]*"' | grep -o '[0-9][0-9]*' || true)"
  a="$(printf '%s' "$out" | grep -o '"latest_app_hash": *"[0-9A-Fa-f]*"' | sed 's/.*: *"\(.*\)"/\1/' || true)"
  [ -n "$h" ] && echo "$h ${a:-?}"
  return 0
}

stop_all() {
  [ -f "$pids_file" ] || return 0
  local pids
  pids="$(cat "$pids_file")"
  # cometbft first (it is the ABCI client), then seqpoold; TERM, then KILL after a grace period.
  for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    local alive=0
    for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done
  rm -f "$pids_file" "$dir"/node*/pids
}

# True when something accepts TCP connections on 127.0.0.1:$1.
port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Refuses every port a node would use (P2P, RPC, ABCI, gRPC, REST) that something already listens
# on. A seqpoold left on an ABCI port (e.g. another devnet's, with L1 stake 1000 as voting power)
# would otherwise serve our cometbft while our own seqpoold fails to bind: the app then holds the
# other genesis and refuses every proposal ("vote 0 ... with power 10, expected ... power 1000").
check_ports_free() {
  local k port
  for k in $(seq 0 $((validators - 1))); do
    for port in $((base_port + 10 * k)) $(rpc_port "$k") $((base_port + 10 * k + 2)) \
      $((grpc_port + k)) $((rest_port + k)); do
      if port_in_use "$port"; then
        die "port $port (node$k) is already in use; stop what listens there or set DEVNET_BASE_PORT/DEVNET_GRPC_PORT/DEVNET_REST_PORT"
      fi
    done
  done
}

generate() {
  check_binaries
  if [ -f "$pids_file" ]; then
    echo "devnet: stopping the previous devnet first"
    stop_all
  fi
  # Another network on these ports would answer the readiness checks in our place.
  for k in $(seq 0 $((validators - 1))); do
    [ -z "$(node_status "$k")" ] || die "something already answers on port $(rpc_port "$k"); set DEVNET_BASE_PORT"
  done
  check_ports_free
  mkdir -p "$dir"
  : >"$pids_file"
  start_l1
  # --overwrite replaces the node and client homes; l1/ and the pids file stay.
  "$seqpoold" testnet --v "$validators" --output-dir "$dir" --overwrite --chain-id "$chain_id" \
    --base-port "$base_port" --grpc-base-port "$grpc_port" --rest-base-port "$rest_port" \
    --extra-accounts "$extra_accounts" --keyring-backend test --timeout-commit 500ms \
    --genesis-template "${DEVNET_GENESIS_TEMPLATE:-$repo/genesis/devnet.json}" \
    $(l2_testnet_args) $(l1_testnet_args) >/dev/null || { stop_all; die "seqpoold testnet failed"; }
  start_l1_mining
}

start_all() {
  start_l2
  local proxy=()
  if [ "$app" = kvstore ]; then
    proxy=(--proxy_app=kvstore)
  else
    for k in $(seq 0 $((validators - 1))); do start_seqpoold "$k"; done
  fi
  for k in $(seq 0 $((validators - 1))); do start_cometbft "$k" "${proxy[@]}"; done
  start_sidecars
}

# Records process $3 (role $2: seqpoold, cometbft or sidecar) of node $1: in the node's own pids
# file ("role pid" lines) and in the devnet's, where cometbft and sidecars go first so that
# stop_all stops them before the seqpoold they talk to.
track() {
  echo "$2 $3" >>"$dir/node$1/pids"
  if [ "$2" = seqpoold ]; then
    echo "$3" >>"$pids_file"
  else
    { echo "$3"; cat "$pids_file"; } >"$pids_file.tmp" && mv "$pids_file.tmp" "$pids_file"
  fi
}

start_seqpoold() {
  local home="$dir/node$1"
  "$seqpoold" start --home "$home" >>"$home/seqpoold.log" 2>&1 &
  track "$1" seqpoold $!
}

# cometbft of node $1; further arguments go to `cometbft start`.
start_cometbft() {
  local k="$1" home="$dir/node$1"
  shift
  "$cometbft" start --home "$home" "$@" >>"$home/cometbft.log" 2>&1 &
  track "$k" cometbft $!
}

# The pids of role $2 of node $1 that still run.
node_pids() {
  [ -f "$dir/node$1/pids" ] || return 0
  local role pid
  while read -r role pid; do
    [ "$role" = "$2" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
  done <"$dir/node$1/pids"
  return 0
}

# TERM, then KILL after 5 s; forgets the pids in the devnet's pids file.
stop_pids() {
  [ $# -gt 0 ] || return 0
  local pid
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    local alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for pid in "$@"; do kill -KILL "$pid" 2>/dev/null || true; done
  if [ -f "$pids_file" ]; then
    local keep
    keep="$(grep -vxF -f <(printf '%s\n' "$@") "$pids_file" || true)"
    printf '%s\n' "$keep" | sed '/^$/d' >"$pids_file.tmp" && mv "$pids_file.tmp" "$pids_file"
  fi
}

# Stops node $1: its sidecar (it would only report the node unreachable), cometbft (the ABCI
# client: stopping seqpoold under it makes it exit on the broken connection), then seqpoold.
stop_node() {
  local role
  for role in sidecar cometbft seqpoold; do
    # shellcheck disable=SC2046
    stop_pids $(node_pids "$1" "$role")
  done
  rm -f "$dir/node$1/pids"
}

# Starts node $1 again from its home: seqpoold (it opens the store and the MPC keystore), cometbft
# (it connects to seqpoold and replays or catches up), then the sidecar.
start_node() {
  local k="$1" role
  for role in seqpoold cometbft sidecar; do
    [ -z "$(node_pids "$k" "$role")" ] || die "node$k's $role is still running; stop it first"
  done
  rm -f "$dir/node$k/pids"
  if [ "$app" = kvstore ]; then
    start_cometbft "$k" --proxy_app=kvstore
  else
    start_seqpoold "$k"
    start_cometbft "$k"
  fi
  start_sidecar "$k"
}

# The node index of a stop/start/restart command, checked against a running devnet.
node_arg() {
  [ -f "$pids_file" ] || die "no devnet running in $dir (make devnet-up first)"
  [[ "${1:-}" =~ ^[0-9]+$ ]] && [ "$1" -lt "$validators" ] ||
    die "usage: devnet.sh $cmd <i>, with 0 <= i < $validators (DEVNET_VALIDATORS)"
  echo "$1"
}

describe() {
  echo "seqpool devnet ($validators validators, chain-id $chain_id) in $dir"
  for k in $(seq 0 $((validators - 1))); do
    echo "  node$k: cometbft rpc http://127.0.0.1:$(rpc_port "$k")  abci 127.0.0.1:$((base_port + 10 * k + 2))" \
      " grpc 127.0.0.1:$((grpc_port + k))  rest http://127.0.0.1:$((rest_port + k))  logs $dir/node$k/{cometbft,seqpoold}.log"
  done
  echo "  keys (UNENCRYPTED test keyring, devnet only): admin, node0..node$((validators - 1)), account0..: $dir/client"
  describe_l1
  describe_l2
  echo "  endpoints: $dir/nodes.json"
  echo "  try: $seqpoold query node status --grpc 127.0.0.1:$grpc_port"
}

progress_line() {
  local line="" k s
  for k in $(seq 0 $((validators - 1))); do
    s="$(node_status "$k")"
    if [ -n "$s" ]; then
      line="$line node$k h=${s%% *} app=$(printf '%.12s' "${s#* }")"
    else
      line="$line node$k down"
    fi
  done
  echo "$line$(l2_progress)"
}

# True when every node reports a height above $1.
all_past() {
  local k s
  for k in $(seq 0 $((validators - 1))); do
    s="$(node_status "$k")"
    [ -n "$s" ] || return 1
    [ "${s%% *}" -gt "$1" ] || return 1
  done
}

any_dead() {
  local pid
  for pid in $(cat "$pids_file" 2>/dev/null); do
    kill -0 "$pid" 2>/dev/null || return 0
  done
  return 1
}

cmd="${1:-run}"
case "$cmd" in
  run)
    generate
    trap 'echo; echo "devnet: stopping"; stop_all; exit 0' INT TERM
    start_all
    describe
    echo "Ctrl-C stops every process."
    while true; do
      if any_dead; then
        echo
        echo "devnet: a process exited; see the logs in $dir/node*/. Stopping the rest."
        stop_all
        exit 1
      fi
      if [ -t 1 ]; then printf '\r\033[K%s' "$(progress_line)"; else progress_line; fi
      sleep 1
    done
    ;;
  up)
    generate
    # Background jobs of a non-interactive shell outlive it (their output goes to the log files).
    start_all
    deadline=$((SECONDS + up_timeout))
    until all_past 2; do
      if any_dead; then stop_all; die "a process exited during startup; see $dir/node*/*.log"; fi
      if [ "$SECONDS" -ge "$deadline" ]; then stop_all; die "nodes did not pass height 2 within ${up_timeout}s; see $dir/node*/*.log"; fi
      sleep 0.5
    done
    describe
    progress_line
    echo "devnet is up; 'make devnet-down' stops it."
    ;;
  down)
    if [ -f "$pids_file" ]; then stop_all; echo "devnet stopped"; else echo "no devnet running in $dir"; fi
    ;;
  status)
    progress_line
    ;;
  stop)
    k="$(node_arg "${2:-}")"
    stop_node "$k"
    echo "node$k stopped (sidecar, cometbft, seqpoold); 'devnet.sh start $k' starts it again"
    ;;
  start)
    k="$(node_arg "${2:-}")"
    start_node "$k"
    echo "node$k started; it catches up from its home ($dir/node$k/*.log)"
    ;;
  restart)
    k="$(node_arg "${2:-}")"
    stop_node "$k"
    start_node "$k"
    echo "node$k restarted"
    ;;
  *)
    die "unknown command '$cmd' (run, up, down, status, stop|start|restart <i>)"
    ;;
esac
