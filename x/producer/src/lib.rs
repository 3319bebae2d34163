//! x/producer: who produces the L2 blocks of each epoch.
//!
//! - Selection: stake-weighted, from a seed fixed one epoch ahead ([`selection`]).
//! - The L2 view: each validator's vote extension carries a [`ProducerVote`] (the L2 blocks it saw
//!   above the agreed head, and a stall report); [`vote::tally`] agrees on blocks and stalls that
//!   more than 2/3 of the voting power report identically, so no single validator moves either.
//! - Re-election: an agreed stall moves the rest of the epoch to the next candidate by stake and
//!   records a fault; `max_faults` within `fault_window_epochs` jail the validator (x/staking flag)
//!   and clear its faults, so that it comes back from MsgUnjail with none.
//! - Records: blocks per sequencer per epoch, blocks by an unscheduled producer, and at each epoch
//!   end a [`RewardSettlement`] queued for signing.

pub mod query;
pub mod selection;
pub mod vote;

use std::collections::BTreeMap;

use seqpool_component::{
    BlockContext, Event, StateRead, StateReadProto, StateWrite, StateWriteProto, StoreError,
    TxError,
};
use seqpool_epochs::{Epoch, EpochRead, L2Block};
pub use seqpool_proto::producer::v1::{
    Assignment, Fault, FaultRecord, GenesisState, Params, ProducerVote, RewardSettlement, Schedule,
    SequencerBlocks, StallReport, UnscheduledBlock,
};
use seqpool_staking::{jail, StakingRead, Validator};

pub const MODULE: &str = "producer";

mod state_key {
    pub const PARAMS: &[u8] = b"producer/params";
    pub fn schedule(epoch: u64) -> Vec<u8> {
        [b"producer/schedule/".as_slice(), &epoch.to_be_bytes()].concat()
    }
    pub fn blocks_prefix(epoch: u64) -> Vec<u8> {
        [b"producer/blocks/".as_slice(), &epoch.to_be_bytes(), b"/"].concat()
    }
    pub fn blocks(epoch: u64, validator: &str) -> Vec<u8> {
        [blocks_prefix(epoch), validator.as_bytes().to_vec()].concat()
    }
    pub const UNSCHEDULED_PREFIX: &[u8] = b"producer/unscheduled/";
    pub fn unscheduled(l2_height: u64) -> Vec<u8> {
        [UNSCHEDULED_PREFIX, &l2_height.to_be_bytes()].concat()
    }
    pub fn faults(validator: &str) -> Vec<u8> {
        [b"producer/faults/".as_slice(), validator.as_bytes()].concat()
    }
    pub const SETTLEMENT_PREFIX: &[u8] = b"producer/settlement/";
    pub fn settlement(epoch: u64) -> Vec<u8> {
        [SETTLEMENT_PREFIX, &epoch.to_be_bytes()].concat()
    }
}

pub fn default_params() -> Params {
    Params {
        stall_timeout_ms: 4_000,
        max_faults: 3,
        fault_window_epochs: 10,
        stall_jail_blocks: 600,
        slash_stall_bps: 0,
    }
}

pub fn validate_params(p: &Params) -> Result<(), TxError> {
    if p.stall_timeout_ms == 0 || p.max_faults == 0 || p.fault_window_epochs == 0 {
        return Err(TxError::invalid_message(format!(
            "producer params must be positive: stall_timeout_ms {}, max_faults {}, fault_window_epochs {}",
            p.stall_timeout_ms, p.max_faults, p.fault_window_epochs
        )));
    }
    if p.slash_stall_bps > seqpool_staking::params::BPS_WHOLE || p.stall_jail_blocks > 10_000_000 {
        return Err(TxError::invalid_message(format!(
            "producer.slash_stall_bps must be within [0, 10000] and stall_jail_blocks at most \
             10000000, got {} and {}",
            p.slash_stall_bps, p.stall_jail_blocks
        )));
    }
    Ok(())
}

/// Stores validated params (MsgUpdateParams; they apply from the next block: a stall report is
/// judged by the timeout in force when it is applied).
pub fn put_params<S: StateWrite>(state: &mut S, p: &Params) {
    state.put_proto(state_key::PARAMS.to_vec(), p);
}

/// Stores the params and fixes the schedules of epochs 0 and 1 from a genesis seed (the chain id):
/// predictable, but only until the first epoch boundary, which draws from an app hash.
pub fn init_genesis<S: StateWrite>(
    state: &mut S,
    genesis: &GenesisState,
    chain_id: &str,
) -> Result<(), TxError> {
    let p = genesis.params.unwrap_or_else(default_params);
    validate_params(&p)?;
    put_params(state, &p);
    let validators = state.validators()?;
    for epoch in 0..2 {
        decide_schedule(state, &validators, epoch, chain_id.as_bytes(), 0)?;
    }
    Ok(())
}

fn decide_schedule<S: StateWrite>(
    state: &mut S,
    validators: &[Validator],
    epoch: u64,
    app_hash: &[u8],
    chain_height: u64,
) -> Result<Option<String>, StoreError> {
    // The latest L1 RANDAO value attested through the bridge: unknown to anyone until its L1 block
    // exists, and no proposer can choose it. Before the first one, the app hash alone.
    let l1 = seqpool_bridge::BridgeRead::attested_randomness(state)?.and_then(|a| a.randomness);
    let (l1_block, l1_bytes) = match &l1 {
        Some(r) => (
            r.block_number,
            [&r.block_number.to_be_bytes()[..], &r.prevrandao[..]].concat(),
        ),
        None => (0, Vec::new()),
    };
    let seed = selection::seed(epoch, app_hash, &l1_bytes);
    let producer = selection::select(validators, &seed).map(|v| v.consensus_address.clone());
    let first = seqpool_epochs::epoch(&state.epoch_params()?, epoch).first_l2_height;
    state.put_proto(
        state_key::schedule(epoch),
        &Schedule {
            epoch,
            seed: seed.to_vec(),
            decided_at_height: chain_height,
            l1_randomness_block: l1_block,
            assignments: producer
                .iter()
                .map(|p| Assignment {
                    from_l2_height: first,
                    producer: p.clone(),
                    replaces: String::new(),
                    chain_height,
                })
                .collect(),
        },
    );
    Ok(producer)
}

pub trait ProducerRead: StateRead {
    fn producer_params(&self) -> Result<Params, StoreError> {
        Ok(self
            .get_proto(state_key::PARAMS)?
            .unwrap_or_else(default_params))
    }

    fn schedule(&self, epoch: u64) -> Result<Option<Schedule>, StoreError> {
        self.get_proto(&state_key::schedule(epoch))
    }

    /// The assignment in force at `l2_height`: `None` if its epoch is not decided yet or nobody
    /// was eligible.
    fn assignment_at(&self, l2_height: u64) -> Result<Option<(u64, Assignment)>, StoreError> {
        let epoch = seqpool_epochs::epoch_of(&self.epoch_params()?, l2_height);
        Ok(self.schedule(epoch)?.and_then(|s| {
            s.assignments
                .into_iter()
                .rev()
                .find(|a| a.from_l2_height <= l2_height.max(1))
                .map(|a| (epoch, a))
        }))
    }

    fn blocks_in_epoch(&self, epoch: u64) -> Result<Vec<(String, u64)>, StoreError> {
        let prefix = state_key::blocks_prefix(epoch);
        self.prefix_raw(&prefix)?
            .into_iter()
            .map(|(k, v)| {
                let name = String::from_utf8_lossy(&k[prefix.len()..]).into_owned();
                let n = <[u8; 8]>::try_from(v.as_slice())
                    .map(u64::from_be_bytes)
                    .map_err(|_| StoreError::Corrupt {
                        key: String::from_utf8_lossy(&k).into_owned(),
                        reason: "expected 8 bytes".into(),
                    })?;
                Ok((name, n))
            })
            .collect()
    }

    fn faults(&self, validator: &str) -> Result<FaultRecord, StoreError> {
        Ok(self
            .get_proto(&state_key::faults(validator))?
            .unwrap_or_else(|| FaultRecord {
                validator: validator.to_string(),
                faults: Vec::new(),
            }))
    }

    fn unscheduled_blocks(&self) -> Result<Vec<UnscheduledBlock>, StoreError> {
        Ok(self
            .prefix_proto(state_key::UNSCHEDULED_PREFIX)?
            .into_iter()
            .map(|(_, b)| b)
            .collect())
    }

    /// Settlements queued for signing, oldest epoch first.
    fn pending_settlements(&self) -> Result<Vec<RewardSettlement>, StoreError> {
        Ok(self
            .prefix_proto(state_key::SETTLEMENT_PREFIX)?
            .into_iter()
            .map(|(_, s)| s)
            .collect())
    }
}
impl<T: StateRead + ?Sized> ProducerRead for T {}

/// Removes a queued settlement once x/mpc has turned it into a signing request.
pub fn remove_settlement<S: StateWrite>(state: &mut S, epoch: u64) {
    state.delete(state_key::settlement(epoch));
}

/// Validators by their Ethereum signer address (the L2 coinbase); built once per chain block,
/// since deriving an address decompresses a key.
pub fn validators_by_signer(validators: Vec<Validator>) -> BTreeMap<[u8; 20], Validator> {
    validators
        .into_iter()
        .filter_map(|v| selection::eth_address(&v.consensus_pub_key).map(|a| (a, v)))
        .collect()
}

/// Records an agreed L2 block (call before it becomes the head): counts it for the validator whose
/// signer is its coinbase, and records it when that is not the scheduled producer.
pub fn record_block<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    block: &L2Block,
    by_signer: &BTreeMap<[u8; 20], Validator>,
) -> Result<Vec<Event>, StoreError> {
    let producer = <[u8; 20]>::try_from(block.coinbase.as_slice())
        .ok()
        .and_then(|c| by_signer.get(&c));
    let epoch = seqpool_epochs::epoch_of(&state.epoch_params()?, block.number);
    let scheduled = state
        .assignment_at(block.number)?
        .map(|(_, a)| a.producer)
        .unwrap_or_default();
    let mut events = Vec::new();
    if let Some(v) = producer {
        let key = state_key::blocks(epoch, &v.consensus_address);
        let n = state.get_u64(&key)?.unwrap_or(0);
        state.put_u64(key, n + 1);
    }
    let producer_address = producer
        .map(|v| v.consensus_address.clone())
        .unwrap_or_default();
    if producer_address.is_empty() || producer_address != scheduled {
        events.push(
            Event::new("unscheduled_l2_block")
                .attr("l2_height", block.number.to_string())
                .attr("coinbase", hex::encode(&block.coinbase))
                .attr("scheduled", scheduled.clone()),
        );
        state.put_proto(
            state_key::unscheduled(block.number),
            &UnscheduledBlock {
                block: Some(block.clone()),
                scheduled,
                producer: producer_address,
                chain_height: ctx.height,
            },
        );
    }
    Ok(events)
}

/// At an epoch boundary: queue the ended epoch's reward settlement and fix the schedule of the
/// epoch after the one that starts, from the app hash the block executes on.
pub fn on_epoch_boundary<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    ended: &Epoch,
    started: &Epoch,
    parent_app_hash: &[u8],
) -> Result<Vec<Event>, StoreError> {
    let validators = state.validators()?;
    let mut sequencers: Vec<SequencerBlocks> = state
        .blocks_in_epoch(ended.number)?
        .into_iter()
        .map(|(validator, blocks)| SequencerBlocks {
            signer: validators
                .iter()
                .find(|v| v.consensus_address == validator)
                .and_then(|v| selection::eth_address(&v.consensus_pub_key))
                .map(|a| a.to_vec())
                .unwrap_or_default(),
            validator,
            blocks,
        })
        .collect();
    sequencers.sort_by(|a, b| a.validator.cmp(&b.validator));
    state.put_proto(
        state_key::settlement(ended.number),
        &RewardSettlement {
            epoch: ended.number,
            sequencers,
            queued_at_height: ctx.height,
        },
    );
    let next = started.number.saturating_add(1);
    let mut events =
        vec![Event::new("reward_settlement_queued").attr("epoch", ended.number.to_string())];
    if state.schedule(next)?.is_none() {
        let producer = decide_schedule(state, &validators, next, parent_app_hash, ctx.height)?;
        events.push(
            Event::new("producer_scheduled")
                .attr("epoch", next.to_string())
                .attr("producer", producer.unwrap_or_default()),
        );
    }
    Ok(events)
}

/// Applies an agreed stall report if it is current: the reported producer is the one scheduled for
/// the next L2 height, the agreed head is the reported height, and the head has not moved for
/// `stall_timeout_ms` of block time. Moves the rest of the epoch to the next candidate by stake,
/// records the fault and jails after `max_faults` faults within the window (clearing them).
pub fn apply_stall<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    stall: &StallReport,
) -> Result<Vec<Event>, StoreError> {
    let params = state.producer_params()?;
    let head = state.l2_head()?;
    let head_number = state.l2_head_number()?;
    let since_ms = head.as_ref().map(|h| h.agreed_at_time_ms).unwrap_or(0);
    let now_ms = (ctx.time_unix_nanos / 1_000_000) as i64;
    let next_height = head_number.saturating_add(1);
    let Some((epoch, current)) = state.assignment_at(next_height)? else {
        return Ok(Vec::new());
    };
    let timed_out =
        head.is_none() || now_ms.saturating_sub(since_ms) >= params.stall_timeout_ms as i64;
    if stall.since_l2_height != head_number
        || stall.epoch != epoch
        || stall.producer != current.producer
        || !timed_out
    {
        return Ok(Vec::new());
    }
    let mut schedule = state.schedule(epoch)?.unwrap_or_default();
    let validators = state.validators()?;
    // Producers that already stalled this epoch are not chosen again in it.
    let stalled: Vec<String> = schedule
        .assignments
        .iter()
        .filter(|a| !a.replaces.is_empty())
        .map(|a| a.replaces.clone())
        .collect();
    let mut events = Vec::new();
    if let Some(next) = selection::next_by_stake(&validators, &stall.producer, &stalled) {
        schedule.assignments.push(Assignment {
            from_l2_height: next_height,
            producer: next.consensus_address.clone(),
            replaces: stall.producer.clone(),
            chain_height: ctx.height,
        });
        state.put_proto(state_key::schedule(epoch), &schedule);
        events.push(
            Event::new("producer_reelected")
                .attr("epoch", epoch.to_string())
                .attr("from_l2_height", next_height.to_string())
                .attr("stalled", stall.producer.clone())
                .attr("producer", next.consensus_address.clone()),
        );
    }
    let mut record = state.faults(&stall.producer)?;
    record.faults.push(Fault {
        epoch,
        since_l2_height: head_number,
        chain_height: ctx.height,
    });
    let window_start = epoch.saturating_sub(params.fault_window_epochs.saturating_sub(1));
    record.faults.retain(|f| f.epoch >= window_start);
    let faults = record.faults.len() as u64;
    events.push(
        Event::new("producer_fault")
            .attr("validator", stall.producer.clone())
            .attr("faults_in_window", faults.to_string()),
    );
    if faults < params.max_faults {
        state.put_proto(state_key::faults(&stall.producer), &record);
    } else {
        // The count starts again at the jail (as x/mpc's share faults and x/staking's liveness
        // window do): otherwise, after MsgUnjail, the first new stall would jail it again at once.
        state.delete(state_key::faults(&stall.producer));
        if let Some(v) = state.validator(&stall.producer)?.filter(|v| !v.jailed) {
            if params.slash_stall_bps > 0 {
                let request = jail::request_slashing(
                    state,
                    &v,
                    jail::REASON_PRODUCER_STALLS,
                    ctx.height,
                    ctx.height,
                    params.slash_stall_bps,
                )?;
                events.push(jail::slashing_requested_event(&request));
            }
            let until = ctx.height.saturating_add(params.stall_jail_blocks);
            events.push(jail::jail(state, v, jail::REASON_PRODUCER_STALLS, until)?);
        }
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;
    use seqpool_epochs::EpochHooks;
    use seqpool_staking::StakingWrite;
    use seqpool_store::{StateDelta, Storage};

    type TestState = StateDelta<seqpool_store::Snapshot>;

    struct NoHooks;
    impl<S: StateWrite> EpochHooks<S> for NoHooks {
        fn epoch_boundary(
            &mut self,
            _: &mut S,
            _: &BlockContext,
            _: &Epoch,
            _: &Epoch,
        ) -> Result<(), StoreError> {
            Ok(())
        }
    }

    fn ctx(height: u64, time_ms: i128) -> BlockContext {
        BlockContext {
            chain_id: "t".into(),
            height,
            time_unix_nanos: time_ms * 1_000_000,
        }
    }

    /// Agrees L2 blocks `from..=to` at block time `time_ms`.
    fn agree_blocks(state: &mut TestState, from: u64, to: u64, time_ms: i128) {
        for n in from..=to {
            let block = L2Block {
                number: n,
                hash: vec![0; 32],
                coinbase: vec![0; 20],
            };
            seqpool_epochs::advance_head(state, &ctx(3, time_ms), block, &mut NoHooks)
                .expect("head");
        }
    }

    /// Schedules all of `epoch` (L2 heights from `from`) to `producer`.
    fn schedule_to(state: &mut TestState, epoch: u64, from: u64, producer: &str) {
        let mut schedule = state.schedule(epoch).expect("read").unwrap_or(Schedule {
            epoch,
            ..Default::default()
        });
        schedule.assignments = vec![Assignment {
            from_l2_height: from,
            producer: producer.to_string(),
            replaces: String::new(),
            chain_height: 0,
        }];
        state.put_proto(state_key::schedule(epoch), &schedule);
    }

    /// Stalls the same producer in epoch 0 and again in epoch 1; returns whether it ended jailed
    /// and its fault count.
    fn two_stalls(fault_window_epochs: u64) -> (bool, usize) {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Storage::open(dir.path()).expect("open");
        let (state, stalled) = two_stalls_state(&storage, fault_window_epochs);
        let v = state.validator(&stalled).expect("read").expect("x");
        (v.jailed, state.faults(&stalled).expect("read").faults.len())
    }

    /// The state after [`two_stalls`] (epoch 1 is over at L2 height 5, block time 20 s), and the
    /// stalled producer.
    fn two_stalls_state(storage: &Storage, fault_window_epochs: u64) -> (TestState, String) {
        let mut state = StateDelta::new(storage.latest_snapshot());
        seqpool_epochs::init_genesis(
            &mut state,
            &seqpool_epochs::GenesisState {
                params: Some(seqpool_epochs::Params {
                    epoch_length: 5,
                    ..Default::default()
                }),
            },
        )
        .expect("epochs");
        for i in 0..4 {
            state.put_validator(&Validator {
                consensus_address: format!("{i:040X}"),
                operator: format!("operator{i}"),
                power: 10,
                ..Default::default()
            });
        }
        let params = Params {
            stall_timeout_ms: 1_000,
            max_faults: 2,
            fault_window_epochs,
            stall_jail_blocks: 5,
            slash_stall_bps: 100,
        };
        init_genesis(
            &mut state,
            &GenesisState {
                params: Some(params),
            },
            "t",
        )
        .expect("genesis");
        let (_, first) = state.assignment_at(1).expect("read").expect("scheduled");
        let stalled = first.producer;
        let report = |epoch, since| StallReport {
            epoch,
            producer: stalled.clone(),
            since_l2_height: since,
        };
        apply_stall(&mut state, &ctx(2, 0), &report(0, 0)).expect("stall");
        assert_ne!(
            state.assignment_at(1).expect("read").expect("x").1.producer,
            stalled
        );
        agree_blocks(&mut state, 1, 5, 10_000);
        // Epoch 1 scheduled to the same producer, which stalls again.
        schedule_to(&mut state, 1, 6, &stalled);
        // Before the timeout of block time, the report is not current yet.
        apply_stall(&mut state, &ctx(4, 10_500), &report(1, 5)).expect("stall");
        assert_eq!(state.faults(&stalled).expect("read").faults.len(), 1);
        // A stale report (wrong height) never counts.
        apply_stall(&mut state, &ctx(5, 20_000), &report(1, 4)).expect("stall");
        assert_eq!(state.faults(&stalled).expect("read").faults.len(), 1);
        apply_stall(&mut state, &ctx(6, 20_000), &report(1, 5)).expect("stall");
        let v = state.validator(&stalled).expect("read").expect("x");
        let requests = jail::slashing_requests(&state).expect("read");
        if v.jailed {
            assert_eq!(v.jailed_until_height, 6 + 5);
            assert_eq!(v.jail_reason, jail::REASON_PRODUCER_STALLS);
            assert_eq!(requests.len(), 1);
            assert_eq!(requests[0].validator, stalled);
            assert_eq!(requests[0].reason, jail::REASON_PRODUCER_STALLS);
            assert_eq!(requests[0].fraction_bps, 100);
        } else {
            assert!(requests.is_empty());
        }
        (state, stalled)
    }

    #[test]
    fn max_faults_within_the_window_jail() {
        // Jailed, and its faults are cleared with the jail.
        assert_eq!(two_stalls(10), (true, 0));
        // A window of one epoch forgets the epoch-0 fault.
        assert_eq!(two_stalls(1), (false, 1));
    }

    /// After MsgUnjail a producer starts with no faults: one new stall (of `max_faults` 2) within
    /// the window of the old ones does not jail it again.
    #[test]
    fn an_unjailed_producer_starts_without_faults() {
        let dir = tempfile::tempdir().expect("tempdir");
        let storage = Storage::open(dir.path()).expect("open");
        let (mut state, stalled) = two_stalls_state(&storage, 10);
        let v = state.validator(&stalled).expect("read").expect("x");
        assert!(v.jailed);
        let unjail = seqpool_staking::MsgUnjail {
            validator: stalled.clone(),
            operator: v.operator.clone(),
        };
        let msg_ctx = seqpool_component::MsgContext {
            block: ctx(v.jailed_until_height, 21_000),
            signer: v.operator.clone(),
        };
        jail::unjail(&mut state, &msg_ctx, &unjail).expect("unjail after the cool-down");

        // Epoch 2 (L2 heights 11..=15) is its again, and it stalls once.
        agree_blocks(&mut state, 6, 10, 22_000);
        schedule_to(&mut state, 2, 11, &stalled);
        let stall = StallReport {
            epoch: 2,
            producer: stalled.clone(),
            since_l2_height: 10,
        };
        let events = apply_stall(&mut state, &ctx(20, 30_000), &stall).expect("stall");
        assert!(events.iter().any(|e| e.kind == "producer_reelected"));
        let v = state.validator(&stalled).expect("read").expect("x");
        assert!(
            !v.jailed,
            "jailed again by its first stall after the unjail"
        );
        assert_eq!(state.faults(&stalled).expect("read").faults.len(), 1);
    }
}
