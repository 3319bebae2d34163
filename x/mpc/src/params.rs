//! x/mpc params: defaults and validation.
use seqpool_component::TxError;

use crate::Params;

pub fn default_params() -> Params {
    Params {
        keygen_round_timeout_blocks: 10,
        sign_timeout_blocks: 1,
        max_sign_attempts: 20,
        nonce_pool_low_water: 16,
        nonce_pool_target: 64,
        max_batch_blocks: 1_000,
        max_concurrent_sessions: 16,
    }
}

pub fn validate_params(p: &Params) -> Result<(), TxError> {
    if p.keygen_round_timeout_blocks == 0
        || p.sign_timeout_blocks == 0
        || p.max_sign_attempts == 0
        || p.max_batch_blocks == 0
        || p.max_concurrent_sessions == 0
    {
        return Err(TxError::invalid_message(
            "mpc params keygen_round_timeout_blocks, sign_timeout_blocks, max_sign_attempts, \
             max_batch_blocks and max_concurrent_sessions must be positive",
        ));
    }
    if p.nonce_pool_low_water == 0 || p.nonce_pool_target <= p.nonce_pool_low_water {
        return Err(TxError::invalid_message(format!(
            "mpc nonce pool: need 0 < nonce_pool_low_water ({}) < nonce_pool_target ({})",
            p.nonce_pool_low_water, p.nonce_pool_target
        )));
    }
    Ok(())
}
