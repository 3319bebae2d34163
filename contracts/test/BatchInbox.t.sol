// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Fixture} from "./utils/Fixture.sol";
import {FrostSignature} from "../src/FrostVerifier.sol";
import {BatchInbox, BatchHeader} from "../src/BatchInbox.sol";
import {GroupKeyRegistry} from "../src/GroupKeyRegistry.sol";

contract BatchInboxTest is Fixture {
    event BatchAppended(
        uint64 indexed batchIndex, uint64 l2StartBlock, uint64 l2EndBlock, bytes32 l2BlocksRoot, bytes32 l2StateRoot
    );

    function setUp() public {
        deployAll();
    }

    function _header(uint64 index, uint64 start, uint64 end) internal pure returns (BatchHeader memory) {
        return BatchHeader({
            batchIndex: index,
            l2StartBlock: start,
            l2EndBlock: end,
            l2BlocksRoot: keccak256(abi.encode("blocks", index)),
            l2StateRoot: keccak256(abi.encode("state", index))
        });
    }

    function _signed(BatchHeader memory h) internal returns (FrostSignature memory) {
        return groupSign(inbox.batchDigest(h));
    }

    function test_appendsContiguousBatches() public {
        BatchHeader memory h0 = _header(0, 1, 100);
        FrostSignature memory sig0 = _signed(h0);
        vm.expectEmit(true, true, true, true, address(inbox));
        emit BatchAppended(0, 1, 100, h0.l2BlocksRoot, h0.l2StateRoot);
        inbox.appendBatch(h0, sig0);
        BatchHeader memory h1 = _header(1, 101, 101);
        inbox.appendBatch(h1, _signed(h1));
        vm.assertEq(inbox.nextBatchIndex(), 2, "next index");
        vm.assertEq(inbox.nextL2Block(), 102, "next L2 block");
        vm.assertEq(inbox.batchHeaderHash(0), keccak256(abi.encode(h0)), "stored header hash");
        vm.assertTrue(inbox.isAppended(1), "appended");
        vm.assertFalse(inbox.isAppended(2), "not appended");
    }

    function test_secondRelayIsRejectedDistinguishably() public {
        BatchHeader memory h0 = _header(0, 1, 100);
        FrostSignature memory sig = _signed(h0);
        inbox.appendBatch(h0, sig);
        vm.expectRevert(abi.encodeWithSelector(BatchInbox.BatchAlreadyAppended.selector, 0));
        inbox.appendBatch(h0, sig);
        // Rejected before the signature check: even a garbage signature gets the same answer.
        vm.expectRevert(abi.encodeWithSelector(BatchInbox.BatchAlreadyAppended.selector, 0));
        inbox.appendBatch(h0, FrostSignature(0, 0, 0));
    }

    function test_rejectsGapsAndBadRanges() public {
        BatchHeader memory h = _header(1, 1, 100);
        FrostSignature memory sig = _signed(h);
        vm.expectRevert(abi.encodeWithSelector(BatchInbox.BatchIndexGap.selector, 0, 1));
        inbox.appendBatch(h, sig);
        h = _header(0, 2, 100);
        sig = _signed(h);
        vm.expectRevert(abi.encodeWithSelector(BatchInbox.L2RangeNotContiguous.selector, 1, 2));
        inbox.appendBatch(h, sig);
        h = _header(0, 1, 0);
        sig = _signed(h);
        vm.expectRevert(abi.encodeWithSelector(BatchInbox.InvalidL2Range.selector, 1, 0));
        inbox.appendBatch(h, sig);
        h = _header(0, 1, type(uint64).max);
        sig = _signed(h);
        vm.expectRevert(abi.encodeWithSelector(BatchInbox.InvalidL2Range.selector, 1, type(uint64).max));
        inbox.appendBatch(h, sig);
    }

    function test_rejectsBadSignatures() public {
        BatchHeader memory h = _header(0, 1, 100);
        FrostSignature memory sig = _signed(h);
        BatchHeader memory altered = _header(0, 1, 100);
        altered.l2StateRoot = bytes32(uint256(1));
        vm.expectRevert(BatchInbox.InvalidGroupSignature.selector);
        inbox.appendBatch(altered, sig);
        // Signed by some other key.
        FrostSignature memory foreign = frostSign(0xBAD, inbox.batchDigest(h));
        vm.expectRevert(BatchInbox.InvalidGroupSignature.selector);
        inbox.appendBatch(h, foreign);
        vm.assertEq(inbox.nextBatchIndex(), 0, "nothing appended");
    }

    function test_digestBindsChainAndContract() public {
        BatchHeader memory h = _header(0, 1, 100);
        FrostSignature memory sig = _signed(h);
        // Same registry, another inbox: the signature is for the first inbox only.
        BatchInbox other = new BatchInbox(registry, FIRST_L2_BLOCK);
        vm.expectRevert(BatchInbox.InvalidGroupSignature.selector);
        other.appendBatch(h, sig);
        // Same inbox on another chain id.
        uint256 chainId = block.chainid;
        vm.chainId(chainId + 1);
        vm.expectRevert(BatchInbox.InvalidGroupSignature.selector);
        inbox.appendBatch(h, sig);
        vm.chainId(chainId);
        inbox.appendBatch(h, sig);
    }

    function test_rejectsWhileNoGroupKey() public {
        BatchInbox fresh = new BatchInbox(GroupKeyRegistry(address(new GroupKeyRegistry(address(this)))), 1);
        BatchHeader memory h = _header(0, 1, 100);
        FrostSignature memory sig = groupSign(fresh.batchDigest(h));
        vm.expectRevert(BatchInbox.InvalidGroupSignature.selector);
        fresh.appendBatch(h, sig);
    }

    function test_appendBatchGas() public {
        BatchHeader memory h = _header(0, 1, 100);
        FrostSignature memory sig = _signed(h);
        uint256 before = gasleft();
        inbox.appendBatch(h, sig);
        uint256 used = before - gasleft();
        // Measured figures are in docs/benchmarks.md (gas report); this bounds regressions.
        vm.assertLt(used, 80_000, "appendBatch gas");
    }
}
