//! x/epochs and x/producer through the in-process ABCI driver: the L2 head from >2/3 of the power,
//! schedules fixed one epoch ahead, block and reward records, stall re-election and jailing.
use seqpool_app::driver::Driver;
use seqpool_component::QueryError;
use seqpool_epochs::{EpochRead, L2Block};
use seqpool_producer::query as pq;
use seqpool_producer::selection::eth_address;
use seqpool_producer::{ProducerRead, ProducerVote, StallReport};
use seqpool_proto::producer::v1::{QueryProducerRequest, QuerySequencersRequest};
use seqpool_staking::StakingRead;
use sha2::{Digest, Sha256};

const EPOCH_LENGTH: u64 = 5;

fn driver(dir: &std::path::Path, stall_timeout_ms: u64, max_faults: u64) -> Driver {
    Driver::new_with_genesis(dir, 4, 2, |g| {
        g.epochs.params = Some(seqpool_epochs::Params {
            epoch_length: EPOCH_LENGTH,
            ..Default::default()
        });
        g.producer.params = Some(seqpool_producer::Params {
            stall_timeout_ms,
            max_faults,
            fault_window_epochs: 10,
            ..seqpool_producer::default_params()
        });
    })
    .expect("driver")
}

fn snapshot(d: &Driver) -> seqpool_store::Snapshot {
    d.nodes[0].app.storage().latest_snapshot()
}

fn producer_at(d: &Driver, l2_height: u64) -> Result<String, QueryError> {
    pq::producer(&snapshot(d), &QueryProducerRequest { l2_height }).map(|r| r.producer)
}

/// Index in `d.validators` of the validator with this consensus address.
fn index_of(d: &Driver, address: &str) -> usize {
    d.validators
        .iter()
        .position(|v| hex::encode_upper(v.consensus_address()) == address)
        .expect("a known validator")
}

fn signer(d: &Driver, idx: usize) -> Vec<u8> {
    eth_address(&d.validators[idx].consensus_pub_key())
        .expect("valid key")
        .to_vec()
}

/// The L2 chain as the test makes it: block n's coinbase is whoever the chain schedules for n.
struct L2 {
    blocks: Vec<L2Block>,
}

impl L2 {
    fn new() -> Self {
        Self { blocks: Vec::new() }
    }
    fn push(&mut self, coinbase: Vec<u8>) {
        let number = self.blocks.len() as u64 + 1;
        self.blocks.push(L2Block {
            number,
            hash: Sha256::digest(number.to_be_bytes()).to_vec(),
            coinbase,
        });
    }
    /// Appends blocks up to `to`, each by the producer the chain schedules for it.
    fn produce_scheduled(&mut self, d: &Driver, to: u64) {
        while (self.blocks.len() as u64) < to {
            let h = self.blocks.len() as u64 + 1;
            let producer = producer_at(d, h).expect("scheduled");
            self.push(signer(d, index_of(d, &producer)));
        }
    }
    /// What a node that has seen up to `seen` reports above head `head`.
    fn vote(&self, head: u64, seen: u64) -> ProducerVote {
        ProducerVote {
            blocks: self
                .blocks
                .iter()
                .filter(|b| b.number > head && b.number <= seen)
                .take(seqpool_producer::vote::MAX_BLOCKS_PER_VOTE)
                .cloned()
                .collect(),
            stall: None,
        }
    }
}

/// Validators `seen[i]` report the L2 chain up to that height; two chain blocks later the votes
/// are in state (votes of block h are injected into block h + 1).
fn report(d: &mut Driver, l2: &L2, seen: [u64; 4]) {
    let head = snapshot(d).l2_head_number().expect("head");
    for (i, s) in seen.iter().enumerate() {
        d.producer_votes.insert(i, l2.vote(head, *s));
    }
    d.produce_block(vec![]).expect("block");
    d.produce_block(vec![]).expect("block");
}

fn head(d: &Driver) -> u64 {
    snapshot(d).l2_head_number().expect("head")
}

#[test]
fn the_l2_head_moves_only_with_more_than_two_thirds_of_the_power() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = driver(dir.path(), 60_000, 3);
    d.produce_block(vec![]).expect("block");
    let mut l2 = L2::new();
    l2.produce_scheduled(&d, 4);
    // One validator (a quarter of the power) cannot move it, nor two (exactly half).
    report(&mut d, &l2, [4, 0, 0, 0]);
    assert_eq!(head(&d), 0);
    report(&mut d, &l2, [4, 4, 0, 0]);
    assert_eq!(head(&d), 0);
    // Three of four: the height that more than 2/3 report at or above.
    report(&mut d, &l2, [4, 3, 2, 0]);
    assert_eq!(head(&d), 2);
    report(&mut d, &l2, [4, 4, 4, 1]);
    assert_eq!(head(&d), 4);
    // A validator reporting a different block at a height does not count for it.
    let mut forked = l2.vote(4, 4);
    l2.produce_scheduled(&d, 5);
    forked.blocks.push(L2Block {
        number: 5,
        hash: vec![0xEE; 32],
        coinbase: l2.blocks[4].coinbase.clone(),
    });
    let head_before = head(&d);
    d.producer_votes.insert(0, forked.clone());
    d.producer_votes.insert(1, forked);
    d.producer_votes.insert(2, l2.vote(4, 5));
    d.producer_votes.insert(3, l2.vote(4, 5));
    d.produce_block(vec![]).expect("block");
    d.produce_block(vec![]).expect("block");
    assert_eq!(head(&d), head_before);
}

#[test]
fn the_schedule_is_fixed_one_epoch_ahead_and_rewards_are_queued() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = driver(dir.path(), 60_000, 3);
    d.produce_block(vec![]).expect("block");
    // Genesis fixes epochs 0 and 1 (L2 heights 1..=10); epoch 2 is not decided.
    assert!(producer_at(&d, 1).is_ok());
    assert!(producer_at(&d, 10).is_ok());
    assert!(matches!(producer_at(&d, 11), Err(QueryError::NotFound(_))));

    let mut l2 = L2::new();
    l2.produce_scheduled(&d, 3);
    // Block 4 comes from a validator that is not scheduled for it.
    let scheduled_4 = index_of(&d, &producer_at(&d, 4).expect("scheduled"));
    let intruder = (scheduled_4 + 1) % 4;
    l2.push(signer(&d, intruder));
    l2.produce_scheduled(&d, 4);
    report(&mut d, &l2, [4, 4, 4, 4]);
    assert_eq!(head(&d), 4);
    assert_eq!(snapshot(&d).current_epoch().expect("epoch").number, 0);
    assert!(snapshot(&d).schedule(2).expect("read").is_none());
    let unscheduled = snapshot(&d).unscheduled_blocks().expect("read");
    assert_eq!(unscheduled.len(), 1);
    assert_eq!(unscheduled[0].block.as_ref().map(|b| b.number), Some(4));
    assert_eq!(
        unscheduled[0].producer,
        hex::encode_upper(d.validators[intruder].consensus_address())
    );

    // Block 5 ends epoch 0: epoch 1 starts and epoch 2's producer is fixed right then.
    l2.produce_scheduled(&d, 5);
    report(&mut d, &l2, [5, 5, 5, 5]);
    let s = snapshot(&d);
    assert_eq!(s.current_epoch().expect("epoch").number, 1);
    let schedule = s.schedule(2).expect("read").expect("epoch 2 decided");
    assert!(schedule.decided_at_height > 0);
    assert!(producer_at(&d, 15).is_ok());
    assert!(producer_at(&d, 16).is_err());

    // Epoch 0's settlement: blocks 1..=5 by their coinbase's validator.
    let settlements = s.pending_settlements().expect("read");
    assert_eq!(settlements.len(), 1);
    assert_eq!(settlements[0].epoch, 0);
    let mut expected = std::collections::BTreeMap::<String, u64>::new();
    for b in &l2.blocks[..5] {
        let idx = (0..4)
            .find(|&i| signer(&d, i) == b.coinbase)
            .expect("known");
        *expected
            .entry(hex::encode_upper(d.validators[idx].consensus_address()))
            .or_default() += 1;
    }
    let got: std::collections::BTreeMap<String, u64> = settlements[0]
        .sequencers
        .iter()
        .map(|s| (s.validator.clone(), s.blocks))
        .collect();
    assert_eq!(got, expected);
    assert_eq!(got.values().sum::<u64>(), 5);
    for entry in &settlements[0].sequencers {
        assert_eq!(entry.signer, signer(&d, index_of(&d, &entry.validator)));
    }

    // Jumping over a whole epoch fixes each skipped schedule too, in order.
    l2.produce_scheduled(&d, 15);
    report(&mut d, &l2, [15, 15, 15, 15]);
    let s = snapshot(&d);
    assert_eq!(s.current_epoch().expect("epoch").number, 3);
    assert!(s.schedule(4).expect("read").is_some());
    assert_eq!(
        s.pending_settlements()
            .expect("read")
            .iter()
            .map(|x| x.epoch)
            .collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
}

fn stall_vote(l2: &L2, d: &Driver, producer: &str) -> ProducerVote {
    let h = head(d);
    let epoch = snapshot(d).current_epoch().expect("epoch").number;
    ProducerVote {
        blocks: l2.vote(h, h).blocks,
        stall: Some(StallReport {
            epoch,
            producer: producer.to_string(),
            since_l2_height: h,
        }),
    }
}

#[test]
fn a_stall_reported_by_more_than_two_thirds_reelects_and_fewer_do_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Driver blocks are one second apart.
    let mut d = driver(dir.path(), 2_000, 3);
    d.produce_block(vec![]).expect("block");
    let mut l2 = L2::new();
    l2.produce_scheduled(&d, 2);
    report(&mut d, &l2, [2, 2, 2, 2]);
    let stalled = producer_at(&d, 3).expect("scheduled");

    // Half the power reports the stall, for many blocks: nothing changes.
    let vote = stall_vote(&l2, &d, &stalled);
    d.producer_votes.insert(0, vote.clone());
    d.producer_votes.insert(1, vote.clone());
    d.producer_votes.insert(2, l2.vote(2, 2));
    d.producer_votes.insert(3, l2.vote(2, 2));
    for _ in 0..6 {
        d.produce_block(vec![]).expect("block");
    }
    assert_eq!(producer_at(&d, 3).expect("scheduled"), stalled);
    assert!(snapshot(&d)
        .faults(&stalled)
        .expect("read")
        .faults
        .is_empty());

    // Three quarters report it: the rest of the epoch moves to the first of the epoch's backup
    // order (drawn with the schedule from its seed).
    d.producer_votes.insert(2, vote.clone());
    d.produce_block(vec![]).expect("block");
    d.produce_block(vec![]).expect("block");
    let s = snapshot(&d);
    let schedule = s.schedule(0).expect("read").expect("epoch 0");
    let validators = s.validators().expect("read");
    assert_eq!(
        schedule.backup_order,
        seqpool_producer::selection::backup_order(
            &validators,
            &schedule.seed.clone().try_into().expect("32 bytes"),
            Some(&stalled)
        )
    );
    let expected = schedule.backup_order[0].clone();
    let resp = pq::producer(&s, &QueryProducerRequest { l2_height: 3 }).expect("query");
    assert_eq!(resp.producer, expected);
    assert!(resp.reelected);
    assert_ne!(resp.producer, stalled);
    // The rest of the epoch, not before the stall: L2 heights 1..=2 keep their producer.
    assert_eq!(producer_at(&d, EPOCH_LENGTH).expect("scheduled"), expected);
    let record = s.faults(&stalled).expect("read");
    assert_eq!(record.faults.len(), 1);
    assert_eq!(record.faults[0].since_l2_height, 2);
    // The same stall report, still in votes, does not re-elect again.
    for _ in 0..3 {
        d.produce_block(vec![]).expect("block");
    }
    assert_eq!(producer_at(&d, 3).expect("scheduled"), expected);
    assert_eq!(snapshot(&d).faults(&stalled).expect("read").faults.len(), 1);

    // The new producer's block is scheduled (not recorded as unscheduled) and moves the head.
    l2.produce_scheduled(&d, 3);
    report(&mut d, &l2, [3, 3, 3, 3]);
    assert_eq!(head(&d), 3);
    assert!(snapshot(&d).unscheduled_blocks().expect("read").is_empty());
}

#[test]
fn a_stall_counts_only_after_the_timeout_of_block_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = driver(dir.path(), 30_000, 3);
    d.produce_block(vec![]).expect("block");
    let mut l2 = L2::new();
    l2.produce_scheduled(&d, 1);
    report(&mut d, &l2, [1, 1, 1, 1]);
    let stalled = producer_at(&d, 2).expect("scheduled");
    let vote = stall_vote(&l2, &d, &stalled);
    for i in 0..4 {
        d.producer_votes.insert(i, vote.clone());
    }
    // 30 s of block time have not passed after a few one-second blocks.
    for _ in 0..5 {
        d.produce_block(vec![]).expect("block");
    }
    assert_eq!(producer_at(&d, 2).expect("scheduled"), stalled);
    for _ in 0..30 {
        d.produce_block(vec![]).expect("block");
    }
    assert_ne!(producer_at(&d, 2).expect("scheduled"), stalled);
}

#[test]
fn max_faults_jail_the_producer_and_selection_skips_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = driver(dir.path(), 1_000, 1);
    d.produce_block(vec![]).expect("block");
    let mut l2 = L2::new();
    l2.produce_scheduled(&d, 1);
    report(&mut d, &l2, [1, 1, 1, 1]);
    let stalled = producer_at(&d, 2).expect("scheduled");
    let vote = stall_vote(&l2, &d, &stalled);
    for i in 0..4 {
        d.producer_votes.insert(i, vote.clone());
    }
    // Jailing removes it from the CometBFT set (a power-0 update, applied by the driver at h + 2).
    let deadline = d.height + 10;
    while !snapshot(&d)
        .validator(&stalled)
        .expect("read")
        .is_some_and(|v| v.jailed)
    {
        assert!(d.height < deadline, "not jailed by height {deadline}");
        d.produce_block(vec![]).expect("block");
    }
    let s = snapshot(&d);
    let seqs = pq::sequencers(&s, &QuerySequencersRequest {}).expect("query");
    let entry = seqs
        .sequencers
        .iter()
        .find(|x| x.validator == stalled)
        .expect("listed");
    // The jail clears its faults, so that it comes back from MsgUnjail with none.
    assert_eq!(
        (entry.status.as_str(), entry.faults_in_window),
        ("jailed", 0)
    );
    assert_eq!(
        seqs.sequencers
            .iter()
            .filter(|x| x.status == "active")
            .count(),
        3
    );
    // Selection from this state never picks it, whatever the seed.
    let validators = s.validators().expect("read");
    for epoch in 0..500u64 {
        let seed = seqpool_producer::selection::seed(epoch, &s.root_hash(), &[]);
        let chosen = seqpool_producer::selection::select(&validators, &seed).expect("eligible");
        assert_ne!(chosen.consensus_address, stalled);
    }
    // The chain goes on with three validators; every later schedule leaves the jailed one out.
    let jailed_idx = index_of(&d, &stalled);
    for target in [5u64, 10, 15, 20, 25] {
        l2.produce_scheduled(&d, target);
        let mut seen = [target; 4];
        seen[jailed_idx] = 0;
        report(&mut d, &l2, seen);
        assert_eq!(head(&d), target);
    }
    assert_eq!(
        d.validators[jailed_idx].power, 0,
        "removed from the CometBFT set"
    );
    let s = snapshot(&d);
    for epoch in 2..=6 {
        let schedule = s.schedule(epoch).expect("read").expect("decided");
        assert!(schedule.assignments.iter().all(|a| a.producer != stalled));
    }
}

#[test]
fn adapter_queries_answer_over_abci_query() {
    use prost::Message;
    use seqpool_proto::epochs::v1::{QueryCurrentEpochRequest, QueryCurrentEpochResponse};
    use seqpool_proto::producer::v1::{QueryProducerResponse, QuerySequencersResponse};
    use tendermint::abci::request;

    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = driver(dir.path(), 60_000, 3);
    d.produce_block(vec![]).expect("block");
    let query = |d: &Driver, path: &str, data: Vec<u8>| {
        seqpool_app::query::abci_query(
            d.nodes[0].app.storage(),
            &request::Query {
                data: data.into(),
                path: path.into(),
                height: 0u32.into(),
                prove: false,
            },
        )
    };
    let resp = query(
        &d,
        "/seqpool.producer.v1.Query/Producer",
        QueryProducerRequest { l2_height: 7 }.encode_to_vec(),
    );
    assert_eq!(resp.code.value(), 0, "{}", resp.log);
    let producer = QueryProducerResponse::decode(resp.value.as_ref()).expect("decode");
    assert_eq!((producer.epoch, producer.signer.len()), (1, 20));
    assert_eq!(producer.producer, producer_at(&d, 7).expect("scheduled"));
    // Not decided yet: a clear not-found, not a guess.
    let resp = query(
        &d,
        "/seqpool.producer.v1.Query/Producer",
        QueryProducerRequest { l2_height: 11 }.encode_to_vec(),
    );
    assert_eq!(resp.code.value(), seqpool_component::codes::NOT_FOUND);
    assert!(resp.log.contains("not decided"), "{}", resp.log);

    let resp = query(
        &d,
        "/seqpool.epochs.v1.Query/CurrentEpoch",
        QueryCurrentEpochRequest {}.encode_to_vec(),
    );
    let epochs = QueryCurrentEpochResponse::decode(resp.value.as_ref()).expect("decode");
    let (current, next) = (epochs.current.expect("current"), epochs.next.expect("next"));
    assert_eq!(
        (
            current.number,
            current.first_l2_height,
            current.last_l2_height
        ),
        (0, 1, 5)
    );
    assert_eq!((next.number, next.first_l2_height), (1, 6));

    let resp = query(
        &d,
        "/seqpool.producer.v1.Query/Sequencers",
        QuerySequencersRequest {}.encode_to_vec(),
    );
    let seqs = QuerySequencersResponse::decode(resp.value.as_ref()).expect("decode");
    assert_eq!(seqs.sequencers.len(), 4);
    assert!(seqs
        .sequencers
        .iter()
        .all(|s| s.status == "active" && s.power == 10 && s.signer.len() == 20));
    // Garbage request bytes get an error, not a panic.
    let resp = query(&d, "/seqpool.producer.v1.Query/Producer", vec![0xFF, 0xFF]);
    assert_ne!(resp.code.value(), 0);
}

/// A tx of `key`'s account carrying `msgs`, at its current sequence.
fn signed_tx(d: &Driver, key: &k256::ecdsa::SigningKey, msgs: Vec<cosmrs::Any>) -> bytes::Bytes {
    let addr = seqpool_client::address_of(key);
    let acc = seqpool_auth::AuthRead::account(&snapshot(d), &addr)
        .expect("read")
        .expect("registered");
    bytes::Bytes::from(seqpool_app::tx::sign_tx(
        key,
        &d.chain_id,
        acc.account_number,
        acc.sequence,
        msgs,
        "",
    ))
}

/// The result code of MsgUnjail for validator `idx`, signed by validator `signer_idx`'s operator.
fn unjail(d: &mut Driver, idx: usize, signer_idx: usize) -> u32 {
    let key = d.validators[signer_idx].operator_key.clone();
    let msg = seqpool_staking::MsgUnjail {
        operator: d.validators[signer_idx].operator(),
        validator: hex::encode_upper(d.validators[idx].consensus_address()),
    };
    let tx = signed_tx(d, &key, vec![seqpool_client::to_any(&msg)]);
    let out = d.produce_block(vec![tx]).expect("block");
    out.tx_results[0].code.value()
}

fn staking_validator(d: &Driver, idx: usize) -> seqpool_staking::Validator {
    snapshot(d)
        .validator(&hex::encode_upper(d.validators[idx].consensus_address()))
        .expect("read")
        .expect("a validator")
}

/// Every block's validator updates name each key at most once.
fn assert_one_update_per_key(out: &seqpool_app::driver::BlockOutcome) {
    let mut keys: Vec<Vec<u8>> = out
        .validator_updates
        .iter()
        .map(|u| u.pub_key.to_bytes())
        .collect();
    let n = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(
        keys.len(),
        n,
        "duplicate validator updates at {}",
        out.height
    );
}

fn jailing_driver(dir: &std::path::Path) -> Driver {
    Driver::new_with_genesis(dir, 4, 2, |g| {
        g.staking.params = Some(seqpool_staking::Params {
            liveness_window: 10,
            min_signed_per_window: 5,
            downtime_jail_blocks: 20,
            slash_double_sign_bps: 500,
        });
    })
    .expect("driver")
}

#[test]
fn downtime_jails_unjail_waits_for_the_cool_down_then_restores_power() {
    use seqpool_component::codes;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = jailing_driver(dir.path());
    d.produce_block(vec![]).expect("block");
    let down = 3;
    d.offline.insert(down);
    let deadline = 20;
    while !staking_validator(&d, down).jailed {
        assert!(
            d.height < deadline,
            "not jailed for downtime by height {deadline}"
        );
        let out = d.produce_block(vec![]).expect("block");
        assert_one_update_per_key(&out);
    }
    let jailed_at = d.height;
    let v = staking_validator(&d, down);
    assert_eq!(v.jail_reason, "downtime");
    assert_eq!(v.jailed_until_height, jailed_at + 20);
    // Out of the CometBFT set two blocks later; the others are not jailed.
    d.produce_block(vec![]).expect("block");
    d.produce_block(vec![]).expect("block");
    assert_eq!(d.validators[down].power, 0);
    assert!((0..3).all(|i| !staking_validator(&d, i).jailed));
    d.offline.clear();

    // Too early: refused with its own code; by someone else's operator: unauthorized; a validator
    // that is not jailed: refused too.
    assert_eq!(unjail(&mut d, down, down), codes::JAIL_COOLDOWN);
    assert_eq!(unjail(&mut d, down, 0), codes::UNAUTHORIZED);
    assert_eq!(unjail(&mut d, 0, 0), codes::VALIDATOR_NOT_JAILED);
    assert!(staking_validator(&d, down).jailed);
    while d.height + 1 < jailed_at + 20 {
        d.produce_block(vec![]).expect("block");
    }
    assert_eq!(unjail(&mut d, down, down), codes::OK);
    let v = staking_validator(&d, down);
    assert!(!v.jailed);
    // Back in the CometBFT set with its power, and eligible for the next schedules.
    let out = d.produce_block(vec![]).expect("block");
    assert_one_update_per_key(&out);
    d.produce_block(vec![]).expect("block");
    assert_eq!(d.validators[down].power, 10);
    let s = snapshot(&d);
    let validators = s.validators().expect("read");
    let eligible = seqpool_producer::selection::eligible(&validators);
    assert!(eligible
        .iter()
        .any(|e| e.consensus_address == v.consensus_address));
    // It votes again and is not jailed again by the blocks it missed before.
    for _ in 0..12 {
        d.produce_block(vec![]).expect("block");
    }
    assert!(!staking_validator(&d, down).jailed);
    assert_eq!(d.validators[down].power, 10);
}

#[test]
fn double_sign_evidence_tombstones_and_requests_slashing_once() {
    use seqpool_component::codes;
    use seqpool_proto::staking::v1::{QuerySlashingRequestsRequest, QuerySlashingRequestsResponse};
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = jailing_driver(dir.path());
    for _ in 0..3 {
        d.produce_block(vec![]).expect("block");
    }
    // A key that never was a validator, and evidence of an unknown kind: ignored.
    let stranger = d.add_standby(seqpool_app::driver::TestValidator {
        name: "stranger".into(),
        consensus_key: seqpool_app::driver::test_key("stranger"),
        operator_key: seqpool_app::driver::test_key("stranger/op"),
        power: 0,
    });
    let mut unknown_kind = d.duplicate_vote(0, 2);
    unknown_kind.kind = tendermint::abci::types::MisbehaviorKind::Unknown;
    d.misbehavior = vec![d.duplicate_vote(stranger, 2), unknown_kind];
    let before = d.height;
    d.produce_block(vec![]).expect("block");
    assert!((0..4).all(|i| !staking_validator(&d, i).jailed));
    assert!(seqpool_staking::jail::slashing_requests(&snapshot(&d))
        .expect("read")
        .is_empty());

    let cheat = 1;
    d.misbehavior = vec![d.duplicate_vote(cheat, before)];
    let out = d.produce_block(vec![]).expect("block");
    assert_one_update_per_key(&out);
    let v = staking_validator(&d, cheat);
    assert!(v.jailed && v.tombstoned);
    assert_eq!(v.jail_reason, "double_sign");
    let requests = seqpool_staking::jail::slashing_requests(&snapshot(&d)).expect("read");
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.validator, v.consensus_address);
    assert_eq!(r.signer, signer(&d, cheat));
    assert_eq!(
        (
            r.reason.as_str(),
            r.offence_height,
            r.decided_at_height,
            r.fraction_bps
        ),
        ("double_sign", before, out.height, 500)
    );
    // The same evidence again (and a light-client attack by the same validator): no second request.
    let mut attack = d.duplicate_vote(cheat, before);
    attack.kind = tendermint::abci::types::MisbehaviorKind::LightClientAttack;
    d.misbehavior = vec![d.duplicate_vote(cheat, before), attack];
    d.produce_block(vec![]).expect("block");
    d.produce_block(vec![]).expect("block");
    assert_eq!(d.validators[cheat].power, 0, "left the CometBFT set");
    assert_eq!(
        seqpool_staking::jail::slashing_requests(&snapshot(&d))
            .expect("read")
            .len(),
        1
    );
    // Never unjailed, whatever the wait.
    for _ in 0..25 {
        d.produce_block(vec![]).expect("block");
    }
    assert_eq!(unjail(&mut d, cheat, cheat), codes::VALIDATOR_TOMBSTONED);
    // The request is served over abci_query for the relayer.
    let resp = seqpool_app::query::abci_query(
        d.nodes[0].app.storage(),
        &tendermint::abci::request::Query {
            data: prost::Message::encode_to_vec(&QuerySlashingRequestsRequest {}).into(),
            path: "/seqpool.staking.v1.Query/SlashingRequests".into(),
            height: 0u32.into(),
            prove: false,
        },
    );
    assert_eq!(resp.code.value(), 0, "{}", resp.log);
    let got: QuerySlashingRequestsResponse =
        prost::Message::decode(resp.value.as_ref()).expect("decode");
    assert_eq!(got.requests, requests);
}

#[test]
fn admin_updates_epoch_producer_jail_and_bridge_params_with_validation() {
    use seqpool_bridge::BridgeRead;
    use seqpool_component::codes;
    use seqpool_producer::ProducerRead;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = driver(dir.path(), 60_000, 3);
    d.produce_block(vec![]).expect("block");
    let admin = d.admin_key.clone();
    let update = |d: &mut Driver, module: &str, json: &str| -> u32 {
        let msg = seqpool_client::update_params_msg(&d.admin_address(), module, json)
            .expect("params json");
        let tx = signed_tx(d, &admin, vec![msg]);
        d.produce_block(vec![tx]).expect("block").tx_results[0]
            .code
            .value()
    };
    // Out of range: refused with invalid_message, nothing changes.
    assert_eq!(
        update(&mut d, "epochs", r#"{"epochLength":"0"}"#),
        codes::INVALID_MESSAGE
    );
    assert_eq!(
        update(
            &mut d,
            "producer",
            r#"{"stallTimeoutMs":"1000","maxFaults":"0","faultWindowEpochs":"1"}"#
        ),
        codes::INVALID_MESSAGE
    );
    assert_eq!(
        update(
            &mut d,
            "staking",
            r#"{"livenessWindow":"10","minSignedPerWindow":"11"}"#
        ),
        codes::INVALID_MESSAGE
    );
    assert_eq!(
        update(&mut d, "bridge", r#"{"maxEventsPerVote":0}"#),
        codes::INVALID_MESSAGE
    );
    assert_eq!(
        snapshot(&d)
            .producer_params()
            .expect("read")
            .stall_timeout_ms,
        60_000
    );

    assert_eq!(
        update(
            &mut d,
            "producer",
            r#"{"stallTimeoutMs":"2500","maxFaults":"2","faultWindowEpochs":"4","stallJailBlocks":"30","slashStallBps":100}"#
        ),
        codes::OK
    );
    let p = snapshot(&d).producer_params().expect("read");
    assert_eq!(
        (p.stall_timeout_ms, p.stall_jail_blocks, p.slash_stall_bps),
        (2_500, 30, 100)
    );
    assert_eq!(
        update(
            &mut d,
            "staking",
            r#"{"livenessWindow":"50","minSignedPerWindow":"25","downtimeJailBlocks":"100","slashDoubleSignBps":1000}"#
        ),
        codes::OK
    );
    let p = snapshot(&d).staking_params().expect("read");
    assert_eq!(
        (p.downtime_jail_blocks, p.slash_double_sign_bps),
        (100, 1_000)
    );
    assert_eq!(
        update(
            &mut d,
            "bridge",
            r#"{"maxEventsPerVote":8,"randomnessBlockInterval":"64"}"#
        ),
        codes::OK
    );
    assert_eq!(
        snapshot(&d)
            .bridge_params()
            .expect("read")
            .randomness_block_interval,
        64
    );
    // Epoch length 5 -> 3 while in epoch 0: epochs 0 and 1 (1..=10) keep theirs, 2 starts at 11.
    assert_eq!(
        update(&mut d, "epochs", r#"{"epochLength":"3"}"#),
        codes::OK
    );
    let p = snapshot(&d).epoch_params().expect("read");
    assert_eq!(seqpool_epochs::epoch_of(&p, 10), 1);
    let e2 = seqpool_epochs::epoch(&p, 2);
    assert_eq!((e2.first_l2_height, e2.last_l2_height), (11, 13));
    // The chain follows: crossing into epoch 1 fixes epoch 2 from height 11, and 14 is epoch 3's.
    let mut l2 = L2::new();
    l2.produce_scheduled(&d, 5);
    report(&mut d, &l2, [5, 5, 5, 5]);
    let schedule = snapshot(&d)
        .schedule(2)
        .expect("read")
        .expect("epoch 2 fixed");
    assert_eq!(schedule.assignments[0].from_l2_height, 11);
    l2.produce_scheduled(&d, 10);
    report(&mut d, &l2, [10, 10, 10, 10]);
    assert!(snapshot(&d).schedule(3).expect("read").is_some());
    assert!(producer_at(&d, 13).is_ok());
    let resp = pq::producer(&snapshot(&d), &QueryProducerRequest { l2_height: 14 }).expect("query");
    assert_eq!(resp.epoch, 3);
}

/// The schedule changes `Watch/WatchSchedule` streams (and the REST long-poll returns): the fixed
/// schedules first, a re-election once it is committed, then the next fixed epoch; nothing twice.
#[test]
fn schedule_updates_report_fixed_epochs_and_reelections_once() {
    use seqpool_producer::query::schedule_updates;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut d = driver(dir.path(), 2_000, 3);
    d.produce_block(vec![]).expect("block");
    let mut seen = std::collections::BTreeMap::new();
    let mut poll = |d: &Driver| -> Vec<(String, u64, usize)> {
        schedule_updates(&snapshot(d), 0, &mut seen)
            .expect("read")
            .into_iter()
            .map(|u| {
                let s = u.schedule.expect("schedule");
                (u.kind, s.epoch, s.assignments.len())
            })
            .collect()
    };
    assert_eq!(
        poll(&d),
        vec![("fixed".into(), 0, 1), ("fixed".into(), 1, 1)]
    );
    assert!(poll(&d).is_empty());
    let mut l2 = L2::new();
    l2.produce_scheduled(&d, 1);
    report(&mut d, &l2, [1, 1, 1, 1]);
    assert!(poll(&d).is_empty());
    let stalled = producer_at(&d, 2).expect("scheduled");
    let vote = stall_vote(&l2, &d, &stalled);
    for i in 0..4 {
        d.producer_votes.insert(i, vote.clone());
    }
    let deadline = d.height + 10;
    while producer_at(&d, 2).expect("scheduled") == stalled {
        assert!(d.height < deadline, "no re-election by height {deadline}");
        d.produce_block(vec![]).expect("block");
    }
    assert_eq!(poll(&d), vec![("reelected".into(), 0, 2)]);
    assert!(poll(&d).is_empty());
    d.producer_votes.clear();
    l2.produce_scheduled(&d, EPOCH_LENGTH);
    report(&mut d, &l2, [EPOCH_LENGTH; 4]);
    assert_eq!(poll(&d), vec![("fixed".into(), 2, 1)]);
}

/// Hardening point 6: the proposer of the block whose app hash the epoch boundary executes on
/// varies its block (here: 0 to 3 admin txs, each a different app hash). The schedule that
/// boundary fixes draws from L1 randomness attested after the draw before it (its commitment
/// captured block 96's value), not from that app hash, so every variant gets the same draw and
/// backup order. Before, the seed mixed in the parent app hash beside the L1 value the proposer
/// already knew: it could try txs until the draw named it.
#[test]
fn a_proposer_varying_its_block_cannot_change_the_draw() {
    use seqpool_bridge::{BridgeVote, L1Randomness};
    let attest = |d: &mut Driver, block_number: u64, byte: u8| {
        for i in 0..4 {
            d.bridge_votes.insert(
                i,
                BridgeVote {
                    randomness: Some(L1Randomness {
                        block_number,
                        prevrandao: vec![byte; 32],
                    }),
                    ..Default::default()
                },
            );
        }
        d.produce_block(vec![]).expect("block");
        d.produce_block(vec![]).expect("block");
    };
    let run = |txs: usize| {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut d = driver(dir.path(), 60_000, 3);
        d.produce_block(vec![]).expect("block");
        attest(&mut d, 64, 7);
        // Epoch 1 starts: epoch 2 is drawn (from block 64's value), epoch 3's draw is committed
        // to the first value attested after block 64.
        let mut l2 = L2::new();
        l2.produce_scheduled(&d, EPOCH_LENGTH + 1);
        report(&mut d, &l2, [EPOCH_LENGTH + 1; 4]);
        let s = snapshot(&d);
        assert!(s.schedule(2).expect("read").is_some());
        assert!(s.schedule(3).expect("read").is_none());
        attest(&mut d, 96, 9);
        // Epoch 2 starts in the block after the one with the variant txs: it executes on the
        // variant's app hash and fixes epoch 3.
        l2.produce_scheduled(&d, 2 * EPOCH_LENGTH + 1);
        let head = snapshot(&d).l2_head_number().expect("head");
        for i in 0..4 {
            d.producer_votes
                .insert(i, l2.vote(head, 2 * EPOCH_LENGTH + 1));
        }
        let admin = d.admin_key.clone();
        let mut block = Vec::new();
        let account =
            seqpool_auth::AuthRead::account(&snapshot(&d), &seqpool_client::address_of(&admin))
                .expect("read")
                .expect("admin account");
        for k in 0..txs {
            let msg = seqpool_client::update_params_msg(
                &d.admin_address(),
                "staking",
                r#"{"livenessWindow":"100","minSignedPerWindow":"50","downtimeJailBlocks":"600","slashDoubleSignBps":500}"#,
            )
            .expect("msg");
            block.push(bytes::Bytes::from(seqpool_app::tx::sign_tx(
                &admin,
                &d.chain_id,
                account.account_number,
                account.sequence + k as u64,
                vec![msg],
                "",
            )));
        }
        let out = d.produce_block(block).expect("the variant block");
        assert!(out.tx_results.iter().all(|r| r.code.is_ok()), "{out:?}");
        let parent = out.app_hash;
        d.produce_block(vec![]).expect("the boundary block");
        let schedule = snapshot(&d)
            .schedule(3)
            .expect("read")
            .expect("epoch 3 fixed at the boundary");
        (parent, schedule)
    };
    let (parent0, schedule0) = run(0);
    for txs in 1..4 {
        let (parent, schedule) = run(txs);
        assert_ne!(parent, parent0, "{txs} txs give another app hash");
        assert_eq!(
            (
                &schedule.seed,
                &schedule.assignments[0].producer,
                &schedule.backup_order
            ),
            (
                &schedule0.seed,
                &schedule0.assignments[0].producer,
                &schedule0.backup_order
            ),
            "{txs} txs changed the draw"
        );
    }
    assert_eq!(schedule0.l1_randomness_block, 96);
    assert_eq!(
        schedule0.seed,
        seqpool_producer::selection::l1_seed(3, 96, &[9; 32]).to_vec()
    );
    assert_eq!(schedule0.backup_order.len(), 3);
}
