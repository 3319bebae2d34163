//! x/bridge and x/staking from L1 events through the in-process ABCI driver: each validator's vote
//! extension carries the L1 events the test says its watcher saw.
use prost::Message;
use seqpool_app::driver::{test_key, Driver, TestValidator};
use seqpool_bridge::{BridgeRead, BridgeVote, L1Event, Payload};
use seqpool_proto::bridge::v1::{
    LockBoundChanged, Locked, OtherEvent, QueryEventRequest, QueryEventResponse,
    QueryNextNonceResponse, Relocked, SignerChange, Slashed, UnlockInit,
};
use seqpool_staking::StakingRead;

const TOKEN: u128 = 1_000_000_000_000_000_000;

fn standby(label: &str) -> TestValidator {
    TestValidator {
        name: label.into(),
        consensus_key: test_key(&format!("consensus/{label}")),
        operator_key: test_key(&format!("operator/{label}")),
        power: 0,
    }
}

/// The 64-byte uncompressed public key (no 0x04 prefix) that LockingPool events carry.
fn l1_pubkey(v: &TestValidator) -> Vec<u8> {
    v.consensus_key
        .verifying_key()
        .to_encoded_point(false)
        .as_bytes()[1..]
        .to_vec()
}

fn event(nonce: u64, payload: Payload) -> L1Event {
    L1Event {
        nonce,
        tx_hash: vec![nonce as u8 + 0x10; 32],
        log_index: nonce % 3,
        block_number: 100 + nonce,
        payload: Some(payload),
    }
}

fn locked(nonce: u64, id: u64, v: &TestValidator, tokens: u128) -> L1Event {
    event(
        nonce,
        Payload::Locked(Locked {
            sequencer_id: id,
            signer: vec![0xAA; 20],
            owner: vec![0xBB; 20],
            amount: (tokens * TOKEN).to_string(),
            signer_pubkey: l1_pubkey(v),
        }),
    )
}

fn other(nonce: u64, name: &str) -> L1Event {
    event(nonce, Payload::Other(OtherEvent { name: name.into() }))
}

/// Every validator (standby ones too) reports `events`.
fn all_report(d: &mut Driver, events: &[L1Event]) {
    for i in 0..d.validators.len() {
        d.bridge_votes.insert(
            i,
            BridgeVote {
                events: events.to_vec(),
                ..Default::default()
            },
        );
    }
}

fn blocks(d: &mut Driver, n: usize) {
    for _ in 0..n {
        d.produce_block(vec![]).expect("block");
    }
}

fn next_nonce(d: &Driver) -> u64 {
    d.nodes[0]
        .app
        .storage()
        .latest_snapshot()
        .next_nonce()
        .expect("nonce")
}

fn power_in_state(d: &Driver, v: &TestValidator) -> Option<i64> {
    let addr = hex::encode_upper(v.consensus_address());
    d.nodes[0]
        .app
        .storage()
        .latest_snapshot()
        .validator(&addr)
        .expect("read")
        .map(|v| v.power)
}

/// Power of `v` in the CometBFT set that signs the next block.
fn consensus_power(d: &Driver, v: &TestValidator) -> Option<i64> {
    let addr = hex::encode_upper(v.consensus_address());
    d.nodes[0]
        .app
        .storage()
        .latest_snapshot()
        .consensus_set_at(d.height + 1)
        .expect("set")
        .into_iter()
        .find(|x| x.consensus_address == addr)
        .map(|x| x.power)
}

#[test]
fn join_relock_signer_change_unlock() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = Driver::new(dir.path(), 4, 2).expect("driver");
    blocks(&mut d, 2);
    let new = d.add_standby(standby("joiner"));
    let rotated = d.add_standby(standby("joiner-rotated"));

    // Join: the lock is voted at one height, applied in the next block, in force two blocks later.
    let lock = locked(1, 7, &d.validators[new], 25);
    all_report(&mut d, std::slice::from_ref(&lock));
    blocks(&mut d, 2);
    assert_eq!(next_nonce(&d), 2);
    assert_eq!(power_in_state(&d, &d.validators[new]), Some(25));
    blocks(&mut d, 2);
    assert_eq!(consensus_power(&d, &d.validators[new]), Some(25));
    assert_eq!(d.validators[new].power, 25, "CometBFT got the update");
    // The new validator now signs extensions that count (the driver fails a block otherwise).
    blocks(&mut d, 2);

    // Relock: power follows the new stake.
    let relock = event(
        2,
        Payload::Relocked(Relocked {
            sequencer_id: 7,
            added: (15 * TOKEN).to_string(),
            amount: (40 * TOKEN).to_string(),
        }),
    );
    all_report(&mut d, std::slice::from_ref(&relock));
    blocks(&mut d, 4);
    assert_eq!(power_in_state(&d, &d.validators[new]), Some(40));
    assert_eq!(consensus_power(&d, &d.validators[new]), Some(40));

    // Signer change: the old key leaves the set, the new key takes its power.
    let change = event(
        3,
        Payload::SignerChange(SignerChange {
            sequencer_id: 7,
            old_signer: vec![0xAA; 20],
            new_signer: vec![0xCC; 20],
            signer_pubkey: l1_pubkey(&d.validators[rotated]),
        }),
    );
    all_report(&mut d, &[change]);
    blocks(&mut d, 4);
    assert_eq!(power_in_state(&d, &d.validators[new]), None);
    assert_eq!(consensus_power(&d, &d.validators[new]), None);
    assert_eq!(consensus_power(&d, &d.validators[rotated]), Some(40));
    assert_eq!(d.validators[new].power, 0);
    assert_eq!(d.validators[rotated].power, 40);

    // Unlock start: the sequencer leaves the set.
    let unlock = event(
        4,
        Payload::UnlockInit(UnlockInit {
            sequencer_id: 7,
            owner: vec![0xBB; 20],
            amount: (40 * TOKEN).to_string(),
        }),
    );
    all_report(&mut d, &[unlock]);
    blocks(&mut d, 4);
    assert_eq!(next_nonce(&d), 5);
    assert_eq!(power_in_state(&d, &d.validators[rotated]), None);
    assert_eq!(consensus_power(&d, &d.validators[rotated]), None);
    let set = d.nodes[0]
        .app
        .storage()
        .latest_snapshot()
        .consensus_set_at(d.height + 1)
        .expect("set");
    assert_eq!(set.len(), 4);

    // Replaying the old lock and relock (a stale watcher) changes nothing.
    all_report(&mut d, &[lock, relock]);
    blocks(&mut d, 3);
    assert_eq!(next_nonce(&d), 5);
    assert_eq!(power_in_state(&d, &d.validators[new]), None);
}

fn slashed(nonce: u64, id: u64, tokens: u128) -> L1Event {
    event(
        nonce,
        Payload::Slashed(Slashed {
            sequencer_id: id,
            amount: (tokens * TOKEN).to_string(),
            total_locked: "0".into(),
        }),
    )
}

/// LockingPool.Slashed (a group-signed slash landed on L1): the stake and power drop; below the
/// pool's minLock the validator leaves the CometBFT set but keeps its record, so a relock brings
/// it back; a slash of a sequencer that is no validator here only consumes its nonce.
#[test]
fn slash_lowers_power_and_below_min_lock_leaves_the_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = Driver::new(dir.path(), 4, 2).expect("driver");
    blocks(&mut d, 2);
    let new = d.add_standby(standby("slashed"));
    let min_lock = event(
        2,
        Payload::MinLockChanged(LockBoundChanged {
            old_value: TOKEN.to_string(),
            new_value: (10 * TOKEN).to_string(),
        }),
    );
    let lock = locked(1, 7, &d.validators[new], 25);
    all_report(&mut d, &[lock, min_lock]);
    blocks(&mut d, 4);
    assert_eq!(consensus_power(&d, &d.validators[new]), Some(25));
    blocks(&mut d, 2);

    all_report(&mut d, &[slashed(3, 7, 5)]);
    blocks(&mut d, 4);
    assert_eq!(next_nonce(&d), 4);
    assert_eq!(power_in_state(&d, &d.validators[new]), Some(20));
    assert_eq!(consensus_power(&d, &d.validators[new]), Some(20));
    assert_eq!(d.validators[new].power, 20, "CometBFT got the update");

    // 20 - 15 = 5 tokens < minLock 10: power 0, out of the set, record kept.
    all_report(&mut d, &[slashed(4, 7, 15)]);
    blocks(&mut d, 4);
    assert_eq!(power_in_state(&d, &d.validators[new]), Some(0));
    assert_eq!(consensus_power(&d, &d.validators[new]), None);
    assert_eq!(d.validators[new].power, 0);
    let stake = d.nodes[0]
        .app
        .storage()
        .latest_snapshot()
        .validator(&hex::encode_upper(d.validators[new].consensus_address()))
        .expect("read")
        .expect("record kept")
        .stake;
    assert_eq!(stake, (5 * TOKEN).to_string());

    // A relock back above minLock restores the power.
    let relock = event(
        5,
        Payload::Relocked(Relocked {
            sequencer_id: 7,
            added: (25 * TOKEN).to_string(),
            amount: (30 * TOKEN).to_string(),
        }),
    );
    all_report(&mut d, &[relock]);
    blocks(&mut d, 4);
    assert_eq!(consensus_power(&d, &d.validators[new]), Some(30));

    // Unknown sequencer (e.g. one already unlocking): the nonce is used, nothing else changes.
    all_report(&mut d, &[slashed(6, 99, 1)]);
    blocks(&mut d, 4);
    assert_eq!(next_nonce(&d), 7);
    assert_eq!(consensus_power(&d, &d.validators[new]), Some(30));
}

#[test]
fn two_thirds_of_power_is_not_enough() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = Driver::new(dir.path(), 6, 1).expect("driver");
    blocks(&mut d, 1);
    let e = other(1, "PausedChanged");
    // 4 of 6 equal validators: exactly 2/3, not more.
    for i in 0..4 {
        d.bridge_votes.insert(
            i,
            BridgeVote {
                events: vec![e.clone()],
                ..Default::default()
            },
        );
    }
    blocks(&mut d, 4);
    assert_eq!(next_nonce(&d), 1);
    // Two others see a different payload for the same nonce: still nothing.
    let forged = other(1, "Forged");
    for i in 4..6 {
        d.bridge_votes.insert(
            i,
            BridgeVote {
                events: vec![forged.clone()],
                ..Default::default()
            },
        );
    }
    blocks(&mut d, 3);
    assert_eq!(next_nonce(&d), 1);
    // A fifth validator agrees: 5 of 6 > 2/3.
    d.bridge_votes.insert(
        4,
        BridgeVote {
            events: vec![e.clone()],
            ..Default::default()
        },
    );
    blocks(&mut d, 2);
    assert_eq!(next_nonce(&d), 2);
    let applied = d.nodes[0]
        .app
        .storage()
        .latest_snapshot()
        .applied_event(1)
        .expect("read")
        .and_then(|a| a.event);
    assert_eq!(applied, Some(e));
}

#[test]
fn a_gap_waits_and_nothing_applies_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = Driver::new(dir.path(), 4, 2).expect("driver");
    blocks(&mut d, 1);
    let (e1, e2, e3) = (other(1, "A"), other(2, "B"), other(3, "C"));
    // Everyone saw 2 and 3 but not 1: they wait.
    all_report(&mut d, &[e2.clone(), e3.clone()]);
    blocks(&mut d, 4);
    assert_eq!(next_nonce(&d), 1);
    // 1 arrives: all three apply, in order, in one block.
    all_report(&mut d, &[e1.clone(), e2.clone(), e3.clone()]);
    blocks(&mut d, 2);
    assert_eq!(next_nonce(&d), 4);
    let snapshot = d.nodes[0].app.storage().latest_snapshot();
    let heights: Vec<u64> = (1..=3)
        .map(|n| {
            snapshot
                .applied_event(n)
                .expect("read")
                .expect("applied")
                .height
        })
        .collect();
    assert!(heights.iter().all(|h| *h == heights[0]), "{heights:?}");
    // Validators that still report them (slow watchers) apply nothing again.
    blocks(&mut d, 3);
    let snapshot = d.nodes[0].app.storage().latest_snapshot();
    assert_eq!(snapshot.next_nonce().expect("nonce"), 4);
    assert_eq!(
        snapshot
            .applied_event(1)
            .expect("read")
            .expect("applied")
            .height,
        heights[0]
    );
    // The vote sections now built by the node skip applied nonces.
    d.bridge_votes.clear();
    blocks(&mut d, 2);
    assert_eq!(next_nonce(&d), 4);

    // The same through abci_query (the gRPC path and encoding).
    let query = |path: &str, data: Vec<u8>| {
        seqpool_app::query::abci_query(
            d.nodes[0].app.storage(),
            &tendermint::abci::request::Query {
                data: data.into(),
                path: path.into(),
                height: 0u32.into(),
                prove: false,
            },
        )
    };
    let resp = query("/seqpool.bridge.v1.Query/NextNonce", vec![]);
    let next = QueryNextNonceResponse::decode(resp.value.as_ref()).expect("decode");
    assert_eq!(next.next_nonce, 4);
    let resp = query(
        "/seqpool.bridge.v1.Query/Event",
        QueryEventRequest { nonce: 2 }.encode_to_vec(),
    );
    let event = QueryEventResponse::decode(resp.value.as_ref()).expect("decode");
    assert_eq!(event.event.and_then(|a| a.event), Some(e2));
}

#[test]
fn hundred_validators_one_joins() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = Driver::new(dir.path(), 100, 1).expect("driver");
    blocks(&mut d, 1);
    let new = d.add_standby(standby("joiner-100"));
    let lock = locked(1, 101, &d.validators[new], 10);
    // 67 of 100 equal validators (67% > 2/3) see it.
    for i in 0..67 {
        d.bridge_votes.insert(
            i,
            BridgeVote {
                events: vec![lock.clone()],
                ..Default::default()
            },
        );
    }
    blocks(&mut d, 4);
    assert_eq!(next_nonce(&d), 2);
    assert_eq!(consensus_power(&d, &d.validators[new]), Some(10));
    assert_eq!(d.validators[new].power, 10);
    blocks(&mut d, 1);
}

#[test]
fn bad_event_consumes_its_nonce_without_effect() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = Driver::new(dir.path(), 4, 1).expect("driver");
    blocks(&mut d, 1);
    // A relock of a sequencer this chain does not know, then a lock with a key not on the curve.
    let relock = event(
        1,
        Payload::Relocked(Relocked {
            sequencer_id: 99,
            added: "1".into(),
            amount: "2".into(),
        }),
    );
    let mut bad_lock = locked(2, 3, &standby("x"), 10);
    if let Some(Payload::Locked(l)) = &mut bad_lock.payload {
        l.signer_pubkey = vec![7; 64];
    }
    all_report(&mut d, &[relock, bad_lock, other(3, "After")]);
    blocks(&mut d, 4);
    assert_eq!(next_nonce(&d), 4);
    let set = d.nodes[0]
        .app
        .storage()
        .latest_snapshot()
        .consensus_set_at(d.height + 1)
        .expect("set");
    assert_eq!(set.len(), 4);
}

#[test]
fn l1_randomness_attested_by_more_than_two_thirds_seeds_the_next_schedule() {
    use seqpool_bridge::L1Randomness;
    use seqpool_producer::ProducerRead;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = Driver::new_with_genesis(dir.path(), 4, 2, |g| {
        g.epochs.params = Some(seqpool_epochs::Params {
            epoch_length: 5,
            ..Default::default()
        });
    })
    .expect("driver");
    blocks(&mut d, 1);
    let report = |byte: u8| BridgeVote {
        randomness: Some(L1Randomness {
            block_number: 64,
            prevrandao: vec![byte; 32],
        }),
        ..Default::default()
    };
    let attested = |d: &Driver| {
        d.nodes[0]
            .app
            .storage()
            .latest_snapshot()
            .attested_randomness()
            .expect("read")
            .and_then(|a| a.randomness)
    };
    // Half the power, or a split, is not enough.
    d.bridge_votes.insert(0, report(7));
    d.bridge_votes.insert(1, report(7));
    d.bridge_votes.insert(2, report(8));
    blocks(&mut d, 3);
    assert_eq!(attested(&d), None);
    d.bridge_votes.insert(2, report(7));
    blocks(&mut d, 2);
    assert_eq!(
        attested(&d),
        Some(L1Randomness {
            block_number: 64,
            prevrandao: vec![7; 32]
        })
    );
    // Served over abci_query.
    let resp = seqpool_app::query::abci_query(
        d.nodes[0].app.storage(),
        &tendermint::abci::request::Query {
            data: seqpool_proto::bridge::v1::QueryRandomnessRequest {}
                .encode_to_vec()
                .into(),
            path: "/seqpool.bridge.v1.Query/Randomness".into(),
            height: 0u32.into(),
            prove: false,
        },
    );
    assert_eq!(resp.code.value(), 0, "{}", resp.log);
    let got = seqpool_proto::bridge::v1::QueryRandomnessResponse::decode(resp.value.as_ref())
        .expect("decode");
    assert_eq!(
        got.randomness
            .and_then(|a| a.randomness)
            .map(|r| r.block_number),
        Some(64)
    );

    // Genesis schedules had no L1 value; the schedule fixed when epoch 1 starts uses it.
    let snapshot = |d: &Driver| d.nodes[0].app.storage().latest_snapshot();
    assert_eq!(
        snapshot(&d)
            .schedule(1)
            .expect("read")
            .map(|s| s.l1_randomness_block),
        Some(0)
    );
    let l2: Vec<seqpool_epochs::L2Block> = (1..=5)
        .map(|n| seqpool_epochs::L2Block {
            number: n,
            hash: vec![n as u8; 32],
            coinbase: vec![0xCC; 20],
        })
        .collect();
    for i in 0..4 {
        d.producer_votes.insert(
            i,
            seqpool_producer::ProducerVote {
                blocks: l2.clone(),
                stall: None,
            },
        );
    }
    blocks(&mut d, 2);
    let schedule = snapshot(&d)
        .schedule(2)
        .expect("read")
        .expect("epoch 2 fixed");
    assert_eq!(schedule.l1_randomness_block, 64);
    // seed = sha256(domain v2, epoch, L1 block, prevrandao): the L1 value alone, the first one
    // attested after genesis committed epoch 2's draw to it; no app hash a proposer could grind.
    assert_eq!(
        schedule.seed,
        seqpool_producer::selection::l1_seed(2, 64, &[7; 32]).to_vec()
    );
    let parent =
        seqpool_app::query::snapshot_at(d.nodes[0].app.storage(), schedule.decided_at_height - 1)
            .expect("parent state")
            .root_hash();
    assert_ne!(
        schedule.seed,
        seqpool_producer::selection::seed(2, &parent, &[]).to_vec()
    );
    // The backup order: every other validator once.
    let mut everyone: Vec<String> = schedule.backup_order.clone();
    everyone.extend(schedule.assignments.iter().map(|a| a.producer.clone()));
    everyone.sort();
    let mut expected: Vec<String> = d
        .validators
        .iter()
        .map(|v| hex::encode_upper(v.consensus_address()))
        .collect();
    expected.sort();
    assert_eq!(everyone, expected);
}
