//! Who takes part in MPC: the members whose extension was in the last applied commit (online,
//! chosen first as signers and taken into a key only once among them), and the proven faults
//! recorded against validators, jailed after `max_share_faults`. The key lifecycle and the
//! signing sessions both read and write these.
use std::collections::BTreeSet;

use seqpool_component::{
    BlockContext, Event, StateRead, StateReadProto, StateWrite, StateWriteProto, StoreError,
};
use seqpool_staking::StakingRead;

use crate::state::MpcRead;

/// Identifiers (32 bytes each, concatenated) of the members whose extension was in the last
/// applied commit.
pub(crate) const LAST_VOTERS: &[u8] = b"mpc/last_voters";

fn faults_key(validator: &str) -> Vec<u8> {
    [b"mpc/share_faults/".as_slice(), validator.as_bytes()].concat()
}

/// Invalid shares recorded against a validator since it was last jailed for them.
pub fn share_faults<S: StateRead + ?Sized>(state: &S, validator: &str) -> Result<u64, StoreError> {
    Ok(state.get_u64(&faults_key(validator))?.unwrap_or(0))
}

/// Identifiers of the members whose extension was in the last applied commit: the members
/// that have shown they are online (signers are chosen among them first, and the key lifecycle
/// takes a member in only once it is among them).
pub fn last_voters<S: StateRead + ?Sized>(state: &S) -> Result<BTreeSet<Vec<u8>>, StoreError> {
    Ok(state
        .get_raw(LAST_VOTERS)?
        .unwrap_or_default()
        .chunks(32)
        .map(<[u8]>::to_vec)
        .collect())
}

/// Records a proven MPC fault (an invalid signature share, or a keygen payload the chain proved
/// bad) against `validator` and jails it after `max_share_faults`.
pub(crate) fn penalise<S: StateWrite>(
    state: &mut S,
    ctx: &BlockContext,
    validator: &str,
) -> Result<Vec<Event>, StoreError> {
    if validator.is_empty() {
        return Ok(Vec::new());
    }
    let params = state.mpc_params()?;
    let faults = share_faults(state, validator)? + 1;
    let mut events = vec![Event::new("mpc_share_fault")
        .attr("validator", validator)
        .attr("faults", faults.to_string())];
    if params.max_share_faults > 0 && faults >= u64::from(params.max_share_faults) {
        if let Some(v) = state.validator(validator)? {
            if !v.jailed {
                events.push(seqpool_staking::jail::jail(
                    state,
                    v,
                    seqpool_staking::jail::REASON_MPC_FAULTS,
                    ctx.height.saturating_add(params.share_fault_jail_blocks),
                )?);
            }
        }
        state.delete(faults_key(validator));
    } else {
        state.put_u64(faults_key(validator), faults);
    }
    Ok(events)
}
