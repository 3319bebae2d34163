//! The digests the FROST group signs for L1 requests, computed exactly as the contracts do
//! (contracts/src/RequestDigest.sol): the chain's signing module derives the same 32 bytes from
//! its own view before contributing a share.

use alloy::primitives::{keccak256, Address, B256, U256};
use alloy::sol_types::SolValue;

use crate::bindings::{BatchInbox, Governance, LockingPool};

/// Request types, as in RequestDigest.sol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum RequestType {
    Batch = 1,
    RotateGroupKey = 2,
    RewardDistribution = 3,
    GovernanceAction = 4,
}

/// keccak256("seqpool.l1.v1")
pub fn domain_tag() -> B256 {
    keccak256(b"seqpool.l1.v1")
}

/// keccak256(abi.encode(DOMAIN_TAG, chainid, target, requestType, sequence, payloadHash))
pub fn request_digest(
    chain_id: u64,
    target: Address,
    request_type: RequestType,
    sequence: U256,
    payload_hash: B256,
) -> B256 {
    let encoded = (
        domain_tag(),
        U256::from(chain_id),
        target,
        // uint8 encodes as a right-aligned word, like a uint256 of the same value.
        U256::from(request_type as u8),
        sequence,
        payload_hash,
    )
        .abi_encode_params();
    keccak256(encoded)
}

/// Digest of `BatchInbox.appendBatch(header, ...)` on `inbox`.
pub fn batch_digest(chain_id: u64, inbox: Address, header: &BatchInbox::BatchHeader) -> B256 {
    request_digest(
        chain_id,
        inbox,
        RequestType::Batch,
        U256::from(header.batchIndex),
        keccak256(header.abi_encode()),
    )
}

/// Digest of `GroupKeyRegistry.rotateKey(newPx, newPy, ...)` while the registry's keyNonce is
/// `key_nonce`.
pub fn rotation_digest(
    chain_id: u64,
    registry: Address,
    key_nonce: U256,
    new_px: U256,
    new_py: U256,
) -> B256 {
    request_digest(
        chain_id,
        registry,
        RequestType::RotateGroupKey,
        key_nonce,
        keccak256((new_px, new_py).abi_encode_params()),
    )
}

/// Digest of `LockingPool.distributeRewards(dist, ...)`.
pub fn reward_digest(chain_id: u64, pool: Address, dist: &LockingPool::RewardDistribution) -> B256 {
    request_digest(
        chain_id,
        pool,
        RequestType::RewardDistribution,
        dist.sequence,
        keccak256(dist.abi_encode()),
    )
}

/// Digest of `Governance.executeSigned(action, ...)`.
pub fn governance_action_digest(
    chain_id: u64,
    governance: Address,
    action: &Governance::GovernanceAction,
) -> B256 {
    request_digest(
        chain_id,
        governance,
        RequestType::GovernanceAction,
        action.nonce,
        keccak256((action.target, keccak256(&action.data)).abi_encode_params()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_changes_with_every_bound_field() {
        let target = Address::repeat_byte(0x11);
        let base = request_digest(
            1,
            target,
            RequestType::Batch,
            U256::from(7),
            B256::repeat_byte(2),
        );
        assert_ne!(
            base,
            request_digest(
                2,
                target,
                RequestType::Batch,
                U256::from(7),
                B256::repeat_byte(2)
            )
        );
        assert_ne!(
            base,
            request_digest(
                1,
                Address::repeat_byte(0x12),
                RequestType::Batch,
                U256::from(7),
                B256::repeat_byte(2)
            )
        );
        assert_ne!(
            base,
            request_digest(
                1,
                target,
                RequestType::GovernanceAction,
                U256::from(7),
                B256::repeat_byte(2)
            )
        );
        assert_ne!(
            base,
            request_digest(
                1,
                target,
                RequestType::Batch,
                U256::from(8),
                B256::repeat_byte(2)
            )
        );
        assert_ne!(
            base,
            request_digest(
                1,
                target,
                RequestType::Batch,
                U256::from(7),
                B256::repeat_byte(3)
            )
        );
    }

    #[test]
    fn encoding_is_six_static_words() {
        let encoded = (
            domain_tag(),
            U256::from(1u64),
            Address::ZERO,
            U256::from(1u8),
            U256::ZERO,
            B256::ZERO,
        )
            .abi_encode_params();
        assert_eq!(encoded.len(), 6 * 32);
        assert_eq!(
            encoded[3 * 32 + 31],
            1,
            "request type right-aligned in its word"
        );
    }
}
