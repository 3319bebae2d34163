//! What changes x/producer state: the schedule of an epoch (decided one epoch ahead), each agreed
//! L2 block, epoch boundaries (settlements) and agreed stall reports (re-election, faults, jail).
use std::collections::BTreeMap;

use seqpool_component::{
    BlockContext, Event, StateReadProto, StateWrite, StateWriteProto, StoreError,
};
use seqpool_epochs::{Epoch, EpochRead, L2Block};
use seqpool_staking::{jail, StakingRead, Validator};

use crate::selection;
use crate::state::ProducerRead;
use crate::{
    state_key, Assignment, Fault, RandomnessCommitment, RewardSettlement, Schedule,
    SequencerBlocks, StallReport, UnscheduledBlock,
};
use seqpool_bridge::L1Randomness;

/// Where a schedule's seed comes from.
pub(crate) enum SeedSource<'a> {
    /// An attested L1 RANDAO value (the seed takes nothing else).
    L1(&'a L1Randomness),
    /// No L1 value was ever attested: the parent app hash (the chain id at genesis).
    AppHash(&'a [u8]),
}

pub(crate) fn decide_schedule<S: StateWrite>(
    state: &mut S,
    validators: &[Validator],
    epoch: u64,
    source: SeedSource<'_>,
    chain_height: u64,
) -> Result<Option<String>, StoreError> {
    let (seed, l1_block) = match source {
        SeedSource::L1(r) => (
            selection::l1_seed(epoch, r.block_number, &r.prevrandao),
            r.block_number,
        ),
        SeedSource::AppHash(app_hash) => (selection::seed(epoch, app_hash, &[]), 0),
    };
    let producer = selection::select(validators, &seed).map(|v| v.consensus_address.clone());
    let backup_order = selection::backup_order(validators, &seed, producer.as_deref());
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
            backup_order,
        },
    );
    Ok(producer)
}

/// Commits `epoch`'s draw to the first L1 randomness attested from a block after the latest one
/// attested now (one epoch before the draw). Nobody who builds a block before that value is
/// attested knows it, so no block content can steer the draw.
pub(crate) fn commit_randomness<S: StateWrite>(
    state: &mut S,
    epoch: u64,
    chain_height: u64,
) -> Result<(), StoreError> {
    let mut all = state.randomness_commitments()?;
    if all.commitments.iter().any(|c| c.epoch == epoch) {
        return Ok(());
    }
    let after = seqpool_bridge::BridgeRead::attested_randomness(state)?
        .and_then(|a| a.randomness)
        .map(|r| r.block_number)
        .unwrap_or(0);
    all.commitments.push(RandomnessCommitment {
        epoch,
        after_l1_block: after,
        committed_at_height: chain_height,
        captured: None,
        captured_at_height: 0,
    });
    state.put_proto(state_key::RANDOMNESS_COMMITMENTS.to_vec(), &all);
    Ok(())
}

/// Each block, after the bridge applied its attestations: an open commitment takes the attested
/// L1 randomness once it is from a block after the one the commitment names. Only the first such
/// value counts (a proposer that delays its attestation by leaving extensions out gets the same
/// value one block later).
pub fn capture_randomness<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
) -> Result<Vec<Event>, StoreError> {
    let Some(latest) =
        seqpool_bridge::BridgeRead::attested_randomness(state)?.and_then(|a| a.randomness)
    else {
        return Ok(Vec::new());
    };
    let mut all = state.randomness_commitments()?;
    let mut events = Vec::new();
    for c in all
        .commitments
        .iter_mut()
        .filter(|c| c.captured.is_none() && latest.block_number > c.after_l1_block)
    {
        c.captured = Some(latest.clone());
        c.captured_at_height = ctx.height;
        events.push(
            Event::new("producer_randomness_captured")
                .attr("epoch", c.epoch.to_string())
                .attr("l1_block", latest.block_number.to_string()),
        );
    }
    if !events.is_empty() {
        state.put_proto(state_key::RANDOMNESS_COMMITMENTS.to_vec(), &all);
    }
    Ok(events)
}

/// The seed source of `epoch`'s draw, and its commitment removed: the captured value; if none was
/// attested in time, the latest attested one (known since the commitment, but fixed then, so still
/// not steerable); before any L1 value, the parent app hash.
fn take_seed_source<S: StateWrite>(
    state: &mut S,
    epoch: u64,
) -> Result<Option<L1Randomness>, StoreError> {
    let mut all = state.randomness_commitments()?;
    let captured = all
        .commitments
        .iter()
        .find(|c| c.epoch == epoch)
        .and_then(|c| c.captured.clone());
    let before = all.commitments.len();
    all.commitments.retain(|c| c.epoch != epoch);
    if all.commitments.len() != before {
        if all.commitments.is_empty() {
            state.delete(state_key::RANDOMNESS_COMMITMENTS.to_vec());
        } else {
            state.put_proto(state_key::RANDOMNESS_COMMITMENTS.to_vec(), &all);
        }
    }
    if captured.is_some() {
        return Ok(captured);
    }
    Ok(seqpool_bridge::BridgeRead::attested_randomness(state)?.and_then(|a| a.randomness))
}

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

/// At an epoch boundary: queue the ended epoch's reward settlement, fix the schedule of the epoch
/// after the one that starts (from the L1 randomness its commitment captured), and commit the draw
/// of the epoch after that to the next L1 randomness.
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
        let l1 = take_seed_source(state, next)?;
        let source = match &l1 {
            Some(r) => SeedSource::L1(r),
            None => SeedSource::AppHash(parent_app_hash),
        };
        let producer = decide_schedule(state, &validators, next, source, ctx.height)?;
        events.push(
            Event::new("producer_scheduled")
                .attr("epoch", next.to_string())
                .attr("producer", producer.unwrap_or_default()),
        );
    }
    commit_randomness(state, next.saturating_add(1), ctx.height)?;
    Ok(events)
}

/// Applies an agreed stall report if it is current: the reported producer is the one scheduled for
/// the next L2 height, the agreed head is the reported height, and the head has not moved for
/// `stall_timeout_ms` of block time. Moves the rest of the epoch to the next live validator of the
/// schedule's backup order, records the fault and jails after `max_faults` faults within the
/// window (clearing them).
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
    let timed_out = head.is_none()
        || now_ms.saturating_sub(since_ms)
            >= i64::try_from(params.stall_timeout_ms).unwrap_or(i64::MAX);
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
    // The next live validator of the epoch's backup order (drawn with the schedule); a schedule
    // stored without one falls back to stake order.
    let live = |address: &str| {
        address != stall.producer
            && !stalled.iter().any(|s| s == address)
            && validators
                .iter()
                .any(|v| v.consensus_address == address && v.power > 0 && !v.jailed)
    };
    let next = if schedule.backup_order.is_empty() {
        selection::next_by_stake(&validators, &stall.producer, &stalled)
            .map(|v| v.consensus_address.clone())
    } else {
        schedule.backup_order.iter().find(|a| live(a)).cloned()
    };
    if let Some(next) = next {
        schedule.assignments.push(Assignment {
            from_l2_height: next_height,
            producer: next.clone(),
            replaces: stall.producer.clone(),
            chain_height: ctx.height,
        });
        state.put_proto(state_key::schedule(epoch), &schedule);
        events.push(
            Event::new("producer_reelected")
                .attr("epoch", epoch.to_string())
                .attr("from_l2_height", next_height.to_string())
                .attr("stalled", stall.producer.clone())
                .attr("producer", next),
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
