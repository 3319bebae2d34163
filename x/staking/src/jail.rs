//! Jailing, unjailing and slashing requests.
//!
//! A jailed validator keeps its stake and record but has no CometBFT power (the end-of-block
//! `l1::validator_updates` leaves it out, one update per validator per block whatever
//! jailed it) and is not selected as producer. Reasons and their way back:
//!
//! | reason            | set by                                   | way back                                   |
//! |-------------------|------------------------------------------|--------------------------------------------|
//! | `downtime`        | liveness window ([`crate::liveness`])    | `MsgUnjail` after `downtime_jail_blocks`   |
//! | `producer_stalls` | x/producer (`max_faults` in the window)  | `MsgUnjail` after the producer's cool-down |
//! | `double_sign`     | CometBFT evidence in FinalizeBlock       | never (tombstoned); a new L1 lock and key  |
//! | `mpc_faults`      | x/mpc (invalid signature shares)         | `MsgUnjail` after x/mpc's cool-down        |
//!
//! Slashing is decided here but executed on L1: a [`SlashingRequest`] is stored for a later step
//! to sign with the threshold key and relay to the LockingPool.
use seqpool_component::{
    codes, Event, MsgContext, StateRead, StateReadProto, StateWrite, StateWriteProto, StoreError,
    TxError,
};
use seqpool_proto::staking::v1::{MsgUnjail, SlashingRequest};

use crate::params::BPS_WHOLE;
use crate::{state_key, StakingRead, StakingWrite, Validator};

pub const REASON_DOWNTIME: &str = "downtime";
pub const REASON_PRODUCER_STALLS: &str = "producer_stalls";
pub const REASON_DOUBLE_SIGN: &str = "double_sign";
/// Invalid FROST signature shares (x/mpc blames them; jails after its `max_share_faults`).
pub const REASON_MPC_FAULTS: &str = "mpc_faults";

/// Jails `validator` until chain height `until_height` (MsgUnjail is accepted from then on).
/// Jailing an already jailed validator only extends its cool-down. Returns the event to emit.
pub fn jail<S: StateWrite>(
    state: &mut S,
    mut v: Validator,
    reason: &str,
    until_height: u64,
) -> Result<Event, StoreError> {
    v.jailed = true;
    v.jailed_until_height = v.jailed_until_height.max(until_height);
    v.jail_reason = reason.to_string();
    reset_liveness_window(state, &v.consensus_address)?;
    state.put_validator(&v);
    Ok(Event::new("validator_jailed")
        .attr("validator", v.consensus_address.clone())
        .attr("reason", reason)
        .attr("until_height", v.jailed_until_height.to_string()))
}

/// A validator starts a fresh liveness window when jailed and when unjailed, so that blocks missed
/// before cannot jail it again at once.
fn reset_liveness_window<S: StateWrite>(state: &mut S, address: &str) -> Result<(), StoreError> {
    let mut live = state.liveness(address)?;
    live.signed_in_window = 0;
    live.missed_in_window = 0;
    state.put_liveness(&live);
    state.delete(state_key::missed_bitmap(address));
    Ok(())
}

/// MsgUnjail: the validator's operator frees it once the cool-down has passed.
pub fn unjail<S: StateWrite>(
    state: &mut S,
    ctx: &MsgContext,
    msg: &MsgUnjail,
) -> Result<Vec<Event>, TxError> {
    let mut v = state.validator(&msg.validator)?.ok_or_else(|| {
        TxError::new(
            codes::NOT_FOUND,
            format!("{:?} is not a validator", msg.validator),
        )
    })?;
    if v.operator != msg.operator || ctx.signer != msg.operator {
        return Err(TxError::unauthorized(format!(
            "validator {} is operated by {}, not {}",
            v.consensus_address, v.operator, ctx.signer
        )));
    }
    if v.tombstoned {
        return Err(TxError::new(
            codes::VALIDATOR_TOMBSTONED,
            format!(
                "validator {} was jailed for double signing and cannot be unjailed",
                v.consensus_address
            ),
        ));
    }
    if !v.jailed {
        return Err(TxError::new(
            codes::VALIDATOR_NOT_JAILED,
            format!("validator {} is not jailed", v.consensus_address),
        ));
    }
    if ctx.block.height < v.jailed_until_height {
        return Err(TxError::new(
            codes::JAIL_COOLDOWN,
            format!(
                "validator {} is jailed ({}) until height {}; this is height {}",
                v.consensus_address, v.jail_reason, v.jailed_until_height, ctx.block.height
            ),
        ));
    }
    v.jailed = false;
    reset_liveness_window(state, &v.consensus_address)?;
    state.put_validator(&v);
    Ok(vec![Event::new("validator_unjailed")
        .attr("validator", v.consensus_address.clone())
        .attr("operator", v.operator.clone())])
}

/// `stake * bps / 10000` of a decimal wei amount, without overflow; `None` if `stake` is not a
/// decimal below 2^128.
pub fn slash_amount(stake: &str, bps: u32) -> Option<String> {
    let stake: u128 = stake.parse().ok()?;
    let whole = u128::from(BPS_WHOLE);
    let bps = u128::from(bps.min(BPS_WHOLE));
    Some((stake / whole * bps + stake % whole * bps / whole).to_string())
}

/// Stores a slashing request for `v` and returns it.
pub fn request_slashing<S: StateWrite>(
    state: &mut S,
    v: &Validator,
    reason: &str,
    offence_height: u64,
    decided_at_height: u64,
    fraction_bps: u32,
) -> Result<SlashingRequest, StoreError> {
    let id = state.get_u64(state_key::slashing_next_id())?.unwrap_or(1);
    let stake = if v.stake.is_empty() {
        "0".to_string()
    } else {
        v.stake.clone()
    };
    let request = SlashingRequest {
        id,
        validator: v.consensus_address.clone(),
        signer: crate::keys::eth_address(&v.consensus_pub_key)
            .map(|a| a.to_vec())
            .unwrap_or_default(),
        sequencer_id: v.sequencer_id,
        reason: reason.to_string(),
        offence_height,
        decided_at_height,
        fraction_bps,
        amount: slash_amount(&stake, fraction_bps).unwrap_or_else(|| "0".into()),
        stake,
    };
    state.put_proto(state_key::slashing_request(id), &request);
    state.put_u64(state_key::slashing_next_id().to_vec(), id + 1);
    Ok(request)
}

pub fn slashing_requests<S: StateRead>(state: &S) -> Result<Vec<SlashingRequest>, StoreError> {
    Ok(state
        .prefix_proto(state_key::slashing_requests_prefix())?
        .into_iter()
        .map(|(_, r)| r)
        .collect())
}

/// The event announcing a stored request.
pub fn slashing_requested_event(r: &SlashingRequest) -> Event {
    Event::new("slashing_requested")
        .attr("id", r.id.to_string())
        .attr("validator", r.validator.clone())
        .attr("reason", r.reason.clone())
        .attr("amount", r.amount.clone())
}

/// Double-sign evidence (DuplicateVote or LightClientAttack) against `address` at
/// `evidence_height`, seen in the block at `height`. Evidence for an address that was not in the
/// validator set at that height, or for a validator already tombstoned, changes nothing (`None`):
/// CometBFT has verified the evidence, but stale or repeated evidence must not slash twice.
pub fn handle_double_sign<S: StateWrite>(
    state: &mut S,
    address: &str,
    evidence_height: u64,
    height: u64,
) -> Result<Option<Vec<Event>>, StoreError> {
    let in_set = state
        .consensus_set_at(evidence_height)?
        .iter()
        .any(|v| v.consensus_address == address);
    let Some(v) = state.validator(address)? else {
        return Ok(None);
    };
    if !in_set || v.tombstoned {
        return Ok(None);
    }
    let bps = state.staking_params()?.slash_double_sign_bps;
    let request = request_slashing(state, &v, REASON_DOUBLE_SIGN, evidence_height, height, bps)?;
    let tombstoned = Validator {
        tombstoned: true,
        ..v
    };
    let jailed = jail(state, tombstoned, REASON_DOUBLE_SIGN, u64::MAX)?;
    Ok(Some(vec![jailed, slashing_requested_event(&request)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slash_amount_is_exact_and_never_overflows() {
        assert_eq!(slash_amount("1000000", 500).as_deref(), Some("50000"));
        assert_eq!(slash_amount("9999", 10_000).as_deref(), Some("9999"));
        assert_eq!(slash_amount("9999", 1).as_deref(), Some("0"));
        let max = u128::MAX;
        assert_eq!(
            slash_amount(&max.to_string(), 10_000),
            Some(max.to_string())
        );
        assert_eq!(slash_amount("-5", 1), None);
    }
}
