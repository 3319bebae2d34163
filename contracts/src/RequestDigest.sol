// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @title RequestDigest
/// @notice The 32-byte digest that the FROST group signs for every L1 request. It binds the L1
///         chain id, the target contract, the request type and a per-type sequence number, so a
///         signature can be used once, on one chain, by one contract, for one purpose.
/// @dev digest = keccak256(abi.encode(DOMAIN_TAG, chainid, target, requestType, sequence, payloadHash)).
///      The chain's signing module recomputes exactly this; keep docs/contracts.md in sync.
library RequestDigest {
    bytes32 internal constant DOMAIN_TAG = keccak256("seqpool.l1.v1");

    uint8 internal constant BATCH = 1;
    uint8 internal constant ROTATE_GROUP_KEY = 2;
    uint8 internal constant REWARD_DISTRIBUTION = 3;
    uint8 internal constant GOVERNANCE_ACTION = 4;

    function compute(uint8 requestType, uint256 sequence, bytes32 payloadHash) internal view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TAG, block.chainid, address(this), requestType, sequence, payloadHash));
    }
}
