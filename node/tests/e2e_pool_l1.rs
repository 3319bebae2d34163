//! The sequencer pool against its L1, end to end: 4 validators (real cometbft + seqpoold) whose
//! stake `seqpoold testnet --l1-rpc` locked on a real anvil. Genesis mirrors L1 (the first L1
//! events match the genesis validators without changing the set); further operators whitelisted
//! and locking on L1 become CometBFT validators (join latency measured), an unlock removes them,
//! and a lock that an L1 reorg removes before the confirmation depth never reaches state while the
//! real lock with the same nonce applies; a stake-bound change applies; the L1 RANDAO value is
//! attested.
mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use alloy::primitives::U256;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolEvent};
use common::{
    block_on, http_get, Devnet, DevnetOptions, L1_CONFIRMATIONS, L1_DEV_KEY, L1_STAKE_TOKENS,
};
use k256::ecdsa::SigningKey;
use seqpool_l1::bindings::{Governance, LockingPool};
use seqpool_l1::deploy::Deployment;
use seqpool_l1::devnet::{
    approve_stake, default_owner_funding, lock_approved, lock_sequencers, prepare_owners, unlock,
    LockedSequencer, SequencerLock,
};
use seqpool_proto::bridge::v1::l1_event::Payload;
use seqpool_proto::bridge::v1::{
    QueryEventRequest, QueryEventResponse, QueryNextNonceRequest, QueryNextNonceResponse,
    QueryRandomnessRequest, QueryRandomnessResponse,
};
use seqpool_proto::staking::v1::{QueryValidatorsRequest, QueryValidatorsResponse};
use seqpoold::cli::home::consensus_address;

const TOKEN_WEI: u64 = 1_000_000_000_000_000_000;
/// Stake of each joining operator, in tokens (= its voting power). The 4 running validators keep
/// more than 2/3 of the power with all joiners in the set (4000 of 5500).
const JOIN_STAKE_TOKENS: u64 = 500;
const JOINERS: usize = 3;
/// A lock must reach CometBFT within this many blocks of its L1 receipt.
const MAX_JOIN_BLOCKS: u64 = 40;
const WAIT: Duration = Duration::from_secs(60);

/// The CometBFT validator set at `height` (latest if `None`) as node `k` reports it: address -> power.
fn cometbft_validators(net: &Devnet, k: usize, height: Option<u64>) -> BTreeMap<String, i64> {
    let path = match height {
        Some(h) => format!("/validators?height={h}&per_page=100"),
        None => "/validators?per_page=100".to_string(),
    };
    let (status, body) = http_get(&net.nodes.nodes[k].cometbft_rpc, &path);
    assert_eq!(status, 200, "{path}: {body}");
    let json: serde_json::Value = serde_json::from_str(&body).expect("validators JSON");
    json["result"]["validators"]
        .as_array()
        .unwrap_or_else(|| panic!("{path}: no validators in {body}"))
        .iter()
        .map(|v| {
            let addr = v["address"].as_str().expect("address").to_string();
            let power = v["voting_power"]
                .as_str()
                .and_then(|p| p.parse().ok())
                .expect("voting_power");
            (addr, power)
        })
        .collect()
}

fn next_nonce(net: &Devnet) -> u64 {
    let r: QueryNextNonceResponse = block_on(net.rpc(0).query(
        "/seqpool.bridge.v1.Query/NextNonce",
        &QueryNextNonceRequest {},
        None,
    ))
    .expect("bridge next nonce");
    r.next_nonce
}

fn staking_validators(net: &Devnet) -> QueryValidatorsResponse {
    block_on(net.rpc(0).query(
        "/seqpool.staking.v1.Query/Validators",
        &QueryValidatorsRequest {},
        None,
    ))
    .expect("staking validators")
}

/// Polls `check` every 100 ms until it returns `Some`, failing after `timeout`.
fn wait_for<T>(
    net: &mut Devnet,
    what: &str,
    timeout: Duration,
    mut check: impl FnMut(&Devnet) -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        net.assert_running();
        if let Some(v) = check(net) {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {timeout:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn tokens(n: u64) -> U256 {
    U256::from(n) * U256::from(TOKEN_WEI)
}

struct L1 {
    url: String,
    deployment: Deployment,
}

impl L1 {
    fn admin(&self) -> PrivateKeySigner {
        L1_DEV_KEY.parse().expect("dev key")
    }

    /// The admin whitelists, funds and mints for a fresh owner.
    fn new_owner(&self, stake: U256) -> PrivateKeySigner {
        let owner = PrivateKeySigner::random();
        block_on(prepare_owners(
            &self.url,
            self.admin(),
            &self.deployment,
            &[(owner.address(), stake)],
            default_owner_funding(),
        ))
        .expect("whitelist and fund the owner");
        owner
    }

    fn lock(
        &self,
        owner: &PrivateKeySigner,
        consensus: &SigningKey,
        stake: U256,
    ) -> LockedSequencer {
        let lock = SequencerLock::new(owner.clone(), consensus, stake);
        block_on(lock_sequencers(&self.url, &self.deployment, &[lock]))
            .expect("lockFor")
            .remove(0)
    }
}

#[test]
fn l1_locks_join_unlocks_leave_and_reorged_locks_never_apply() {
    let mut net = Devnet::start_with(DevnetOptions {
        validators: 4,
        l1: true,
        ..DevnetOptions::default()
    });
    let entry = net.nodes.l1.clone().expect("nodes.json has an l1 section");
    let l1 = L1 {
        url: entry.rpc.clone(),
        deployment: entry.contracts.clone(),
    };
    assert_eq!(entry.sequencers.len(), 4);

    // Genesis mirrors L1: the 8 setup events (4 whitelists, 4 locks) apply once, each lock gives
    // its genesis validator the sequencer id, and the CometBFT set keeps its 4 x 1000 power.
    let setup_events = 8;
    wait_for(&mut net, "setup events applied", WAIT, |n| {
        (next_nonce(n) == setup_events + 1).then_some(())
    });
    let staking = staking_validators(&net);
    for node in &net.nodes.nodes {
        let seq = entry
            .sequencers
            .iter()
            .find(|s| s.node == node.name)
            .expect("every node locked");
        let v = staking
            .validators
            .iter()
            .find(|v| v.consensus_address == node.consensus_address)
            .unwrap_or_else(|| panic!("{} not a validator", node.name));
        assert_eq!(v.sequencer_id, seq.sequencer_id, "{}", node.name);
        assert_eq!(v.stake, seq.stake);
        assert_eq!(v.power, L1_STAKE_TOKENS as i64);
    }
    let genesis_set = cometbft_validators(&net, 0, None);
    assert_eq!(genesis_set.len(), 4);
    assert!(genesis_set.values().all(|p| *p == L1_STAKE_TOKENS as i64));

    // Joins: each lock becomes a CometBFT validator with power = stake in tokens.
    let stake = tokens(JOIN_STAKE_TOKENS);
    let mut joined = Vec::new();
    for i in 0..JOINERS {
        let owner = l1.new_owner(stake);
        let consensus = SigningKey::random(&mut rand::rngs::OsRng);
        let addr = consensus_address(&consensus);
        let locked = l1.lock(&owner, &consensus, stake);
        let t0 = Instant::now();
        let h0 = net.height(0).expect("height");
        let h1 = wait_for(&mut net, "joiner in the CometBFT set", WAIT, |n| {
            let set = cometbft_validators(n, 0, None);
            (set.get(&addr) == Some(&(JOIN_STAKE_TOKENS as i64))).then(|| n.height(0))
        })
        .expect("height");
        let latency = t0.elapsed();
        eprintln!(
            "join {i}: L1 lock receipt (block {}) -> CometBFT voting power: {:.2} s, {} blocks",
            locked.block_number,
            latency.as_secs_f64(),
            h1 - h0
        );
        assert!(
            h1 - h0 <= MAX_JOIN_BLOCKS,
            "joined after {} blocks",
            h1 - h0
        );
        for k in 1..net.len() {
            wait_for(&mut net, "every node sees the joiner", WAIT, |n| {
                cometbft_validators(n, k, None)
                    .contains_key(&addr)
                    .then_some(())
            });
        }
        joined.push((owner, locked, addr));
    }

    // Unlocks: UnlockInit removes each joiner from the set.
    for (owner, locked, addr) in &joined {
        let t0 = Instant::now();
        block_on(unlock(
            &l1.url,
            owner.clone(),
            &l1.deployment,
            locked.sequencer_id,
        ))
        .expect("unlock");
        wait_for(&mut net, "unlocked sequencer leaves the set", WAIT, |n| {
            (!cometbft_validators(n, 0, None).contains_key(addr)).then_some(())
        });
        eprintln!(
            "unlock of sequencer {}: L1 receipt -> out of the CometBFT set: {:.2} s",
            locked.sequencer_id,
            t0.elapsed().as_secs_f64()
        );
        let staking = staking_validators(&net);
        assert!(staking
            .validators
            .iter()
            .all(|v| v.consensus_address != *addr));
    }
    assert_eq!(cometbft_validators(&net, 0, None), genesis_set);

    // Reorg: a lock mined on a branch that is dropped before it is L1_CONFIRMATIONS deep. The
    // test mines every L1 block of this part itself, so the reorg removes exactly the lock's
    // block and the L1_CONFIRMATIONS - 1 blocks above it, none of them deep enough to be read.
    let anvil = net.l1.as_ref().expect("anvil").rpc.clone();
    let owner = l1.new_owner(stake);
    let height_before = net.height(0).expect("height");
    anvil.set_automine();
    block_on(approve_stake(&l1.url, &l1.deployment, owner.clone(), stake)).expect("approve");
    let snapshot = anvil.snapshot();
    let reorged_key = SigningKey::random(&mut rand::rngs::OsRng);
    let reorged_addr = consensus_address(&reorged_key);
    let reorged = block_on(lock_approved(
        &l1.url,
        &l1.deployment,
        &SequencerLock::new(owner.clone(), &reorged_key, stake),
    ))
    .expect("lockFor on the branch that the reorg drops");
    anvil.mine(L1_CONFIRMATIONS - 1);
    assert_eq!(
        anvil.block_number(),
        reorged.block_number + L1_CONFIRMATIONS - 1
    );
    // Everything before the lock (the owner's whitelisting) is deep enough and applies...
    wait_for(
        &mut net,
        "events before the reorged lock applied",
        WAIT,
        |n| (next_nonce(n) == reorged.nonce).then_some(()),
    );
    // ...while the lock does not: every watcher gets several rounds (200 ms) and the chain several
    // blocks to (wrongly) use it.
    let h = net.height(0).expect("height");
    net.wait_all_height(h + 5, WAIT);
    assert_eq!(
        next_nonce(&net),
        reorged.nonce,
        "an event above the confirmation depth was applied"
    );
    anvil.revert(snapshot);
    anvil.set_interval_mining(common::L1_BLOCK_SECONDS);

    // The real lock has the same nonce in another transaction, by the same owner, another key.
    let real_key = SigningKey::random(&mut rand::rngs::OsRng);
    let real_addr = consensus_address(&real_key);
    let real = l1.lock(&owner, &real_key, stake);
    assert_eq!(real.nonce, reorged.nonce, "the real lock reuses the nonce");
    assert_ne!(real.tx_hash, reorged.tx_hash);
    wait_for(&mut net, "the real lock in the CometBFT set", WAIT, |n| {
        cometbft_validators(n, 0, None)
            .contains_key(&real_addr)
            .then_some(())
    });
    let applied: QueryEventResponse = block_on(net.rpc(0).query(
        "/seqpool.bridge.v1.Query/Event",
        &QueryEventRequest { nonce: real.nonce },
        None,
    ))
    .expect("applied event");
    let applied = applied.event.expect("nonce applied").event.expect("event");
    assert_eq!(
        applied.tx_hash,
        real.tx_hash.to_vec(),
        "the real lock applied"
    );
    let latest = net.height(0).expect("height");
    for h in height_before..=latest {
        assert!(
            !cometbft_validators(&net, 0, Some(h)).contains_key(&reorged_addr),
            "the reorged-out signer was a validator at height {h}"
        );
    }
    assert!(staking_validators(&net)
        .validators
        .iter()
        .all(|v| v.consensus_address != reorged_addr));

    // Stake-bound changes (governance on L1) are LockingPool events too: the chain applies them
    // in nonce order and records them.
    let min_lock = tokens(200);
    let set_min = LockingPool::setMinLockCall {
        newMinLock: min_lock,
    }
    .abi_encode();
    let admin = alloy::providers::ProviderBuilder::new()
        .wallet(l1.admin())
        .connect_http(l1.url.parse().expect("url"));
    let receipt = block_on(async {
        Governance::new(l1.deployment.governance, admin)
            .execute(l1.deployment.locking_pool, set_min.into())
            .send()
            .await
            .expect("send setMinLock")
            .get_receipt()
            .await
            .expect("receipt")
    });
    assert!(receipt.status(), "setMinLock reverted");
    let changed = receipt
        .inner
        .logs()
        .iter()
        .find_map(|log| LockingPool::MinLockChanged::decode_log(&log.inner).ok())
        .expect("MinLockChanged");
    let nonce = u64::try_from(changed.data.nonce).expect("nonce");
    let applied = wait_for(&mut net, "MinLockChanged applied", WAIT, |n| {
        let r: QueryEventResponse = block_on(n.rpc(0).query(
            "/seqpool.bridge.v1.Query/Event",
            &QueryEventRequest { nonce },
            None,
        ))
        .expect("applied event");
        r.event.and_then(|a| a.event)
    });
    match applied.payload {
        Some(Payload::MinLockChanged(b)) => assert_eq!(b.new_value, min_lock.to_string()),
        other => panic!("expected MinLockChanged at nonce {nonce}, got {other:?}"),
    }

    // The watchers also report the RANDAO value (mixHash) of L1 blocks on the chain's interval
    // (default 32); the value >2/3 attested is the L1 block's own.
    let attested = wait_for(&mut net, "L1 randomness attested", WAIT, |n| {
        let r: QueryRandomnessResponse = block_on(n.rpc(0).query(
            "/seqpool.bridge.v1.Query/Randomness",
            &QueryRandomnessRequest {},
            None,
        ))
        .expect("bridge randomness");
        r.randomness.and_then(|a| a.randomness)
    });
    assert_eq!(attested.block_number % 32, 0);
    let block = anvil.rpc(
        "eth_getBlockByNumber",
        serde_json::json!([format!("0x{:x}", attested.block_number), false]),
    );
    let mix_hash = block["mixHash"].as_str().expect("mixHash");
    assert_eq!(
        format!("0x{}", hex::encode(&attested.prevrandao)),
        mix_hash.to_lowercase()
    );

    // Every node agrees on every state the L1 events produced.
    net.assert_same_app_hashes(1..=latest - 1);
}
