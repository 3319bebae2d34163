//! What changes x/epochs state: MsgUpdateParams (a new length from the epoch after next) and
//! each agreed L2 block, which moves the head and fires the epoch-boundary hooks.
use seqpool_component::{BlockContext, StateWrite, StateWriteProto, StoreError, TxError};

use crate::params::validate_params;
use crate::schedule::{epoch, epoch_of};
use crate::state::EpochRead;
use crate::{state_key, Epoch, L2Block, L2Head, LengthChange, Params};

/// MsgUpdateParams for x/epochs: a new length applies from the epoch after the next one (the
/// current epoch's and the next one's heights and schedules are already fixed), so no L2 height
/// ever changes epoch. A change still pending is replaced.
pub fn update_params<S: StateWrite>(state: &mut S, new: &Params) -> Result<Params, TxError> {
    validate_params(new)?;
    let old = state.epoch_params()?;
    let from_epoch = state.current_epoch()?.number.saturating_add(2);
    let first_l2_height = epoch(&old, from_epoch).first_l2_height;
    let mut changes = if old.length_changes.is_empty() {
        vec![LengthChange {
            from_epoch: 0,
            first_l2_height: 1,
            length: old.epoch_length.max(1),
        }]
    } else {
        old.length_changes.clone()
    };
    changes.retain(|c| c.from_epoch < from_epoch);
    if changes.last().map(|c| c.length) != Some(new.epoch_length) {
        changes.push(LengthChange {
            from_epoch,
            first_l2_height,
            length: new.epoch_length,
        });
    }
    let p = Params {
        epoch_length: new.epoch_length,
        length_changes: changes,
    };
    state.put_proto(state_key::PARAMS.to_vec(), &p);
    Ok(p)
}

/// What other modules do at epoch boundaries. The app implements it once, calling each module.
pub trait EpochHooks<S: StateWrite> {
    /// The last block of `ended` was just agreed: `started`'s producer makes the next L2 block.
    fn epoch_boundary(
        &mut self,
        state: &mut S,
        ctx: &BlockContext,
        ended: &Epoch,
        started: &Epoch,
    ) -> Result<(), StoreError>;
}

/// Makes `block` the agreed L2 head (it must be the next height) and fires `hooks` for every epoch
/// boundary between the old head and it.
pub fn advance_head<S: StateWrite, H: EpochHooks<S>>(
    state: &mut S,
    ctx: &BlockContext,
    block: L2Block,
    hooks: &mut H,
) -> Result<(), StoreError> {
    let p = state.epoch_params()?;
    let old = state.l2_head_number()?;
    // An epoch starts when the block before its first height is agreed: its producer is up next.
    let (from, to) = (
        epoch_of(&p, old.saturating_add(1)),
        epoch_of(&p, block.number.saturating_add(1)),
    );
    state.put_proto(
        state_key::HEAD.to_vec(),
        &L2Head {
            block: Some(block),
            agreed_at_height: ctx.height,
            agreed_at_time_ms: (ctx.time_unix_nanos / 1_000_000) as i64,
        },
    );
    for e in from..to {
        hooks.epoch_boundary(state, ctx, &epoch(&p, e), &epoch(&p, e + 1))?;
    }
    Ok(())
}
