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
        l1: None,
        max_share_faults: 3,
        share_fault_jail_blocks: 100,
        readmit_after_blocks: 20,
        readmit_max_blocks: 640,
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
    if p.readmit_after_blocks == 0
        || p.readmit_max_blocks < p.readmit_after_blocks
        || p.readmit_max_blocks > MAX_READMIT_BLOCKS
    {
        return Err(TxError::invalid_message(format!(
            "mpc readmission: need 0 < readmit_after_blocks ({}) <= readmit_max_blocks ({}) \
             <= {MAX_READMIT_BLOCKS}",
            p.readmit_after_blocks, p.readmit_max_blocks
        )));
    }
    if p.nonce_pool_low_water == 0 || p.nonce_pool_target <= p.nonce_pool_low_water {
        return Err(TxError::invalid_message(format!(
            "mpc nonce pool: need 0 < nonce_pool_low_water ({}) < nonce_pool_target ({})",
            p.nonce_pool_low_water, p.nonce_pool_target
        )));
    }
    if p.max_sign_attempts > MAX_SIGN_ATTEMPTS {
        return Err(TxError::invalid_message(format!(
            "mpc max_sign_attempts {} is above {MAX_SIGN_ATTEMPTS}",
            p.max_sign_attempts
        )));
    }
    if p.nonce_pool_target > MAX_NONCE_POOL {
        return Err(TxError::invalid_message(format!(
            "mpc nonce_pool_target {} is above {MAX_NONCE_POOL}",
            p.nonce_pool_target
        )));
    }
    if let Some(l1) = &p.l1 {
        let addresses = [
            ("batch_inbox", &l1.batch_inbox),
            ("locking_pool", &l1.locking_pool),
            ("group_key_registry", &l1.group_key_registry),
            ("governance", &l1.governance),
        ];
        for (name, a) in addresses {
            if !a.is_empty() && a.len() != 20 {
                return Err(TxError::invalid_message(format!(
                    "mpc params l1.{name} has {} bytes, an address has 20",
                    a.len()
                )));
            }
        }
        if l1.chain_id == 0 {
            return Err(TxError::invalid_message(
                "mpc params l1.chain_id must be set",
            ));
        }
    }
    Ok(())
}

/// Attempt numbers share a u64 session id with the request id (16 bits each side of it).
pub const MAX_SIGN_ATTEMPTS: u32 = 1_000;
/// Most nonce commitments one member may hold per key on chain (and send in one vote).
pub const MAX_NONCE_POOL: u32 = 255;
/// Longest readmission cool-down (about a week of 1 s blocks): a member left out for longer
/// would be a validator without a share for too long.
pub const MAX_READMIT_BLOCKS: u64 = 604_800;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_readmission_is_checked() {
        assert!(validate_params(&default_params()).is_ok());
        let with = |after: u64, max: u64| Params {
            readmit_after_blocks: after,
            readmit_max_blocks: max,
            ..default_params()
        };
        assert!(validate_params(&with(20, 20)).is_ok());
        assert!(validate_params(&with(0, 20)).is_err(), "no cool-down");
        assert!(
            validate_params(&with(20, 19)).is_err(),
            "cap below the first cool-down"
        );
        assert!(validate_params(&with(20, MAX_READMIT_BLOCKS + 1)).is_err());
    }
}
