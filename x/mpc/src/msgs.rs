//! x/mpc messages owned by the signing path: MsgSubmitBatch.
use seqpool_component::{codes, Event, MsgContext, StateWrite, TxError};
use seqpool_staking::StakingRead;

use crate::requests::{self, next_batch};
use crate::state::MpcRead;
use crate::{MsgRequestGovernanceAction, MsgSubmitBatch, RequestStatus};

/// The operator's validator, if it is active (power > 0, not jailed).
fn active_validator_of<S: StateWrite>(
    state: &S,
    operator: &str,
) -> Result<seqpool_staking::Validator, TxError> {
    state
        .validators()?
        .into_iter()
        .find(|v| v.operator == operator && v.power > 0 && !v.jailed)
        .ok_or_else(|| {
            TxError::new(
                codes::NOT_ACTIVE_VALIDATOR,
                format!("{operator} is not the operator of an active validator"),
            )
        })
}

/// MsgSubmitBatch: the next L2 batch, proposed by an active validator's operator (its sidecar).
/// The batch must continue the chain's expected index and L2 range; every validator re-derives
/// the header from its own L2 view before signing. A FAILED batch request may be submitted again
/// with the same index and range.
pub fn submit_batch<S: StateWrite>(
    state: &mut S,
    ctx: &MsgContext,
    msg: &MsgSubmitBatch,
) -> Result<Vec<Event>, TxError> {
    if ctx.signer != msg.operator {
        return Err(TxError::unauthorized(
            "MsgSubmitBatch must be signed by its operator",
        ));
    }
    active_validator_of(state, &msg.operator)?;
    let header = msg
        .batch
        .as_ref()
        .ok_or_else(|| TxError::new(codes::INVALID_BATCH, "MsgSubmitBatch has no batch"))?;
    if header.l2_blocks_root.len() != 32 || header.l2_state_root.len() != 32 {
        return Err(TxError::new(
            codes::INVALID_BATCH,
            "l2_blocks_root and l2_state_root must be 32 bytes each",
        ));
    }
    let params = state.mpc_params()?;
    if header.l2_end_block < header.l2_start_block
        || (header.l2_end_block - header.l2_start_block).saturating_add(1) > params.max_batch_blocks
    {
        return Err(TxError::new(
            codes::INVALID_BATCH,
            format!(
                "L2 range {}..={} is empty, inverted or longer than {} blocks",
                header.l2_start_block, header.l2_end_block, params.max_batch_blocks
            ),
        ));
    }
    let (next_index, next_l2) = next_batch(state)?;
    let resubmits_failed = header.batch_index < next_index
        && requests::batch_request(state, header.batch_index)?.is_some_and(|r| {
            r.status() == RequestStatus::Failed
                && matches!(&r.body, Some(seqpool_proto::mpc::v1::signing_request::Body::Batch(b))
                    if b.l2_start_block == header.l2_start_block
                        && b.l2_end_block == header.l2_end_block)
        });
    if !resubmits_failed && (header.batch_index != next_index || header.l2_start_block != next_l2) {
        return Err(TxError::new(
            codes::BATCH_OUT_OF_ORDER,
            format!(
                "expected batch {next_index} starting at L2 block {next_l2}, got batch {} starting at {}",
                header.batch_index, header.l2_start_block
            ),
        ));
    }
    let (request, event) = requests::create_batch(state, &ctx.block, header, &msg.operator)?;
    Ok(vec![event.attr("batch_index", request.sequence.to_string())])
}

/// Most calldata one governance action may carry.
pub const MAX_ACTION_DATA: usize = 16 * 1024;

/// MsgRequestGovernanceAction (the caller checked the authority and the allow-list): a
/// GOVERNANCE_ACTION request for Governance.executeSigned(target, data), recording the passed
/// proposal that asked for it, if one did.
pub fn request_governance_action<S: StateWrite>(
    state: &mut S,
    ctx: &MsgContext,
    msg: &MsgRequestGovernanceAction,
) -> Result<Vec<Event>, TxError> {
    let target: [u8; 20] = msg.target.as_slice().try_into().map_err(|_| {
        TxError::invalid_message(format!(
            "target has {} bytes, an L1 address has 20",
            msg.target.len()
        ))
    })?;
    if msg.data.len() < 4 || msg.data.len() > MAX_ACTION_DATA {
        return Err(TxError::invalid_message(format!(
            "data must be an ABI-encoded call of 4 to {MAX_ACTION_DATA} bytes, got {}",
            msg.data.len()
        )));
    }
    let (request, event) = requests::create_governance_action(
        state,
        &ctx.block,
        target,
        &msg.data,
        &msg.authority,
        ctx.proposal,
    )?;
    Ok(vec![
        event.attr("action_nonce", request.sequence.to_string())
    ])
}
