use seqpool_component::TxError;

use crate::Params;

pub const MODULE: &str = "bridge";

/// Upper bound of `max_events_per_vote`, so a vote extension stays a few KiB.
pub const MAX_EVENTS_PER_VOTE_LIMIT: u32 = 256;

pub fn default_params() -> Params {
    Params {
        max_events_per_vote: 16,
        randomness_block_interval: 32,
    }
}

pub fn validate(p: &Params) -> Result<(), TxError> {
    if p.max_events_per_vote == 0 || p.max_events_per_vote > MAX_EVENTS_PER_VOTE_LIMIT {
        return Err(TxError::invalid_message(format!(
            "bridge.max_events_per_vote must be within [1, {MAX_EVENTS_PER_VOTE_LIMIT}], got {}",
            p.max_events_per_vote
        )));
    }
    if p.randomness_block_interval > 1_000_000 {
        return Err(TxError::invalid_message(format!(
            "bridge.randomness_block_interval must be within [0, 1000000], got {}",
            p.randomness_block_interval
        )));
    }
    Ok(())
}
