use seqpool_component::{QueryError, StateRead, StoreError};
use seqpool_epochs::EpochRead;
use seqpool_proto::producer::v1::*;
use seqpool_staking::StakingRead;

use crate::selection;
use crate::state::ProducerRead;

pub fn producer(
    state: &impl StateRead,
    req: &QueryProducerRequest,
) -> Result<QueryProducerResponse, QueryError> {
    let (epoch, assignment) = state.assignment_at(req.l2_height)?.ok_or_else(|| {
        QueryError::NotFound(format!(
            "the producer of L2 height {} is not decided yet (the agreed L2 head is {})",
            req.l2_height,
            state.l2_head_number().unwrap_or(0)
        ))
    })?;
    let signer = state
        .validator(&assignment.producer)?
        .and_then(|v| selection::eth_address(&v.consensus_pub_key))
        .map(|a| a.to_vec())
        .unwrap_or_default();
    Ok(QueryProducerResponse {
        l2_height: req.l2_height,
        epoch,
        reelected: !assignment.replaces.is_empty(),
        producer: assignment.producer,
        signer,
    })
}

pub fn schedule(
    state: &impl StateRead,
    req: &QueryScheduleRequest,
) -> Result<QueryScheduleResponse, QueryError> {
    let schedule = state.schedule(req.epoch)?.ok_or_else(|| {
        QueryError::NotFound(format!(
            "the schedule of epoch {} is not decided yet",
            req.epoch
        ))
    })?;
    Ok(QueryScheduleResponse {
        schedule: Some(schedule),
    })
}

pub fn sequencers(
    state: &impl StateRead,
    _req: &QuerySequencersRequest,
) -> Result<QuerySequencersResponse, QueryError> {
    let sequencers = state
        .validators()?
        .into_iter()
        .map(|v| {
            let faults = state.faults(&v.consensus_address)?.faults.len() as u64;
            let status = if v.jailed {
                "jailed"
            } else if v.power <= 0 {
                "inactive"
            } else {
                "active"
            };
            Ok(Sequencer {
                signer: selection::eth_address(&v.consensus_pub_key)
                    .map(|a| a.to_vec())
                    .unwrap_or_default(),
                validator: v.consensus_address,
                name: v.name,
                operator: v.operator,
                power: v.power,
                jailed: v.jailed,
                status: status.into(),
                faults_in_window: faults,
            })
        })
        .collect::<Result<_, QueryError>>()?;
    Ok(QuerySequencersResponse { sequencers })
}

pub fn settlements(
    state: &impl StateRead,
    _req: &QuerySettlementsRequest,
) -> Result<QuerySettlementsResponse, QueryError> {
    Ok(QuerySettlementsResponse {
        settlements: state.pending_settlements()?,
    })
}

pub fn unscheduled_blocks(
    state: &impl StateRead,
    _req: &QueryUnscheduledBlocksRequest,
) -> Result<QueryUnscheduledBlocksResponse, QueryError> {
    Ok(QueryUnscheduledBlocksResponse {
        blocks: state.unscheduled_blocks()?,
    })
}

pub fn params(
    state: &impl StateRead,
    _req: &QueryParamsRequest,
) -> Result<QueryParamsResponse, QueryError> {
    Ok(QueryParamsResponse {
        params: Some(state.producer_params()?),
    })
}

/// The schedule changes a watcher has not seen: `seen` maps each epoch it was sent to the number
/// of assignments sent, and is updated. Epochs before `from_epoch` or the current epoch are
/// skipped (their schedules no longer change).
pub fn schedule_updates(
    state: &impl StateRead,
    from_epoch: u64,
    seen: &mut std::collections::BTreeMap<u64, usize>,
) -> Result<Vec<ScheduleUpdate>, StoreError> {
    let start = from_epoch.max(state.current_epoch()?.number);
    seen.retain(|epoch, _| *epoch >= start);
    let mut updates = Vec::new();
    for epoch in start.. {
        let Some(schedule) = state.schedule(epoch)? else {
            break;
        };
        let n = schedule.assignments.len();
        let kind = match seen.get(&epoch) {
            None => "fixed",
            Some(&sent) if n > sent => "reelected",
            Some(_) => continue,
        };
        seen.insert(epoch, n);
        updates.push(ScheduleUpdate {
            kind: kind.into(),
            schedule: Some(schedule),
        });
    }
    Ok(updates)
}
