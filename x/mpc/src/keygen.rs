//! Key lifecycle sessions: DKG when no key is active, reshare when the active set changes, the
//! test signature that activates a key, retirement of the shares it replaces.
use seqpool_component::{BlockContext, Event, StateWrite, StoreError};

use crate::{MemberVote, MpcVote, SigningRequest};

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

/// Called by the signing path when a KEY_TEST request of a pending key is signed.
pub fn on_key_test_signed<S: StateWrite>(
    _state: &mut S,
    _ctx: &BlockContext,
    _request: &SigningRequest,
) -> Result<Vec<Event>, StoreError> {
    Ok(Vec::new())
}
