// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {FrostSignature} from "./FrostVerifier.sol";
import {GroupKeyRegistry} from "./GroupKeyRegistry.sol";
import {RequestDigest} from "./RequestDigest.sol";

/// @notice An L2 batch commitment. Batch indexes and L2 block ranges are contiguous.
struct BatchHeader {
    uint64 batchIndex;
    uint64 l2StartBlock;
    uint64 l2EndBlock;
    /// @dev Root over the hashes of blocks l2StartBlock..=l2EndBlock.
    bytes32 l2BlocksRoot;
    /// @dev L2 state root after l2EndBlock.
    bytes32 l2StateRoot;
}

/// @title BatchInbox
/// @notice Accepts L2 batches signed by the sequencer pool's FROST group key, each exactly once and
///         in order. A relay of an already appended batch fails early with BatchAlreadyAppended, so
///         racing relayers can tell "someone else did it" from a real failure.
contract BatchInbox {
    error BatchAlreadyAppended(uint64 batchIndex);
    error BatchIndexGap(uint64 expected, uint64 got);
    error L2RangeNotContiguous(uint64 expectedStart, uint64 gotStart);
    error InvalidL2Range(uint64 start, uint64 end);
    error InvalidGroupSignature();

    event BatchAppended(
        uint64 indexed batchIndex, uint64 l2StartBlock, uint64 l2EndBlock, bytes32 l2BlocksRoot, bytes32 l2StateRoot
    );

    GroupKeyRegistry public immutable groupKeys;
    /// @dev Packed into one slot so an append writes it once.
    uint64 public nextBatchIndex;
    uint64 public nextL2Block;
    mapping(uint64 => bytes32) public batchHeaderHash;

    constructor(GroupKeyRegistry groupKeys_, uint64 firstL2Block) {
        groupKeys = groupKeys_;
        nextL2Block = firstL2Block;
    }

    /// @notice The digest the group signs for `header`.
    function batchDigest(BatchHeader calldata header) public view returns (bytes32) {
        return RequestDigest.compute(RequestDigest.BATCH, header.batchIndex, keccak256(abi.encode(header)));
    }

    function appendBatch(BatchHeader calldata header, FrostSignature calldata sig) external {
        uint64 expected = nextBatchIndex;
        if (header.batchIndex < expected) revert BatchAlreadyAppended(header.batchIndex);
        if (header.batchIndex != expected) revert BatchIndexGap(expected, header.batchIndex);
        if (header.l2StartBlock != nextL2Block) revert L2RangeNotContiguous(nextL2Block, header.l2StartBlock);
        if (header.l2EndBlock < header.l2StartBlock || header.l2EndBlock == type(uint64).max) {
            revert InvalidL2Range(header.l2StartBlock, header.l2EndBlock);
        }
        if (!groupKeys.verify(batchDigest(header), sig)) revert InvalidGroupSignature();

        batchHeaderHash[header.batchIndex] = keccak256(abi.encode(header));
        nextBatchIndex = expected + 1;
        nextL2Block = header.l2EndBlock + 1;
        emit BatchAppended(
            header.batchIndex, header.l2StartBlock, header.l2EndBlock, header.l2BlocksRoot, header.l2StateRoot
        );
    }

    function isAppended(uint64 batchIndex) external view returns (bool) {
        return batchIndex < nextBatchIndex;
    }
}
