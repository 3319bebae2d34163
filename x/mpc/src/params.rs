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
    // Deadlines and jails are `height + p`; a share per live attempt rides every signer's vote.
    for (name, value, max) in [
        (
            "keygen_round_timeout_blocks",
            p.keygen_round_timeout_blocks,
            MAX_TIMEOUT_BLOCKS,
        ),
        (
            "sign_timeout_blocks",
            p.sign_timeout_blocks,
            MAX_TIMEOUT_BLOCKS,
        ),
        ("max_batch_blocks", p.max_batch_blocks, MAX_BATCH_BLOCKS),
        (
            "share_fault_jail_blocks",
            p.share_fault_jail_blocks,
            MAX_JAIL_BLOCKS,
        ),
        (
            "max_concurrent_sessions",
            u64::from(p.max_concurrent_sessions),
            MAX_SHARES_PER_VOTE as u64,
        ),
    ] {
        if value > max {
            return Err(TxError::invalid_message(format!(
                "mpc {name} {value} is above {max}"
            )));
        }
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

/// Most shares and refusals one vote may carry. A signer answers every live attempt it is in, so
/// `max_concurrent_sessions` above it would make an honest vote one that every node refuses.
pub const MAX_SHARES_PER_VOTE: usize = 256;
/// Longest keygen round and signing attempt, in blocks (about a day of 1 s blocks).
pub const MAX_TIMEOUT_BLOCKS: u64 = 100_000;
/// Most L2 blocks in one batch.
pub const MAX_BATCH_BLOCKS: u64 = 100_000;
/// Longest jail for MPC faults, as x/staking's downtime jail.
pub const MAX_JAIL_BLOCKS: u64 = 10_000_000;
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

    /// Each bound at its limit passes and one above it is refused (u64::MAX overflowed the
    /// deadline `height + p`; more live sessions than a vote's share cap made honest votes invalid).
    #[test]
    fn bounds_keep_the_chain_live() {
        type Set = fn(&mut Params, u64);
        let cases: [(&str, Set); 5] = [
            ("keygen_round_timeout_blocks", |p, v| {
                p.keygen_round_timeout_blocks = v
            }),
            ("sign_timeout_blocks", |p, v| p.sign_timeout_blocks = v),
            ("max_batch_blocks", |p, v| p.max_batch_blocks = v),
            ("share_fault_jail_blocks", |p, v| {
                p.share_fault_jail_blocks = v
            }),
            ("max_concurrent_sessions", |p, v| {
                p.max_concurrent_sessions = u32::try_from(v).unwrap_or(u32::MAX)
            }),
        ];
        let limits = [
            MAX_TIMEOUT_BLOCKS,
            MAX_TIMEOUT_BLOCKS,
            MAX_BATCH_BLOCKS,
            MAX_JAIL_BLOCKS,
            MAX_SHARES_PER_VOTE as u64,
        ];
        for ((name, set), max) in cases.into_iter().zip(limits) {
            let with = |v: u64| {
                let mut p = default_params();
                set(&mut p, v);
                p
            };
            assert!(validate_params(&with(max)).is_ok(), "{name} at {max}");
            for v in [max + 1, u64::MAX] {
                let err = validate_params(&with(v)).expect_err(name);
                assert!(err.message.contains(name), "{name}: {}", err.message);
            }
        }
    }
}
