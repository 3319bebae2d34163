//! End to end, issue 6: a 4-validator devnet with L1 and L2 (cometbft + seqpoold + sidecar per
//! validator, two anvils). Each node's MPC identity lives in its encrypted keystore (made by
//! `seqpoold testnet`, opened by `seqpoold start` with the home's key file).
//!
//! - The chain runs the DKG from genesis: an ACTIVE group key with the 4 members and t = 3, the
//!   same on every node.
//! - node0's relayer registers that key on L1 (GroupKeyRegistry.isKeySet, same coordinates).
//! - A fifth sequencer joins: its own node (`seqpoold init` on the devnet's genesis), a lock on L1
//!   for its consensus key, MsgRegisterMember (`seqpoold tx mpc register-member --consensus-key`
//!   while its node runs); the key is reshared to 5 members with t = 4 and the same group key, the
//!   old key is RETIRED, and L1's GroupKeyRegistry is untouched (same key, same keyNonce).
//!
//! - L2 transactions a user sends to the L2 node end up in batches appended to BatchInbox (L1
//!   verifies each group signature), contiguous from the first L2 block and each index exactly
//!   once, before and after the join, with one validator stopped, and across every sidecar
//!   (submitter, relayer) killed mid-flight and restarted.
//! - Reward settlements reach LockingPool.distributeRewards and credit the sequencers (checked at
//!   the end of the culprit test, when several epochs have passed).
//!
//! Figures printed (docs/benchmarks.md): join latency (L1 lock -> reshared key ACTIVE), L2 block
//! -> L1 inclusion, batch signing latency in blocks and ms.
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use common::{http_get, Devnet, DevnetOptions, L1Rpc, L2Options};
use serde_json::{json, Value};

const L2_BLOCK_TIME_MS: u64 = 500;

fn rest_json(base: &str, path: &str) -> Option<Value> {
    let (status, body) = http_get(base, path);
    (status == 200).then(|| serde_json::from_str(&body).ok())?
}

/// Polls `f` every 200 ms until it returns Some, or panics after `timeout`.
fn wait_for<T>(
    net: &mut Devnet,
    what: &str,
    timeout: Duration,
    mut f: impl FnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        net.assert_running();
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn active_key(rest: &str) -> Option<Value> {
    let key = rest_json(rest, "/seqpool/mpc/v1/active_key")?["key"].clone();
    (key["status"] == "KEY_STATUS_ACTIVE").then_some(key)
}

fn b64_hex(v: &Value) -> String {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(v.as_str().unwrap_or_default())
        .unwrap_or_default();
    hex::encode(bytes)
}

/// `eth_call` of a no-argument view function; the 32-byte words of the result.
fn call_view(l1: &L1Rpc, to: &str, signature: &str) -> Vec<String> {
    let selector = &alloy::primitives::keccak256(signature.as_bytes())[..4];
    let out = l1.rpc(
        "eth_call",
        json!([{"to": to, "data": format!("0x{}", hex::encode(selector))}, "latest"]),
    );
    let text = out.as_str().unwrap_or_default().trim_start_matches("0x");
    text.as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8_lossy(c).to_string())
        .collect()
}

/// anvil's first dev account (unlocked on the L2 anvil): the test's L2 user.
const L2_USER: &str = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";

fn hex_u64(s: &str) -> u64 {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// One BatchAppended event as L1 logged it.
#[derive(Clone, Debug)]
struct Appended {
    index: u64,
    start: u64,
    end: u64,
}

/// Every log of event `signature` that `address` emitted: (first indexed topic, data hex).
fn event_logs(l1: &L1Rpc, address: &str, signature: &str) -> Vec<(String, String)> {
    let topic = alloy::primitives::keccak256(signature.as_bytes());
    let logs = l1.rpc(
        "eth_getLogs",
        json!([{"address": address, "fromBlock": "0x0", "toBlock": "latest",
                "topics": [format!("0x{}", hex::encode(topic))]}]),
    );
    logs.as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|log| {
            let topic1 = log["topics"][1].as_str().unwrap_or("0x0").to_string();
            let data = log["data"].as_str().unwrap_or_default();
            (topic1, data.trim_start_matches("0x").to_string())
        })
        .collect()
}

fn appended_batches(l1: &L1Rpc, inbox: &str) -> Vec<Appended> {
    event_logs(
        l1,
        inbox,
        "BatchAppended(uint64,uint64,uint64,bytes32,bytes32)",
    )
    .iter()
    .map(|(topic1, data)| {
        let word = |i: usize| hex_u64(data.get(i * 64..(i + 1) * 64).unwrap_or("0"));
        Appended {
            index: hex_u64(topic1),
            start: word(0),
            end: word(1),
        }
    })
    .collect()
}

/// Asserts the appended batches are contiguous from L2 block 1, each index once, and that
/// BatchInbox's next index agrees.
fn assert_contiguous_once(l1: &L1Rpc, inbox: &str, batches: &[Appended]) {
    for (i, b) in batches.iter().enumerate() {
        assert_eq!(b.index, i as u64, "batch indexes: {batches:?}");
        let expected_start = if i == 0 { 1 } else { batches[i - 1].end + 1 };
        assert_eq!(b.start, expected_start, "L2 ranges: {batches:?}");
        assert!(b.end >= b.start, "{batches:?}");
    }
    let next = call_view(l1, inbox, "nextBatchIndex()");
    assert_eq!(
        next.first().map(|w| hex_u64(w)),
        Some(batches.len() as u64),
        "BatchInbox.nextBatchIndex"
    );
}

/// Sends `count` L2 txs from the test's user, waits until each is mined and then covered by a
/// batch appended on L1; returns the batches and, per L2 block with a user tx, the time from
/// the test seeing it mined to seeing it in a BatchAppended event (ms).
fn user_txs_reach_l1(
    net: &mut Devnet,
    l1: &L1Rpc,
    l2: &L1Rpc,
    inbox: &str,
    count: u64,
) -> (Vec<Appended>, Vec<u128>) {
    let mut pending: Vec<String> = (0..count)
        .map(|i| {
            let hash = l2.rpc(
                "eth_sendTransaction",
                json!([{"from": L2_USER, "to": "0x0000000000000000000000000000000000000001",
                        "value": format!("0x{:x}", i + 1)}]),
            );
            std::thread::sleep(Duration::from_millis(L2_BLOCK_TIME_MS / 2));
            hash.as_str().expect("tx hash").to_string()
        })
        .collect();
    let mut mined: BTreeMap<u64, Instant> = BTreeMap::new();
    let mut covered: BTreeMap<u64, Instant> = BTreeMap::new();
    let batches = wait_for(
        net,
        "the user's L2 txs in batches on L1",
        Duration::from_secs(120),
        || {
            pending.retain(|h| {
                let r = l2.rpc("eth_getTransactionReceipt", json!([h]));
                match r["blockNumber"].as_str() {
                    Some(n) => {
                        mined.entry(hex_u64(n)).or_insert_with(Instant::now);
                        false
                    }
                    None => true,
                }
            });
            let batches = appended_batches(l1, inbox);
            for b in &batches {
                for n in mined.keys().filter(|n| (b.start..=b.end).contains(*n)) {
                    covered.entry(*n).or_insert_with(Instant::now);
                }
            }
            (pending.is_empty() && covered.len() == mined.len()).then_some(batches)
        },
    );
    let latency = mined
        .iter()
        .filter_map(|(n, seen)| covered.get(n).map(|c| c.duration_since(*seen).as_millis()))
        .collect();
    (batches, latency)
}

/// Signing latency of the signed batch requests: (blocks, block-time ms) from the block that
/// created the request to the one that put the signature in state.
fn batch_signing_latency(net: &Devnet, rest: &str) -> Vec<(u64, i128)> {
    let requests = rest_json(rest, "/seqpool/mpc/v1/batches?limit=1000").unwrap_or_default();
    let height = |r: &Value, f: &str| r[f].as_str().and_then(|s| s.parse::<u64>().ok());
    requests["batches"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|r| {
            let (c, s) = (height(r, "createdHeight")?, height(r, "signedHeight")?);
            let ms = block_time_ms(net, s)? - block_time_ms(net, c)?;
            Some((s - c, ms))
        })
        .collect()
}

/// Sum of `totalReward` over LockingPool's RewardsDistributed events.
fn rewards_distributed(l1: &L1Rpc, pool: &str) -> u128 {
    event_logs(
        l1,
        pool,
        "RewardsDistributed(uint256,uint256,uint256,uint256,uint256)",
    )
    .iter()
    // data: nonce, startEpoch, endEpoch, totalReward (the low 128 bits of the 4th word)
    .map(|(_, data)| {
        u128::from_str_radix(data.get(3 * 64 + 32..4 * 64).unwrap_or("0"), 16).unwrap_or(0)
    })
    .sum()
}

/// LockingPool.sequencer(id).reward of each id (wei).
fn sequencer_rewards(l1: &L1Rpc, pool: &str, ids: &[u64]) -> Vec<u128> {
    let selector = &alloy::primitives::keccak256(b"sequencer(uint256)".as_slice())[..4];
    ids.iter()
        .map(|id| {
            let data = format!("0x{}{id:064x}", hex::encode(selector));
            let out = l1.rpc("eth_call", json!([{"to": pool, "data": data}, "latest"]));
            let text = out.as_str().unwrap_or_default().trim_start_matches("0x");
            // (owner, signer, amount, reward, ...): the 4th word.
            u128::from_str_radix(text.get(3 * 64 + 32..4 * 64).unwrap_or("0"), 16).unwrap_or(0)
        })
        .collect()
}

/// Whether the node at CometBFT RPC `b` is within one block of the node at `a`.
fn net_height_close(a: &str, b: &str) -> bool {
    let height = |url: &str| -> Option<u64> {
        let (_, body) = http_get(url, "/status");
        let v: Value = serde_json::from_str(&body).ok()?;
        v["result"]["sync_info"]["latest_block_height"]
            .as_str()?
            .parse()
            .ok()
    };
    match (height(a), height(b)) {
        (Some(x), Some(y)) => y + 1 >= x,
        _ => false,
    }
}

/// Block time of chain height `h` in unix milliseconds (CometBFT RPC).
fn block_time_ms(net: &Devnet, h: u64) -> Option<i128> {
    let base = net.nodes.nodes[0].cometbft_rpc.clone();
    let body: Value =
        serde_json::from_str(&http_get(&base, &format!("/block?height={h}")).1).ok()?;
    let time = body["result"]["block"]["header"]["time"].as_str()?;
    let t = tendermint::Time::parse_from_rfc3339(time).ok()?;
    Some(t.unix_timestamp_nanos() / 1_000_000)
}

#[test]
fn dkg_key_registered_on_l1_then_a_joiner_is_reshared_in_with_the_same_key() {
    let started = Instant::now();
    let mut net = Devnet::start_with(DevnetOptions {
        validators: 4,
        l1: true,
        l2: Some(L2Options {
            block_time_ms: L2_BLOCK_TIME_MS,
            epoch_length: 64,
        }),
        ..Default::default()
    });
    let rests: Vec<String> = net.nodes.nodes.iter().map(|n| n.rest.clone()).collect();
    let deployment: Value = serde_json::from_str(
        &std::fs::read_to_string(net.dir.path().join("net/l1-deployment.json"))
            .expect("l1-deployment.json"),
    )
    .expect("deployment JSON");
    let inbox = deployment["batchInbox"]
        .as_str()
        .expect("batchInbox")
        .to_string();
    let registry = deployment["groupKeyRegistry"]
        .as_str()
        .expect("groupKeyRegistry")
        .to_string();
    let l1 = L1Rpc {
        url: net.l1.as_ref().expect("l1").rpc.url.clone(),
    };
    let l2 = L1Rpc {
        url: net.l2.as_ref().expect("l2").rpc.url.clone(),
    };

    // 1. The DKG from genesis gives an ACTIVE key of all 4 members with t = 3, on every node.
    let rest0 = rests[0].clone();
    let key = wait_for(
        &mut net,
        "an ACTIVE group key",
        Duration::from_secs(90),
        || active_key(&rest0),
    );
    eprintln!("active key after {:?}: {key}", started.elapsed());
    assert_eq!(key["threshold"], 3);
    assert_eq!(key["members"].as_array().map(Vec::len), Some(4));
    for rest in &rests[1..] {
        let other = wait_for(
            &mut net,
            "the key on every node",
            Duration::from_secs(10),
            || active_key(rest),
        );
        assert_eq!(other["groupKey"], key["groupKey"]);
    }

    // 2. node0's relayer registers the key on L1: same coordinates.
    wait_for(
        &mut net,
        "GroupKeyRegistry.isKeySet",
        Duration::from_secs(60),
        || {
            let set = call_view(&l1, &registry, "isKeySet()");
            set.first().is_some_and(|w| w.ends_with('1')).then_some(())
        },
    );
    eprintln!("key registered on L1 after {:?}", started.elapsed());
    assert_eq!(call_view(&l1, &registry, "px()"), vec![b64_hex(&key["px"])]);
    assert_eq!(call_view(&l1, &registry, "py()"), vec![b64_hex(&key["py"])]);

    // 2b. Governance acts on L1 (issue 13): a proposal raising maxLock, submitted with the CLI
    // and voted by 3 of the 4 operators, passes; the group signs the action, relayers queue it in
    // Governance and run it after the exit window.
    raise_max_lock_by_proposal(&mut net, &l1, &deployment);

    // 3. A user's L2 txs end up in batches appended to BatchInbox (L1 verified each group
    // signature), contiguous and each index once.
    let (batches, inclusion) = user_txs_reach_l1(&mut net, &l1, &l2, &inbox, 6);
    assert_contiguous_once(&l1, &inbox, &batches);
    eprintln!(
        "{} batches on L1 after {:?}; FIGURE l2_block_to_l1_inclusion_ms {inclusion:?}",
        batches.len(),
        started.elapsed()
    );

    // 4. A fifth sequencer joins: its own node (seqpoold init with the devnet's genesis), its
    // stake locked on L1 for its consensus key, then MsgRegisterMember from the account x/staking
    // gives it (its consensus key's) while its node runs. The key is reshared to 5 members with
    // t = 4 and the SAME group key; L1's GroupKeyRegistry is untouched.
    let key_nonce_before = call_view(&l1, &registry, "keyNonce()");
    let joined_at = Instant::now();
    let joiner = add_joiner_node(&mut net);
    let consensus_address = net.nodes.nodes[joiner].consensus_address.clone();
    let joiner_rpc = net.nodes.nodes[joiner].cometbft_rpc.clone();
    let rest0 = rests[0].clone();
    wait_for(
        &mut net,
        "the joiner in x/staking with power",
        Duration::from_secs(60),
        || {
            let all = rest_json(&rest0, "/seqpool/staking/v1/validators")?;
            let v = all["validators"]
                .as_array()?
                .iter()
                .find(|v| v["consensusAddress"] == consensus_address.as_str())?
                .clone();
            let power: i64 = v["power"].as_str()?.parse().ok()?;
            (power > 0).then_some(())
        },
    );
    // Register only once CometBFT has the joiner in its validator set and the joiner's node
    // follows the chain: the reshare starts in the block after the registration and needs the
    // joiner's extensions from its first round on.
    let rpc0_url = net.nodes.nodes[0].cometbft_rpc.clone();
    wait_for(
        &mut net,
        "the joiner voting in CometBFT",
        Duration::from_secs(60),
        || {
            let (_, body) = http_get(&rpc0_url, "/validators?per_page=100");
            let listed = body.contains(consensus_address.as_str());
            let caught_up = net_height_close(&rpc0_url, &joiner_rpc);
            (listed && caught_up).then_some(())
        },
    );
    let joiner_home = net.home(joiner).to_path_buf();
    let rpc0 = net.nodes.nodes[0].cometbft_rpc.clone();
    let out = net.cli(&[
        "tx",
        "mpc",
        "register-member",
        "--consensus-key",
        "--home",
        joiner_home.to_str().expect("utf-8"),
        "--keyring-backend",
        "test",
        "--node",
        &rpc0,
        "--output",
        "json",
    ]);
    assert!(
        out.status.success(),
        "register-member: {} {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let old_key_id = key["keyId"].clone();
    let reshared = wait_for(
        &mut net,
        "the key reshared to 5",
        Duration::from_secs(120),
        || active_key(&rest0).filter(|k| k["keyId"] != old_key_id),
    );
    eprintln!(
        "FIGURE e2e_join_to_reshared_ms {} (lock on L1 -> new key ACTIVE, n=4 -> 5)",
        joined_at.elapsed().as_millis()
    );
    assert_eq!(
        reshared["groupKey"], key["groupKey"],
        "a reshare keeps the group key"
    );
    assert_eq!(reshared["threshold"], 4);
    assert_eq!(reshared["members"].as_array().map(Vec::len), Some(5));
    assert_eq!(call_view(&l1, &registry, "keyNonce()"), key_nonce_before);
    assert_eq!(call_view(&l1, &registry, "px()"), vec![b64_hex(&key["px"])]);
    let old = rest_json(&rest0, "/seqpool/mpc/v1/keys").expect("keys");
    let retired = old["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["keyId"] == old_key_id)
        .expect("the old key")
        .clone();
    assert_eq!(retired["status"], "KEY_STATUS_RETIRED");

    // 5. Batches keep landing under the reshared key (t = 4 of 5), the same key on L1.
    let (batches, inclusion) = user_txs_reach_l1(&mut net, &l1, &l2, &inbox, 4);
    assert_contiguous_once(&l1, &inbox, &batches);
    eprintln!(
        "{} batches on L1 after {:?}; FIGURE l2_block_to_l1_inclusion_ms_after_join {inclusion:?}",
        batches.len(),
        started.elapsed()
    );
    // 6. One validator stopped (node3: cometbft, seqpoold, sidecar): 4 of 5 remain, exactly
    // t = 4; signing and relaying go on (attempts leave the missing signer out).
    net.kill_node(3);
    let (batches, _) = user_txs_reach_l1(&mut net, &l1, &l2, &inbox, 3);
    assert_contiguous_once(&l1, &inbox, &batches);
    eprintln!(
        "{} batches on L1 with node3 stopped, after {:?}",
        batches.len(),
        started.elapsed()
    );

    // 7. Every sidecar (submitter, relayer, L2 producer) killed mid-flight and restarted:
    // nothing lost (every user block covered), nothing twice (contiguous, each index once).
    let before = appended_batches(&l1, &inbox).len();
    let sent_at = Instant::now();
    let l2_user = l2.clone();
    let hashes: Vec<Value> = (0..3u64)
        .map(|i| {
            l2_user.rpc(
                "eth_sendTransaction",
                json!([{"from": L2_USER, "to": "0x0000000000000000000000000000000000000002",
                        "value": format!("0x{:x}", i + 1)}]),
            )
        })
        .collect();
    std::thread::sleep(Duration::from_millis(1500));
    for k in [0, 1, 2, joiner] {
        net.kill_process(k, "sidecar");
    }
    std::thread::sleep(Duration::from_secs(2));
    for k in [0, 1, 2] {
        net.start_sidecar(k, L2_BLOCK_TIME_MS);
    }
    net.start_sidecar_as(joiner, L2_BLOCK_TIME_MS, "consensus");
    let (batches, _) = user_txs_reach_l1(&mut net, &l1, &l2, &inbox, 2);
    assert_contiguous_once(&l1, &inbox, &batches);
    for h in &hashes {
        let r = l2.rpc("eth_getTransactionReceipt", json!([h]));
        let block = hex_u64(r["blockNumber"].as_str().expect("mined after the restart"));
        assert!(
            batches.iter().any(|b| (b.start..=b.end).contains(&block)),
            "L2 block {block} (sent before the kill) is in no batch: {batches:?}"
        );
    }
    eprintln!(
        "{} -> {} batches across the sidecar restarts ({:?} after sending)",
        before,
        batches.len(),
        sent_at.elapsed()
    );

    let latency = batch_signing_latency(&net, &rest0);
    assert!(!latency.is_empty(), "no signed batch request");
    eprintln!("FIGURE batch_signing_latency_blocks_ms {latency:?}");

    // 8. Last (the joiner needed the L1 admin's whitelist): a proposal retires the admin, on the
    // chain and on L1. node3 is still down: operators 0-2 (3 of 5 validators' power) vote yes.
    retire_the_admin_by_proposal(&mut net, &l1, &deployment, &[0, 1, 2]);
}

/// Makes, configures and starts a node for a new validator (index returned): `seqpoold init` on
/// the next free ports with node0 as its peer, the devnet's genesis and L1/L2 settings; then
/// whitelists, funds and locks its operator key as L1 owner for its consensus key.
fn add_joiner_node(net: &mut Devnet) -> usize {
    let k = net.len();
    let home = net.dir.path().join("net").join("joiner");
    let node0 = net.nodes.nodes[0].clone();
    let base: u16 = node0
        .p2p
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("p2p port");
    // testnet's layout for node index k: p2p base+10k (+1 RPC, +2 ABCI), gRPC base+100+k, REST base+200+k.
    let (p2p, grpc, rest) = (
        base + 10 * k as u16,
        base + 100 + k as u16,
        base + 200 + k as u16,
    );
    for port in [p2p, p2p + 1, p2p + 2, grpc, rest] {
        assert!(
            std::net::TcpListener::bind(("127.0.0.1", port)).is_ok(),
            "port {port} for the joiner is in use"
        );
    }
    let peer = format!("{}@{}", node0.node_id, node0.p2p);
    let out = common::run_ok(
        std::process::Command::new(common::SEQPOOLD)
            .args([
                "init",
                "joiner",
                "--chain-id",
                "seqpool-e2e",
                "--keyring-backend",
                "test",
            ])
            .args(["--timeout-commit", "300ms", "--output", "json", "--home"])
            .arg(&home)
            .args([
                "--base-port",
                &p2p.to_string(),
                "--grpc-port",
                &grpc.to_string(),
            ])
            .args([
                "--rest-port",
                &rest.to_string(),
                "--persistent-peers",
                &peer,
            ]),
    );
    let init: Value = serde_json::from_slice(&out.stdout).expect("init JSON");
    std::fs::copy(
        node0.home.join("config/genesis.json"),
        home.join("config/genesis.json"),
    )
    .expect("copy genesis");
    let mut config = seqpoold::config::AppConfig::load(&node0.home).expect("node0 app.toml");
    let own = seqpoold::config::AppConfig::load(&home).expect("joiner app.toml");
    config.abci_listen = own.abci_listen;
    config.grpc_listen = own.grpc_listen;
    config.rest_listen = own.rest_listen;
    config.cometbft_rpc = own.cometbft_rpc.clone();
    config.save(&home).expect("save app.toml");
    let consensus_key = seqpoold::cli::home::read_consensus_key(&home).expect("consensus key");
    net.nodes.nodes.push(seqpoold::cli::testnet::NodeEntry {
        name: "joiner".into(),
        home: home.clone(),
        node_id: init["node_id"].as_str().expect("node id").to_string(),
        cometbft_rpc: own.cometbft_rpc,
        p2p: format!("127.0.0.1:{p2p}"),
        abci: format!("127.0.0.1:{}", p2p + 2),
        grpc: format!("127.0.0.1:{grpc}"),
        rest: format!("http://127.0.0.1:{rest}"),
        operator: seqpoold::cli::testnet::KeyRef {
            key: "operator".into(),
            address: init["operator"].as_str().expect("operator").to_string(),
        },
        consensus_address: seqpoold::cli::home::consensus_address(&consensus_key),
    });
    net.start_node(k);
    // The L1 owner is the joiner's operator key (funded here, so its relayer can pay gas too).
    let entry = net.nodes.l1.clone().expect("nodes.json has an l1 section");
    let owner: alloy::signers::local::PrivateKeySigner =
        net.operator_key_hex(k).parse().expect("operator key");
    let stake = alloy::primitives::U256::from(common::L1_STAKE_TOKENS)
        * alloy::primitives::U256::from(1_000_000_000_000_000_000u64);
    let admin: alloy::signers::local::PrivateKeySigner =
        common::L1_DEV_KEY.parse().expect("dev key");
    common::block_on(seqpool_l1::devnet::prepare_owners(
        &entry.rpc,
        admin,
        &entry.contracts,
        &[(owner.address(), stake)],
        seqpool_l1::devnet::default_owner_funding(),
    ))
    .expect("whitelist and fund the joiner's owner");
    common::block_on(seqpool_l1::devnet::lock_sequencers(
        &entry.rpc,
        &entry.contracts,
        &[seqpool_l1::devnet::SequencerLock::new(
            owner,
            &consensus_key,
            stake,
        )],
    ))
    .expect("lockFor the joiner");
    // Its sidecar makes L2 blocks when the schedule picks it and relays like the others; its
    // submitter signs with the consensus key, x/staking's operator of an L1-joined validator.
    common::run_ok(
        std::process::Command::new(common::SEQPOOLD)
            .args([
                "keys",
                "import",
                "consensus",
                "--keyring-backend",
                "test",
                "--hex",
            ])
            .arg(hex::encode(consensus_key.to_bytes()))
            .arg("--home")
            .arg(&home),
    );
    net.start_sidecar_as(k, L2_BLOCK_TIME_MS, "consensus");
    k
}

/// The devnet of the first test, up to a registered key: (devnet, REST of node0, L1, L2,
/// BatchInbox, GroupKeyRegistry, the active key).
fn devnet_with_key() -> (Devnet, String, L1Rpc, L1Rpc, String, Value) {
    let mut net = Devnet::start_with(DevnetOptions {
        validators: 4,
        l1: true,
        l2: Some(L2Options {
            block_time_ms: L2_BLOCK_TIME_MS,
            epoch_length: 64,
        }),
        ..Default::default()
    });
    let deployment: Value = serde_json::from_str(
        &std::fs::read_to_string(net.dir.path().join("net/l1-deployment.json"))
            .expect("l1-deployment.json"),
    )
    .expect("deployment JSON");
    let address = |name: &str| deployment[name].as_str().expect(name).to_string();
    let (inbox, registry) = (address("batchInbox"), address("groupKeyRegistry"));
    let l1 = L1Rpc {
        url: net.l1.as_ref().expect("l1").rpc.url.clone(),
    };
    let l2 = L1Rpc {
        url: net.l2.as_ref().expect("l2").rpc.url.clone(),
    };
    let rest0 = net.nodes.nodes[0].rest.clone();
    let key = wait_for(
        &mut net,
        "an ACTIVE group key",
        Duration::from_secs(90),
        || active_key(&rest0),
    );
    wait_for(&mut net, "the key on L1", Duration::from_secs(60), || {
        let set = call_view(&l1, &registry, "isKeySet()");
        set.first().is_some_and(|w| w.ends_with('1')).then_some(())
    });
    (net, rest0, l1, l2, inbox, key)
}

/// The CLI's JSON output of a command that must succeed.
fn cli_json(net: &Devnet, args: &[&str]) -> Value {
    let out = net.cli(args);
    assert!(
        out.status.success(),
        "{args:?}: {}\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// The mined L1 block timestamp of the first log of event `signature` by `address` whose first
/// indexed topic is `topic1` (a 32-byte word, 0x-hex).
fn log_time(l1: &L1Rpc, address: &str, signature: &str, topic1: &str) -> Option<u64> {
    let topic = alloy::primitives::keccak256(signature.as_bytes());
    let logs = l1.rpc(
        "eth_getLogs",
        json!([{"address": address, "fromBlock": "0x0", "toBlock": "latest",
                "topics": [format!("0x{}", hex::encode(topic)), topic1]}]),
    );
    let block = logs.as_array()?.first()?["blockNumber"]
        .as_str()?
        .to_string();
    let header = l1.rpc("eth_getBlockByNumber", json!([block, false]));
    Some(hex_u64(header["timestamp"].as_str()?))
}

/// `seqpoold tx ...` with the devnet's client home, through node0; must be included with code 0.
fn cli_tx(net: &Devnet, args: &[&str]) -> Value {
    let client_home = net.client_home().display().to_string();
    let rpc0 = net.nodes.nodes[0].cometbft_rpc.clone();
    let mut full = vec!["tx"];
    full.extend_from_slice(args);
    full.extend_from_slice(&[
        "--home",
        &client_home,
        "--keyring-backend",
        "test",
        "--node",
        &rpc0,
        "--output",
        "json",
        "--timeout",
        "60s",
    ]);
    let out = cli_json(net, &full);
    assert_eq!(out["code"], 0, "{args:?}: {out}");
    out
}

/// The gov authority, as `seqpoold query gov authority` prints it (over node1's gRPC).
fn gov_authority(net: &Devnet) -> String {
    let grpc1 = net.nodes.nodes[1].grpc.clone();
    let shown = cli_json(
        net,
        &[
            "query",
            "gov",
            "authority",
            "--grpc",
            &grpc1,
            "--output",
            "json",
        ],
    );
    shown["authority"].as_str().expect("authority").to_string()
}

/// Submits `proposal` (a proposal file's JSON) with the CLI from node `proposer`'s operator,
/// votes yes from each of `voters` and waits until it PASSED (over REST). Returns its id.
fn pass_proposal(
    net: &mut Devnet,
    name: &str,
    proposal: &Value,
    proposer: usize,
    voters: &[usize],
) -> String {
    let file = net.client_home().join(format!("{name}.json"));
    std::fs::write(&file, proposal.to_string()).expect("write the proposal file");
    let file = file.display().to_string();
    let out = cli_tx(
        net,
        &[
            "gov",
            "submit-proposal",
            &file,
            "--from",
            &format!("node{proposer}"),
        ],
    );
    let id = out["proposal_id"]
        .as_str()
        .expect("proposal id")
        .to_string();
    for k in voters {
        cli_tx(
            net,
            &["gov", "vote", &id, "yes", "--from", &format!("node{k}")],
        );
    }
    let rest = net.nodes.nodes[1].rest.clone();
    let decided = wait_for(net, "the proposal decided", Duration::from_secs(90), || {
        let p = rest_json(&rest, &format!("/seqpool/gov/v1/proposals/{id}"))?["proposal"].clone();
        (p["status"] != "PROPOSAL_STATUS_VOTING_PERIOD").then_some(p)
    });
    assert_eq!(decided["status"], "PROPOSAL_STATUS_PASSED", "{decided}");
    id
}

/// Governance action `nonce` was queued (ActionQueued) and ran from the queue, its eta exactly
/// the exit window after the block that queued it.
fn ran_after_the_exit_window(l1: &L1Rpc, governance: &str, nonce: u64) {
    use alloy::sol_types::SolCall;
    let delay = hex_u64(&call_view(l1, governance, "executionDelay()")[0]);
    let topic = format!("0x{nonce:064x}");
    let queued = log_time(
        l1,
        governance,
        "ActionQueued(uint256,address,bytes4,uint256)",
        &topic,
    )
    .unwrap_or_else(|| panic!("action {nonce} was never queued"));
    // Governance.queued(nonce): (actionHash, eta, executed).
    let call =
        seqpool_l1::bindings::Governance::queuedCall::new((alloy::primitives::U256::from(nonce),))
            .abi_encode();
    let out = l1.rpc(
        "eth_call",
        json!([{"to": governance, "data": format!("0x{}", hex::encode(call))}, "latest"]),
    );
    let words = out.as_str().unwrap_or_default().trim_start_matches("0x");
    assert_eq!(words.len(), 192, "queued({nonce}): {out}");
    assert_ne!(&words[..64], "0".repeat(64), "action {nonce} queued");
    assert!(words[128..].ends_with('1'), "action {nonce} ran");
    assert_eq!(
        hex_u64(&words[64..128]),
        queued + delay,
        "action {nonce}: eta = queued + exit window"
    );
}

/// Issue 13 on the devnet, part 1: a proposal raising LockingPool.maxLock, submitted with the CLI
/// and voted yes by 3 of the 4 operators, passes; the group signs the action, a relayer queues it
/// in Governance and runs it once the exit window is over (`cast call maxLock()`: eth_call).
fn raise_max_lock_by_proposal(net: &mut Devnet, l1: &L1Rpc, deployment: &Value) {
    use alloy::sol_types::SolCall;
    use base64::Engine;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let address = |name: &str| deployment[name].as_str().expect(name).to_string();
    let (pool, governance) = (address("lockingPool"), address("governance"));
    // A real L1 makes blocks whether or not there are transactions; the exit window is L1 time.
    l1.set_interval_mining(1);
    let delay = hex_u64(&call_view(l1, &governance, "executionDelay()")[0]);
    assert!(delay > 0, "the devnet has an exit window");
    let authority = gov_authority(net);
    let old_max = u128::from_str_radix(&call_view(l1, &pool, "maxLock()")[0], 16).expect("maxLock");
    let new_max = old_max * 2;
    let pool_bytes = hex::decode(pool.trim_start_matches("0x")).expect("pool address");
    let calldata = seqpool_l1::bindings::LockingPool::setMaxLockCall {
        newMaxLock: alloy::primitives::U256::from(new_max),
    }
    .abi_encode();
    let raise = json!({
        "title": "Raise maxLock",
        "summary": "Double LockingPool.maxLock",
        "messages": [{
            "@type": "/seqpool.mpc.v1.MsgRequestGovernanceAction",
            "authority": authority,
            "target": b64(&pool_bytes),
            "data": b64(&calldata),
        }]
    });
    let started = Instant::now();
    pass_proposal(net, "raise", &raise, 0, &[0, 1, 2]);
    let passed = started.elapsed();
    wait_for(net, "maxLock raised on L1", Duration::from_secs(90), || {
        let now = u128::from_str_radix(&call_view(l1, &pool, "maxLock()")[0], 16).ok()?;
        (now == new_max).then_some(())
    });
    let executed = started.elapsed();
    ran_after_the_exit_window(l1, &governance, 0);
    l1.set_automine();
    eprintln!(
        "FIGURE governance_maxlock_s submit->passed {:.1}, ->executed on L1 {:.1} (exit window {delay} s)",
        passed.as_secs_f64(),
        executed.as_secs_f64(),
    );
}

/// Issue 13 on the devnet, part 2: a proposal retires the admin. The chain refuses the old
/// admin's `tx admin update-params`; the group signs Governance.removeAdmin, relayers run it after
/// the exit window: Governance.admin() is 0 and the old admin's `execute` reverts (NotAdmin);
/// `query admin` shows both halves retired.
fn retire_the_admin_by_proposal(
    net: &mut Devnet,
    l1: &L1Rpc,
    deployment: &Value,
    voters: &[usize],
) {
    use alloy::sol_types::SolCall;
    use seqpool_l1::bindings::{Governance, LockingPool};
    let address = |name: &str| deployment[name].as_str().expect(name).to_string();
    let (pool, governance) = (address("lockingPool"), address("governance"));
    l1.set_interval_mining(1);
    let authority = gov_authority(net);
    let nonce = hex_u64(&call_view(l1, &governance, "actionNonce()")[0]);
    let retire = json!({
        "title": "Retire the admin",
        "summary": "On the chain and on L1, for good",
        "messages": [{"@type": "/seqpool.admin.v1.MsgRetireAdmin", "authority": authority}]
    });
    let started = Instant::now();
    pass_proposal(net, "retire", &retire, 1, voters);
    let passed = started.elapsed();
    let client_home = net.client_home().display().to_string();
    let rpc0 = net.nodes.nodes[0].cometbft_rpc.clone();
    let refused = net.cli(&[
        "tx",
        "admin",
        "update-params",
        "staking",
        r#"{"livenessWindow":"99"}"#,
        "--from",
        "admin",
        "--home",
        &client_home,
        "--keyring-backend",
        "test",
        "--node",
        &rpc0,
        "--timeout",
        "30s",
    ]);
    assert!(
        !refused.status.success(),
        "the retired admin's update-params went through"
    );
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("retired"), "{stderr}");
    wait_for(
        net,
        "Governance.admin() == 0",
        Duration::from_secs(90),
        || {
            let admin = call_view(l1, &governance, "admin()");
            admin
                .first()
                .is_some_and(|w| w.chars().all(|c| c == '0'))
                .then_some(())
        },
    );
    let removed = started.elapsed();
    ran_after_the_exit_window(l1, &governance, nonce);
    let execute = Governance::executeCall {
        target: pool.parse().expect("pool"),
        data: LockingPool::setRewardPerBlockCall {
            newRewardPerBlock: alloy::primitives::U256::from(5u64),
        }
        .abi_encode()
        .into(),
    }
    .abi_encode();
    let reverted = l1.try_rpc(
        "eth_call",
        json!([{"from": deployment["deployer"], "to": governance,
                "data": format!("0x{}", hex::encode(execute))}, "latest"]),
    );
    let reason = reverted.expect_err("the old admin's execute went through");
    let not_admin = hex::encode(
        alloy::primitives::keccak256("NotAdmin(address)".as_bytes())
            .get(..4)
            .unwrap_or_default(),
    );
    assert!(reason.contains(&not_admin), "{reason}");
    let shown = cli_json(
        net,
        &[
            "query",
            "admin",
            "admin",
            "--grpc",
            &net.nodes.nodes[1].grpc,
            "--l1-rpc",
            &l1.url,
            "--output",
            "json",
        ],
    );
    assert_ne!(shown["retiredAtHeight"], "0", "{shown}");
    assert!(shown["l1"].is_object(), "query admin shows L1: {shown}");
    assert_eq!(shown["l1"]["admin"], Value::Null, "{shown}");
    l1.set_automine();
    eprintln!(
        "FIGURE governance_retire_s submit->passed {:.1}, ->L1 admin removed {:.1}",
        passed.as_secs_f64(),
        removed.as_secs_f64(),
    );
}

/// The culprits of every attempt of every batch request, as (validator, reason).
fn batch_culprits(rest: &str) -> Vec<(String, String)> {
    let batches = rest_json(rest, "/seqpool/mpc/v1/batches?limit=1000").unwrap_or_default();
    let ids: Vec<String> = batches["batches"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r["requestId"].as_str().map(str::to_string))
        .collect();
    let mut out = Vec::new();
    for id in ids {
        let detail = rest_json(rest, &format!("/seqpool/mpc/v1/requests/{id}")).unwrap_or_default();
        for attempt in detail["attempts"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            for c in attempt["culprits"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                out.push((
                    c["validator"].as_str().unwrap_or_default().to_string(),
                    c["reason"].as_str().unwrap_or_default().to_string(),
                ));
            }
        }
    }
    out
}

/// A validator whose node sends invalid signature shares (the test switch
/// SEQPOOL_MPC_CORRUPT_SHARES=1 on node3's seqpoold) is named as the culprit of the attempts that
/// chose it and penalised (jailed for `mpc_faults` after x/mpc's max_share_faults), and every batch
/// is still signed and appended on L1, contiguous and once.
#[test]
fn a_node_sending_invalid_shares_is_blamed_and_jailed_and_batches_still_land() {
    let (mut net, rest0, l1, l2, inbox, _key) = devnet_with_key();
    let culprit = net.nodes.nodes[3].consensus_address.clone();
    net.kill_node(3);
    net.start_node_with_env(3, &[("SEQPOOL_MPC_CORRUPT_SHARES", "1")]);
    net.start_sidecar(3, L2_BLOCK_TIME_MS);
    let deadline = Instant::now() + Duration::from_secs(150);
    let jailed = |rest: &str| -> Option<String> {
        let all = rest_json(rest, "/seqpool/staking/v1/validators")?;
        let v = all["validators"]
            .as_array()?
            .iter()
            .find(|v| v["consensusAddress"] == culprit.as_str())?
            .clone();
        (v["jailed"] == true).then(|| v["jailReason"].as_str().unwrap_or_default().to_string())
    };
    let reason = loop {
        let (batches, _) = user_txs_reach_l1(&mut net, &l1, &l2, &inbox, 3);
        assert_contiguous_once(&l1, &inbox, &batches);
        if let Some(reason) = jailed(&rest0) {
            break reason;
        }
        assert!(
            Instant::now() < deadline,
            "node3 not jailed; culprits so far: {:?}",
            batch_culprits(&rest0)
        );
    };
    assert_eq!(reason, "mpc_faults");
    let culprits = batch_culprits(&rest0);
    assert!(
        culprits.iter().any(|(v, _)| *v == culprit),
        "node3 named in no attempt: {culprits:?}"
    );
    assert!(
        culprits.iter().all(|(v, _)| *v == culprit),
        "an honest validator was blamed: {culprits:?}"
    );
    // Batches keep landing without it.
    let (batches, _) = user_txs_reach_l1(&mut net, &l1, &l2, &inbox, 2);
    assert_contiguous_once(&l1, &inbox, &batches);
    eprintln!(
        "node3 jailed ({reason}); culprits {culprits:?}; {} batches on L1",
        batches.len()
    );

    // Reward settlements reach LockingPool: RewardsDistributed with a positive total, credited
    // to the sequencers that produced L2 blocks (their `reward` sums to the distributed totals).
    let pool = format!(
        "{:#x}",
        net.nodes
            .l1
            .as_ref()
            .expect("l1 section")
            .contracts
            .locking_pool
    );
    let ids: Vec<u64> = net
        .nodes
        .l1
        .as_ref()
        .expect("l1 section")
        .sequencers
        .iter()
        .map(|s| s.sequencer_id)
        .collect();
    let (distributed, credited) = wait_for(
        &mut net,
        "a reward distribution on LockingPool",
        Duration::from_secs(90),
        || {
            let total = rewards_distributed(&l1, &pool);
            (total > 0).then(|| (total, sequencer_rewards(&l1, &pool, &ids)))
        },
    );
    let credited_sum: u128 = credited.iter().sum();
    assert!(
        credited_sum >= distributed,
        "distributed {distributed}, credited {credited:?}"
    );
    assert!(
        credited.iter().filter(|r| **r > 0).count() >= 1,
        "{credited:?}"
    );
    eprintln!("rewards on L1: distributed {distributed} wei, credited per sequencer {credited:?}");

    // Issue 20.3: relaying survives an L1 reorg (depths from SEQPOOL_E2E_REORG_DEPTHS, default 2,
    // within the bridge's confirmation depth).
    let depths: Vec<u64> = std::env::var("SEQPOOL_E2E_REORG_DEPTHS")
        .unwrap_or_else(|_| "2".into())
        .split(',')
        .filter_map(|d| d.trim().parse().ok())
        .collect();
    for depth in depths {
        relaying_survives_a_reorg(&mut net, &rest0, &l1, &inbox, depth);
    }
}

/// The batch index of a batch request row in REST JSON (proto3 JSON leaves out index 0).
fn batch_index_of(row: &Value) -> Option<u64> {
    match &row["batch"]["batchIndex"] {
        Value::Null => row["batch"].is_object().then_some(0),
        v => v.as_str()?.parse().ok(),
    }
}

fn next_batch_index(l1: &L1Rpc, inbox: &str) -> u64 {
    call_view(l1, inbox, "nextBatchIndex()")
        .first()
        .map(|w| hex_u64(w))
        .unwrap_or(0)
}

/// `anvil_reorg` of `depth` blocks taken right after a block that appended a batch, so the append
/// is reorged out (tried until one is). Then, with no restart: BatchInbox.nextBatchIndex moves past
/// where it was within 20 s, the appended batches are contiguous and each index once, every LANDED
/// batch request names an L1 transaction that is on the chain now, and no index is LANDED twice.
fn relaying_survives_a_reorg(net: &mut Devnet, rest: &str, l1: &L1Rpc, inbox: &str, depth: u64) {
    let topic = format!(
        "0x{}",
        hex::encode(alloy::primitives::keccak256(
            "BatchAppended(uint64,uint64,uint64,bytes32,bytes32)".as_bytes()
        ))
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    let (before, after) = loop {
        net.assert_running();
        assert!(
            Instant::now() < deadline,
            "no batch append could be reorged out within 120 s"
        );
        let head = hex_u64(
            l1.rpc("eth_blockNumber", json!([]))
                .as_str()
                .unwrap_or("0x0"),
        );
        let logs = l1.rpc(
            "eth_getLogs",
            json!([{"address": inbox, "fromBlock": format!("0x{head:x}"), "toBlock": format!("0x{head:x}"),
                    "topics": [topic]}]),
        );
        if logs.as_array().is_none_or(|l| l.is_empty()) {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        let before = next_batch_index(l1, inbox);
        l1.rpc("anvil_reorg", json!([depth, []]));
        let after = next_batch_index(l1, inbox);
        if after < before {
            break (before, after);
        }
        eprintln!("reorg of depth {depth} at L1 block {head} kept every append ({before}); again");
    };
    let reorged_at = Instant::now();
    eprintln!("REORG depth {depth}: BatchInbox.nextBatchIndex {before} -> {after}");
    let recovered = wait_for(
        net,
        &format!("nextBatchIndex past {before} after a reorg of depth {depth}"),
        Duration::from_secs(20),
        || (next_batch_index(l1, inbox) > before).then(Instant::now),
    );
    eprintln!(
        "REORG depth {depth}: nextBatchIndex past {before} {} ms after the reorg (no restart)",
        recovered.duration_since(reorged_at).as_millis()
    );
    assert_contiguous_once(l1, inbox, &appended_batches(l1, inbox));
    // Every batch up to `before` ends LANDED on the chain, exactly once, through a transaction that
    // is on L1 now.
    let landed = wait_for(
        net,
        &format!("batches 0..={before} LANDED after the reorg"),
        Duration::from_secs(60),
        || {
            let all = rest_json(rest, "/seqpool/mpc/v1/batches?limit=1000")?;
            let rows: Vec<Value> = all["batches"].as_array()?.clone();
            let landed: Vec<Value> = rows
                .into_iter()
                .filter(|r| r["status"] == "REQUEST_STATUS_LANDED")
                .collect();
            let indexes: BTreeSet<u64> = landed.iter().filter_map(batch_index_of).collect();
            ((0..=before).all(|i| indexes.contains(&i))).then_some(landed)
        },
    );
    let mut seen = BTreeSet::new();
    for r in &landed {
        let index = batch_index_of(r).map_or("?".to_string(), |i| i.to_string());
        assert!(
            seen.insert(index.clone()),
            "batch {index} LANDED twice: {landed:?}"
        );
        let tx = b64_hex(&r["l1TxHash"]);
        let receipt = l1.rpc("eth_getTransactionReceipt", json!([format!("0x{tx}")]));
        assert_eq!(
            receipt["status"], "0x1",
            "batch {index} LANDED through 0x{tx}, which must be a successful tx on L1 now: {receipt}"
        );
    }
}
