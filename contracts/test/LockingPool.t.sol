// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Console} from "./utils/Console.sol";
import {Fixture} from "./utils/Fixture.sol";
import {Vm} from "./utils/Vm.sol";
import {FrostSignature} from "../src/FrostVerifier.sol";
import {Governance, GovernanceAction} from "../src/Governance.sol";
import {GroupKeyRegistry} from "../src/GroupKeyRegistry.sol";
import {LockingPool, RewardDistribution} from "../src/LockingPool.sol";
import {LockingEscrow} from "../src/LockingEscrow.sol";
import {DevnetToken} from "../src/DevnetToken.sol";

contract LockingPoolTest is Fixture {
    address internal alice = address(0xA11CE);
    address internal bob = address(0xB0B);

    event Locked(
        address indexed signer,
        uint256 indexed sequencerId,
        uint256 nonce,
        address indexed owner,
        uint256 amount,
        uint256 totalLocked,
        bytes signerPubkey
    );
    event Relocked(uint256 indexed sequencerId, uint256 nonce, uint256 added, uint256 amount, uint256 totalLocked);
    event UnlockInit(uint256 indexed sequencerId, uint256 nonce, address indexed owner, uint256 amount, uint256 claimableAt);
    event Unlocked(uint256 indexed sequencerId, uint256 nonce, address indexed owner, uint256 amount, uint256 totalLocked);
    event SignerChange(
        uint256 indexed sequencerId, uint256 nonce, address indexed oldSigner, address indexed newSigner, bytes signerPubkey
    );
    event RewardsDistributed(
        uint256 indexed sequence, uint256 nonce, uint256 startEpoch, uint256 endEpoch, uint256 totalReward
    );
    event RewardsWithdrawn(uint256 indexed sequencerId, uint256 nonce, address indexed recipient, uint256 amount);
    event Slashed(uint256 indexed sequencerId, uint256 nonce, uint256 amount, uint256 totalLocked);

    function setUp() public {
        deployAll();
    }

    // ------------------------------------------------------------------ constructor

    function test_constructorRejectsBadParams() public {
        LockingPool.Params memory p = LockingPool.Params(0, 1, 0, 0, 0, rewardPayer, 0);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.InvalidLockBounds.selector, 0, 1));
        new LockingPool(token, registry, address(gov), p);
        p = LockingPool.Params(2, 1, 0, 0, 0, rewardPayer, 0);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.InvalidLockBounds.selector, 2, 1));
        new LockingPool(token, registry, address(gov), p);
        p = LockingPool.Params(1, 1, 0, 366 days, 0, rewardPayer, 0);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.DelayTooLong.selector, 366 days, 365 days));
        new LockingPool(token, registry, address(gov), p);
        p = LockingPool.Params(1, 1, 0, 1 hours, 0, rewardPayer, 1 days);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.DelayBelowFloor.selector, 1 hours, 1 days));
        new LockingPool(token, registry, address(gov), p);
        p = LockingPool.Params(1, 1, 0, 0, 0, rewardPayer, 0);
        vm.expectRevert(LockingPool.ZeroAddress.selector);
        new LockingPool(token, registry, address(0), p);
    }

    function test_escrowOnlyReleasesToPool() public {
        LockingEscrow escrow = pool.escrow();
        vm.assertEq(escrow.pool(), address(pool), "escrow owner");
        vm.expectRevert(abi.encodeWithSelector(LockingEscrow.NotPool.selector, address(this)));
        escrow.release(address(this), 1);
    }

    // ------------------------------------------------------------------ lockFor

    function test_lockForLocksAndEmits() public {
        whitelist(alice);
        (address signer, bytes memory pubkey) = signerKey(1);
        bytes memory proof = signerProof(1, alice, 0);
        token.mint(alice, 500 ether);
        vm.startPrank(alice);
        token.approve(address(pool), 500 ether);
        uint256 nonceBefore = pool.eventNonce();
        vm.expectEmit(true, true, true, true, address(pool));
        emit Locked(signer, 1, nonceBefore + 1, alice, 500 ether, 500 ether, pubkey);
        uint256 id = pool.lockFor(signer, 500 ether, pubkey, proof);
        vm.stopPrank();

        vm.assertEq(id, 1, "first id");
        LockingPool.Sequencer memory s = pool.sequencer(id);
        vm.assertEq(s.owner, alice, "owner");
        vm.assertEq(s.signer, signer, "signer");
        vm.assertEq(s.amount, 500 ether, "amount");
        vm.assertEq(uint256(s.status), uint256(LockingPool.Status.Active), "status");
        vm.assertEq(token.balanceOf(address(pool.escrow())), 500 ether, "escrow balance");
        vm.assertEq(pool.totalLocked(), 500 ether, "totalLocked");
        vm.assertEq(pool.sequencerIdOf(alice), 1, "id by owner");
        vm.assertEq(pool.sequencerIdBySigner(signer), 1, "id by signer");
    }

    function test_lockForRejectsNonWhitelisted() public {
        (address signer, bytes memory pubkey) = signerKey(1);
        bytes memory proof = signerProof(1, alice, 0);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.NotWhitelisted.selector, alice));
        pool.lockFor(signer, MIN_LOCK, pubkey, proof);
    }

    function test_lockForRejectsAmountsOutsideBounds() public {
        whitelist(alice);
        (address signer, bytes memory pubkey) = signerKey(1);
        bytes memory proof = signerProof(1, alice, 0);
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.AmountBelowMinLock.selector, MIN_LOCK - 1, MIN_LOCK));
        pool.lockFor(signer, MIN_LOCK - 1, pubkey, proof);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.AmountAboveMaxLock.selector, MAX_LOCK + 1, MAX_LOCK));
        pool.lockFor(signer, MAX_LOCK + 1, pubkey, proof);
        vm.stopPrank();
    }

    function test_lockForRejectsBadSignerKeys() public {
        whitelist(alice);
        token.mint(alice, MAX_LOCK);
        vm.startPrank(alice);
        token.approve(address(pool), MAX_LOCK);
        (address signer, bytes memory pubkey) = signerKey(1);
        (address other,) = signerKey(2);
        bytes memory proof = signerProof(1, alice, 0);
        // Key of another address.
        vm.expectRevert(abi.encodeWithSelector(LockingPool.InvalidSignerPubkey.selector, other));
        pool.lockFor(other, MIN_LOCK, pubkey, proof);
        // Wrong length (65-byte SEC1 form with prefix).
        vm.expectRevert(abi.encodeWithSelector(LockingPool.InvalidSignerPubkey.selector, signer));
        pool.lockFor(signer, MIN_LOCK, abi.encodePacked(uint8(4), pubkey), proof);
        // 64 bytes that hash to the address but are not a curve point.
        bytes memory garbage = abi.encodePacked(uint256(1), uint256(1));
        address garbageSigner = address(uint160(uint256(keccak256(garbage))));
        vm.expectRevert(abi.encodeWithSelector(LockingPool.InvalidSignerPubkey.selector, garbageSigner));
        pool.lockFor(garbageSigner, MIN_LOCK, garbage, proof);
        vm.expectRevert(LockingPool.ZeroAddress.selector);
        pool.lockFor(address(0), MIN_LOCK, pubkey, proof);
        vm.stopPrank();
    }

    function test_lockForRejectsSecondSequencerAndReusedSigner() public {
        (uint256 id, address signer) = lockAs(alice, 1, MIN_LOCK);
        (, bytes memory pubkey) = signerKey(1);
        token.mint(alice, MIN_LOCK);
        vm.startPrank(alice);
        token.approve(address(pool), MIN_LOCK);
        (address signer2, bytes memory pubkey2) = signerKey(2);
        bytes memory proof2 = signerProof(2, alice, 1);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.OwnerHasSequencer.selector, alice, id));
        pool.lockFor(signer2, MIN_LOCK, pubkey2, proof2);
        vm.stopPrank();

        whitelist(bob);
        token.mint(bob, MIN_LOCK);
        vm.startPrank(bob);
        token.approve(address(pool), MIN_LOCK);
        bytes memory proofForBob = signerProof(1, bob, 0);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.SignerInUse.selector, signer));
        pool.lockFor(signer, MIN_LOCK, pubkey, proofForBob);
        vm.stopPrank();
    }

    function test_lockForFailsWithoutAllowance() public {
        whitelist(alice);
        (address signer, bytes memory pubkey) = signerKey(1);
        bytes memory proof = signerProof(1, alice, 0);
        token.mint(alice, MIN_LOCK);
        vm.prank(alice);
        vm.expectRevert(); // ERC20InsufficientAllowance from the token
        pool.lockFor(signer, MIN_LOCK, pubkey, proof);
        vm.assertEq(pool.totalLocked(), 0, "nothing locked");
        vm.assertEq(pool.eventNonce(), 1, "only the whitelist event");
    }

    function testFuzz_lockBounds(uint256 amount) public {
        amount = bound(amount, 0, MAX_LOCK * 2);
        whitelist(alice);
        (address signer, bytes memory pubkey) = signerKey(1);
        bytes memory proof = signerProof(1, alice, 0);
        token.mint(alice, amount);
        vm.startPrank(alice);
        token.approve(address(pool), amount);
        if (amount < MIN_LOCK) {
            vm.expectRevert(abi.encodeWithSelector(LockingPool.AmountBelowMinLock.selector, amount, MIN_LOCK));
        } else if (amount > MAX_LOCK) {
            vm.expectRevert(abi.encodeWithSelector(LockingPool.AmountAboveMaxLock.selector, amount, MAX_LOCK));
        }
        pool.lockFor(signer, amount, pubkey, proof);
        vm.stopPrank();
        bool accepted = amount >= MIN_LOCK && amount <= MAX_LOCK;
        vm.assertEq(pool.totalLocked(), accepted ? amount : 0, "totalLocked");
        vm.assertEq(token.balanceOf(address(pool.escrow())), accepted ? amount : 0, "escrow");
    }

    function testFuzz_relockBounds(uint256 first, uint256 added) public {
        first = bound(first, MIN_LOCK, MAX_LOCK);
        added = bound(added, 1, MAX_LOCK);
        (uint256 id,) = lockAs(alice, 1, first);
        token.mint(alice, added);
        vm.startPrank(alice);
        token.approve(address(pool), added);
        if (first + added > MAX_LOCK) {
            vm.expectRevert(abi.encodeWithSelector(LockingPool.AmountAboveMaxLock.selector, first + added, MAX_LOCK));
        }
        pool.relock(id, added);
        vm.stopPrank();
        uint256 expected = first + added > MAX_LOCK ? first : first + added;
        vm.assertEq(pool.sequencer(id).amount, expected, "amount");
        vm.assertEq(token.balanceOf(address(pool.escrow())), expected, "escrow");
    }

    // ------------------------------------------------------------------ relock

    function test_relockIncreasesStake() public {
        (uint256 id,) = lockAs(alice, 1, MIN_LOCK);
        token.mint(alice, 50 ether);
        vm.startPrank(alice);
        token.approve(address(pool), 50 ether);
        vm.expectEmit(true, true, true, true, address(pool));
        emit Relocked(id, pool.eventNonce() + 1, 50 ether, MIN_LOCK + 50 ether, MIN_LOCK + 50 ether);
        pool.relock(id, 50 ether);
        vm.stopPrank();
        vm.assertEq(pool.sequencer(id).amount, MIN_LOCK + 50 ether, "amount");
    }

    function test_relockRejects() public {
        (uint256 id,) = lockAs(alice, 1, MIN_LOCK);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.NotSequencerOwner.selector, id, bob));
        pool.relock(id, 1);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.UnknownSequencer.selector, 99));
        pool.relock(99, 1);
        vm.prank(alice);
        vm.expectRevert(LockingPool.ZeroAmount.selector);
        pool.relock(id, 0);
        vm.prank(alice);
        pool.unlock(id);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.SequencerNotActive.selector, id));
        pool.relock(id, 1);
    }

    // ------------------------------------------------------------------ unlock and claim

    function test_unlockThenClaimAfterDelay() public {
        (uint256 id,) = lockAs(alice, 1, 300 ether);
        uint256 claimableAt = block.timestamp + WITHDRAWAL_DELAY;
        vm.expectEmit(true, true, true, true, address(pool));
        emit UnlockInit(id, pool.eventNonce() + 1, alice, 300 ether, claimableAt);
        vm.prank(alice);
        pool.unlock(id);
        vm.assertEq(uint256(pool.sequencer(id).status), uint256(LockingPool.Status.Unlocking), "unlocking");
        vm.assertEq(pool.totalLocked(), 300 ether, "still in escrow");

        vm.warp(claimableAt - 1);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.WithdrawalDelayNotOver.selector, id, claimableAt));
        pool.claimUnlocked(id);

        vm.warp(claimableAt);
        vm.expectEmit(true, true, true, true, address(pool));
        emit Unlocked(id, pool.eventNonce() + 1, alice, 300 ether, 0);
        vm.prank(alice);
        pool.claimUnlocked(id);
        vm.assertEq(token.balanceOf(alice), 300 ether, "stake returned");
        vm.assertEq(token.balanceOf(address(pool.escrow())), 0, "escrow empty");
        vm.assertEq(pool.totalLocked(), 0, "totalLocked");

        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.SequencerNotUnlocking.selector, id));
        pool.claimUnlocked(id);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.SequencerNotActive.selector, id));
        pool.unlock(id);

        // The owner may lock again, as a new sequencer with a fresh signer.
        (address signer2, bytes memory pubkey2) = signerKey(2);
        bytes memory proof2 = signerProof(2, alice, 1);
        vm.startPrank(alice);
        token.approve(address(pool), MIN_LOCK);
        uint256 id2 = pool.lockFor(signer2, MIN_LOCK, pubkey2, proof2);
        vm.stopPrank();
        vm.assertEq(id2, id + 1, "new id");
    }

    function test_claimRejectsActiveAndForeignSequencer() public {
        (uint256 id,) = lockAs(alice, 1, MIN_LOCK);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.SequencerNotUnlocking.selector, id));
        pool.claimUnlocked(id);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.NotSequencerOwner.selector, id, bob));
        pool.unlock(id);
    }

    // ------------------------------------------------------------------ proof of possession

    function test_signerProofDigestMatchesTheFixture() public view {
        bytes32 expected = keccak256(
            abi.encode(keccak256("seqpool.LockingPool.SignerProof"), block.chainid, address(pool), alice, address(7), 3)
        );
        vm.assertEq(pool.signerProofDigest(alice, address(7), 3), expected, "digest");
    }

    /// @dev The front-run of issue 23 point 4: bob copies alice's public key (and her proof) from
    ///      her pending lockFor and sends it first. Before, his lock took her key for good.
    function test_aCopiedSignerKeyCannotBeRegisteredByAnother() public {
        whitelist(alice);
        whitelist(bob);
        (address signer, bytes memory pubkey) = signerKey(1);
        bytes memory aliceProof = signerProof(1, alice, 0);
        token.mint(bob, MIN_LOCK);
        vm.startPrank(bob);
        token.approve(address(pool), MIN_LOCK);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.InvalidSignerProof.selector, signer));
        pool.lockFor(signer, MIN_LOCK, pubkey, aliceProof);
        // A proof by bob's own key for alice's signer address is no proof either.
        bytes memory bobProof = signerProof(9, bob, 0);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.InvalidSignerProof.selector, signer));
        pool.lockFor(signer, MIN_LOCK, pubkey, bobProof);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.InvalidSignerProof.selector, signer));
        pool.lockFor(signer, MIN_LOCK, pubkey, hex"");
        vm.stopPrank();
        vm.assertEq(pool.sequencerIdBySigner(signer), 0, "the key stays free");

        token.mint(alice, MIN_LOCK);
        vm.startPrank(alice);
        token.approve(address(pool), MIN_LOCK);
        uint256 id = pool.lockFor(signer, MIN_LOCK, pubkey, aliceProof);
        vm.stopPrank();
        vm.assertEq(pool.sequencer(id).owner, alice, "alice holds her key");
        vm.assertEq(pool.signerNonce(alice), 1, "her proof nonce is used");
    }

    function test_aSignerProofIsGoodForOneRegistration() public {
        (uint256 id,) = lockAs(alice, 1, MIN_LOCK);
        vm.warp(block.timestamp + SIGNER_THROTTLE);
        (address newSigner, bytes memory newPubkey) = signerKey(2);
        // Signed for nonce 0 (already used by the lock): refused.
        bytes memory stale = signerProof(2, alice, 0);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.InvalidSignerProof.selector, newSigner));
        pool.updateSigner(id, newSigner, newPubkey, stale);
        bytes memory fresh = signerProof(2, alice, 1);
        vm.prank(alice);
        pool.updateSigner(id, newSigner, newPubkey, fresh);
        vm.assertEq(pool.sequencer(id).signer, newSigner, "rotated");
    }

    // ------------------------------------------------------------------ signer change

    function test_updateSignerWithThrottle() public {
        (uint256 id, address oldSigner) = lockAs(alice, 1, MIN_LOCK);
        (address newSigner, bytes memory newPubkey) = signerKey(2);
        bytes memory newProof = signerProof(2, alice, 1);
        uint256 allowedAt = block.timestamp + SIGNER_THROTTLE;
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.SignerChangeThrottled.selector, id, allowedAt));
        pool.updateSigner(id, newSigner, newPubkey, newProof);

        vm.warp(allowedAt);
        vm.expectEmit(true, true, true, true, address(pool));
        emit SignerChange(id, pool.eventNonce() + 1, oldSigner, newSigner, newPubkey);
        vm.prank(alice);
        pool.updateSigner(id, newSigner, newPubkey, newProof);
        vm.assertEq(pool.sequencer(id).signer, newSigner, "signer");

        // Back to the old signer is refused: signers are never reused.
        vm.warp(allowedAt + SIGNER_THROTTLE);
        (, bytes memory oldPubkey) = signerKey(1);
        bytes memory oldProof = signerProof(1, alice, 2);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.SignerInUse.selector, oldSigner));
        pool.updateSigner(id, oldSigner, oldPubkey, oldProof);

        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.NotSequencerOwner.selector, id, bob));
        pool.updateSigner(id, newSigner, newPubkey, newProof);
    }

    function test_updateSignerAndRewardsNeedActiveOwnedSequencer() public {
        (uint256 id,) = lockAs(alice, 1, MIN_LOCK);
        (address newSigner, bytes memory newPubkey) = signerKey(2);
        bytes memory newProof = signerProof(2, alice, 1);
        vm.prank(bob);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.NotSequencerOwner.selector, id, bob));
        pool.withdrawRewards(id);
        vm.prank(alice);
        pool.unlock(id);
        vm.warp(block.timestamp + SIGNER_THROTTLE);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.SequencerNotActive.selector, id));
        pool.updateSigner(id, newSigner, newPubkey, newProof);
    }

    function testFuzz_governanceLockBounds(uint256 newMin, uint256 newMax) public {
        newMax = bound(newMax, 0, 10 * MAX_LOCK);
        if (newMax < MIN_LOCK) {
            vm.expectRevert(abi.encodeWithSelector(LockingPool.InvalidLockBounds.selector, MIN_LOCK, newMax));
            gov.execute(address(pool), abi.encodeCall(LockingPool.setMaxLock, (newMax)));
            return;
        }
        gov.execute(address(pool), abi.encodeCall(LockingPool.setMaxLock, (newMax)));
        newMin = bound(newMin, 0, 20 * MAX_LOCK);
        if (newMin == 0 || newMin > newMax) {
            vm.expectRevert(abi.encodeWithSelector(LockingPool.InvalidLockBounds.selector, newMin, newMax));
        }
        gov.execute(address(pool), abi.encodeCall(LockingPool.setMinLock, (newMin)));
        // Whatever happened, the stored bounds stay ordered and non-zero.
        vm.assertGe(pool.maxLock(), pool.minLock(), "max >= min");
        vm.assertGe(pool.minLock(), 1, "min > 0");
    }

    // ------------------------------------------------------------------ rewards

    function _distribution(uint256 sequence, uint256 startEpoch, uint256 endEpoch, uint256 id1, uint256 id2)
        internal
        pure
        returns (RewardDistribution memory d)
    {
        d.sequence = sequence;
        d.startEpoch = startEpoch;
        d.endEpoch = endEpoch;
        d.sequencerIds = new uint256[](2);
        d.blocksProduced = new uint256[](2);
        d.sequencerIds[0] = id1;
        d.sequencerIds[1] = id2;
        d.blocksProduced[0] = 600;
        d.blocksProduced[1] = 400;
    }

    function test_rewardDistributionAndWithdrawal() public {
        (uint256 a,) = lockAs(alice, 1, MIN_LOCK);
        (uint256 b,) = lockAs(bob, 2, MIN_LOCK);
        RewardDistribution memory d = _distribution(0, 0, 4, a, b);
        FrostSignature memory sig = groupSign(pool.rewardDigest(d));
        vm.expectEmit(true, true, true, true, address(pool));
        emit RewardsDistributed(0, pool.eventNonce() + 1, 0, 4, 1000 ether);
        pool.distributeRewards(d, sig);
        vm.assertEq(pool.sequencer(a).reward, 600 ether, "alice reward");
        vm.assertEq(pool.sequencer(b).reward, 400 ether, "bob reward");
        vm.assertEq(pool.rewardSequence(), 1, "sequence");
        vm.assertEq(pool.nextRewardEpoch(), 5, "next epoch");

        // The same distribution again: the sequence no longer matches.
        vm.expectRevert(abi.encodeWithSelector(LockingPool.RewardSequenceMismatch.selector, 1, 0));
        pool.distributeRewards(d, sig);

        vm.expectEmit(true, true, true, true, address(pool));
        emit RewardsWithdrawn(a, pool.eventNonce() + 1, alice, 600 ether);
        vm.prank(alice);
        pool.withdrawRewards(a);
        vm.assertEq(token.balanceOf(alice), 600 ether, "paid");
        vm.assertEq(token.balanceOf(rewardPayer), 1_000_000 ether - 600 ether, "from payer");
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.NoRewards.selector, a));
        pool.withdrawRewards(a);
        vm.assertEq(token.balanceOf(address(pool.escrow())), 2 * MIN_LOCK, "stake untouched");
    }

    function test_rewardDistributionRejects() public {
        (uint256 a,) = lockAs(alice, 1, MIN_LOCK);
        RewardDistribution memory d = _distribution(0, 0, 4, a, a);
        FrostSignature memory sig;

        d.sequence = 1;
        sig = groupSign(pool.rewardDigest(d));
        vm.expectRevert(abi.encodeWithSelector(LockingPool.RewardSequenceMismatch.selector, 0, 1));
        pool.distributeRewards(d, sig);
        d.sequence = 0;
        d.startEpoch = 1;
        sig = groupSign(pool.rewardDigest(d));
        vm.expectRevert(abi.encodeWithSelector(LockingPool.RewardEpochMismatch.selector, 0, 1));
        pool.distributeRewards(d, sig);
        d = _distribution(0, 0, 0, a, a);
        d.blocksProduced = new uint256[](1);
        sig = groupSign(pool.rewardDigest(d));
        vm.expectRevert(abi.encodeWithSelector(LockingPool.RewardArraysLengthMismatch.selector, 2, 1));
        pool.distributeRewards(d, sig);

        d = _distribution(0, 0, 4, a, 77);
        sig = groupSign(pool.rewardDigest(d));
        vm.expectRevert(abi.encodeWithSelector(LockingPool.UnknownSequencer.selector, 77));
        pool.distributeRewards(d, sig);

        d = _distribution(0, 0, 4, a, a);
        sig = groupSign(pool.rewardDigest(d));
        d.blocksProduced[0] += 1; // altered after signing
        vm.expectRevert(LockingPool.InvalidGroupSignature.selector);
        pool.distributeRewards(d, sig);
        vm.assertEq(pool.sequencer(a).reward, 0, "no reward credited");
    }

    function test_rewardEpochRangeMustNotBeReversed() public {
        (uint256 a,) = lockAs(alice, 1, MIN_LOCK);
        RewardDistribution memory first = _distribution(0, 0, 4, a, a);
        pool.distributeRewards(first, groupSign(pool.rewardDigest(first)));
        RewardDistribution memory d = _distribution(1, 5, 4, a, a);
        FrostSignature memory sig = groupSign(pool.rewardDigest(d));
        vm.expectRevert(abi.encodeWithSelector(LockingPool.InvalidEpochRange.selector, 5, 4));
        pool.distributeRewards(d, sig);
    }

    // ------------------------------------------------------------------ governance functions

    function test_adminFunctionsOnlyThroughGovernance() public {
        bytes[9] memory calls = [
            abi.encodeCall(LockingPool.slash, (1, 1)),
            abi.encodeCall(LockingPool.setWhitelist, (alice, true)),
            abi.encodeCall(LockingPool.setMinLock, (1)),
            abi.encodeCall(LockingPool.setMaxLock, (MAX_LOCK)),
            abi.encodeCall(LockingPool.setRewardPerBlock, (2)),
            abi.encodeCall(LockingPool.setWithdrawalDelay, (MIN_WITHDRAWAL_DELAY)),
            abi.encodeCall(LockingPool.setSignerUpdateThrottle, (1)),
            abi.encodeCall(LockingPool.setRewardPayer, (bob)),
            abi.encodeCall(LockingPool.setPaused, (true))
        ];
        for (uint256 i = 0; i < calls.length; ++i) {
            (bool ok, bytes memory err) = address(pool).call(calls[i]);
            vm.assertFalse(ok, "direct call accepted");
            vm.assertEq(keccak256(err), keccak256(abi.encodeWithSelector(LockingPool.NotGovernance.selector, address(this))), "error");
            uint256 nonce = pool.eventNonce();
            gov.execute(address(pool), calls[i]);
            vm.assertEq(pool.eventNonce(), nonce + 1, "one event per change");
        }
        vm.assertTrue(pool.whitelisted(alice), "whitelist");
        vm.assertEq(pool.minLock(), 1, "minLock");
        vm.assertEq(pool.rewardPerBlock(), 2, "rewardPerBlock");
        vm.assertEq(pool.withdrawalDelay(), MIN_WITHDRAWAL_DELAY, "withdrawalDelay");
        vm.assertEq(pool.signerUpdateThrottle(), 1, "throttle");
        vm.assertEq(pool.rewardPayer(), bob, "payer");
        vm.assertTrue(pool.paused(), "paused");
    }

    function test_governanceSettersValidate() public {
        vm.expectRevert(abi.encodeWithSelector(LockingPool.InvalidLockBounds.selector, MAX_LOCK + 1, MAX_LOCK));
        gov.execute(address(pool), abi.encodeCall(LockingPool.setMinLock, (MAX_LOCK + 1)));
        vm.expectRevert(abi.encodeWithSelector(LockingPool.InvalidLockBounds.selector, 0, MAX_LOCK));
        gov.execute(address(pool), abi.encodeCall(LockingPool.setMinLock, (0)));
        vm.expectRevert(abi.encodeWithSelector(LockingPool.InvalidLockBounds.selector, MIN_LOCK, MIN_LOCK - 1));
        gov.execute(address(pool), abi.encodeCall(LockingPool.setMaxLock, (MIN_LOCK - 1)));
        vm.expectRevert(abi.encodeWithSelector(LockingPool.DelayTooLong.selector, 366 days, 365 days));
        gov.execute(address(pool), abi.encodeCall(LockingPool.setWithdrawalDelay, (366 days)));
        vm.expectRevert(abi.encodeWithSelector(LockingPool.DelayTooLong.selector, 366 days, 365 days));
        gov.execute(address(pool), abi.encodeCall(LockingPool.setSignerUpdateThrottle, (366 days)));
        vm.expectRevert(LockingPool.ZeroAddress.selector);
        gov.execute(address(pool), abi.encodeCall(LockingPool.setRewardPayer, (address(0))));
        vm.expectRevert(LockingPool.ZeroAddress.selector);
        gov.execute(address(pool), abi.encodeCall(LockingPool.setWhitelist, (address(0), true)));
    }

    function test_pauseBlocksUserActions() public {
        (uint256 id,) = lockAs(alice, 1, MIN_LOCK);
        gov.execute(address(pool), abi.encodeCall(LockingPool.setPaused, (true)));
        (address signer2, bytes memory pubkey2) = signerKey(2);
        bytes memory proof2 = signerProof(2, alice, 1);
        vm.startPrank(alice);
        vm.expectRevert(LockingPool.ContractPaused.selector);
        pool.lockFor(signer2, MIN_LOCK, pubkey2, proof2);
        vm.expectRevert(LockingPool.ContractPaused.selector);
        pool.relock(id, 1);
        vm.expectRevert(LockingPool.ContractPaused.selector);
        pool.unlock(id);
        vm.expectRevert(LockingPool.ContractPaused.selector);
        pool.claimUnlocked(id);
        vm.expectRevert(LockingPool.ContractPaused.selector);
        pool.updateSigner(id, signer2, pubkey2, proof2);
        vm.expectRevert(LockingPool.ContractPaused.selector);
        pool.withdrawRewards(id);
        vm.stopPrank();
        gov.execute(address(pool), abi.encodeCall(LockingPool.setPaused, (false)));
        vm.prank(alice);
        pool.unlock(id);
    }

    // ------------------------------------------------------------------ slash

    function test_slashTakesStakeToTheSinkCappedAtLocked() public {
        (uint256 id,) = lockAs(alice, 1, 2 * MIN_LOCK);
        lockAs(bob, 2, MIN_LOCK);
        address escrow = address(pool.escrow());
        vm.expectEmit(true, true, true, true, address(pool));
        emit Slashed(id, pool.eventNonce() + 1, 50 ether, 3 * MIN_LOCK - 50 ether);
        gov.execute(address(pool), abi.encodeCall(LockingPool.slash, (id, 50 ether)));
        vm.assertEq(pool.sequencer(id).amount, 2 * MIN_LOCK - 50 ether, "stake after slash");
        vm.assertEq(pool.totalLocked(), 3 * MIN_LOCK - 50 ether, "totalLocked");
        vm.assertEq(token.balanceOf(escrow), pool.totalLocked(), "escrow == totalLocked");
        vm.assertEq(token.balanceOf(address(pool.slashSink())), 50 ether, "sink");

        // More than is left: capped, the sequencer stays Active with 0 (the chain gives it power 0).
        vm.expectEmit(true, true, true, true, address(pool));
        emit Slashed(id, pool.eventNonce() + 1, 2 * MIN_LOCK - 50 ether, MIN_LOCK);
        gov.execute(address(pool), abi.encodeCall(LockingPool.slash, (id, MAX_LOCK)));
        vm.assertEq(pool.sequencer(id).amount, 0, "all taken");
        vm.assertEq(uint256(pool.sequencer(id).status), uint256(LockingPool.Status.Active), "status kept");
        vm.assertEq(token.balanceOf(escrow), MIN_LOCK, "only bob's stake left");
        vm.assertEq(token.balanceOf(address(pool.slashSink())), 2 * MIN_LOCK, "sink has all");
    }

    /// @dev Issue 23 point 6: governance cannot shorten the withdrawal delay below the floor
    ///      fixed at deployment (before, setWithdrawalDelay(0) was accepted)...
    function test_withdrawalDelayNeverGoesBelowItsFloor() public {
        vm.assertEq(pool.minWithdrawalDelay(), MIN_WITHDRAWAL_DELAY, "floor");
        vm.expectRevert(
            abi.encodeWithSelector(LockingPool.DelayBelowFloor.selector, MIN_WITHDRAWAL_DELAY - 1, MIN_WITHDRAWAL_DELAY)
        );
        gov.execute(address(pool), abi.encodeCall(LockingPool.setWithdrawalDelay, (MIN_WITHDRAWAL_DELAY - 1)));
        vm.expectRevert(abi.encodeWithSelector(LockingPool.DelayBelowFloor.selector, 0, MIN_WITHDRAWAL_DELAY));
        gov.execute(address(pool), abi.encodeCall(LockingPool.setWithdrawalDelay, (0)));
        gov.execute(address(pool), abi.encodeCall(LockingPool.setWithdrawalDelay, (MIN_WITHDRAWAL_DELAY)));
        vm.assertEq(pool.withdrawalDelay(), MIN_WITHDRAWAL_DELAY, "the floor itself is allowed");
    }

    /// @dev ...so a sequencer that misbehaves and unlocks in the same block is still there when
    ///      its slash lands, however late within the floor: the group-signed slash runs at once
    ///      and the claim gets only what is left.
    function test_aSequencerThatUnlocksAtOnceIsStillSlashedBeforeItCanClaim() public {
        gov.execute(address(pool), abi.encodeCall(LockingPool.setWithdrawalDelay, (MIN_WITHDRAWAL_DELAY)));
        (uint256 id,) = lockAs(alice, 1, MIN_LOCK);
        vm.prank(alice);
        pool.unlock(id);
        vm.warp(block.timestamp + MIN_WITHDRAWAL_DELAY - 1);
        uint256 claimableAt = pool.sequencer(id).unlockClaimableAt;
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.WithdrawalDelayNotOver.selector, id, claimableAt));
        pool.claimUnlocked(id);
        GovernanceAction memory slash = GovernanceAction({
            target: address(pool), data: abi.encodeCall(LockingPool.slash, (id, 40 ether)), nonce: gov.actionNonce()
        });
        gov.executeSigned(slash, groupSign(gov.actionDigest(slash)));
        vm.warp(block.timestamp + 1);
        vm.prank(alice);
        pool.claimUnlocked(id);
        vm.assertEq(token.balanceOf(alice), MIN_LOCK - 40 ether, "claimed what the slash left");
    }

    function test_slashReachesUnlockingStake() public {
        (uint256 id,) = lockAs(alice, 1, MIN_LOCK);
        vm.prank(alice);
        pool.unlock(id);
        gov.execute(address(pool), abi.encodeCall(LockingPool.slash, (id, 30 ether)));
        vm.warp(block.timestamp + WITHDRAWAL_DELAY);
        vm.prank(alice);
        pool.claimUnlocked(id);
        vm.assertEq(token.balanceOf(alice), MIN_LOCK - 30 ether, "owner gets the rest");
        vm.assertEq(pool.totalLocked(), 0, "nothing locked");
        vm.assertEq(token.balanceOf(address(pool.escrow())), 0, "escrow empty");
    }

    /// @dev An unknown or Unlocked sequencer, or amount 0: slashes 0 and emits, never reverts (a
    ///      reverting group action would hold Governance.actionNonce for good).
    function test_slashOfNothingSlashesZeroAndEmits() public {
        (uint256 id,) = lockAs(alice, 1, MIN_LOCK);
        vm.prank(alice);
        pool.unlock(id);
        vm.warp(block.timestamp + WITHDRAWAL_DELAY);
        vm.prank(alice);
        pool.claimUnlocked(id);
        uint256[3] memory ids = [id, 0, 99];
        for (uint256 i = 0; i < ids.length; ++i) {
            vm.expectEmit(true, true, true, true, address(pool));
            emit Slashed(ids[i], pool.eventNonce() + 1, 0, 0);
            gov.execute(address(pool), abi.encodeCall(LockingPool.slash, (ids[i], 10 ether)));
        }
        (uint256 bobId,) = lockAs(bob, 2, MIN_LOCK);
        vm.expectEmit(true, true, true, true, address(pool));
        emit Slashed(bobId, pool.eventNonce() + 1, 0, MIN_LOCK);
        gov.execute(address(pool), abi.encodeCall(LockingPool.slash, (bobId, 0)));
        vm.assertEq(token.balanceOf(address(pool.slashSink())), 0, "nothing taken");
    }

    function test_slashOnlyByGovernance() public {
        (uint256 id,) = lockAs(alice, 1, MIN_LOCK);
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.NotGovernance.selector, alice));
        pool.slash(id, 1);
        vm.expectRevert(abi.encodeWithSelector(LockingPool.NotGovernance.selector, address(this)));
        pool.slash(id, 1);
        vm.assertEq(pool.sequencer(id).amount, MIN_LOCK, "untouched");
    }

    /// @dev The path the relayer takes: Governance.executeSigned with the group's FROST signature.
    function test_slashThroughGroupSignedAction() public {
        (uint256 id,) = lockAs(alice, 1, MIN_LOCK);
        GovernanceAction memory action = GovernanceAction({
            target: address(pool), data: abi.encodeCall(LockingPool.slash, (id, 10 ether)), nonce: gov.actionNonce()
        });
        FrostSignature memory sig = groupSign(gov.actionDigest(action));
        vm.prank(address(0xD00D)); // any relayer
        vm.expectEmit(true, true, true, true, address(pool));
        emit Slashed(id, pool.eventNonce() + 1, 10 ether, MIN_LOCK - 10 ether);
        gov.executeSigned(action, sig);
        vm.assertEq(pool.sequencer(id).amount, MIN_LOCK - 10 ether, "slashed");
        vm.assertEq(token.balanceOf(address(pool.slashSink())), 10 ether, "sink");
        vm.assertEq(gov.actionNonce(), action.nonce + 1, "action nonce used");
        // Relayed twice (two sidecars): the second is refused by the action nonce, nothing more taken.
        vm.expectRevert(abi.encodeWithSelector(Governance.ActionNonceMismatch.selector, action.nonce + 1, action.nonce));
        gov.executeSigned(action, sig);
        vm.assertEq(pool.sequencer(id).amount, MIN_LOCK - 10 ether, "slashed once");
    }

    /// @dev Gas of a relayed slash (the whole executeSigned call: FROST check + slash + token
    ///      transfer out of escrow) and of the slash itself; figures in docs/benchmarks.md.
    function test_slashGas() public {
        (uint256 id,) = lockAs(alice, 1, MIN_LOCK);
        GovernanceAction memory action = GovernanceAction({
            target: address(pool), data: abi.encodeCall(LockingPool.slash, (id, 10 ether)), nonce: gov.actionNonce()
        });
        FrostSignature memory sig = groupSign(gov.actionDigest(action));
        uint256 before = gasleft();
        gov.executeSigned(action, sig);
        uint256 relayed = before - gasleft();
        vm.prank(address(gov));
        before = gasleft();
        pool.slash(id, 10 ether);
        uint256 direct = before - gasleft();
        Console.log("executeSigned(slash) gas", relayed);
        Console.log("LockingPool.slash gas", direct);
        vm.assertLt(relayed, 110_000, "relayed slash gas");
    }

    // ------------------------------------------------------------------ event nonce

    /// @dev Every pool event carries the nonce as its first data word: 1, 2, 3, ... without gaps.
    function test_eventNoncesAreContiguous() public {
        vm.recordLogs();
        (uint256 a,) = lockAs(alice, 1, MIN_LOCK);
        (uint256 b,) = lockAs(bob, 2, MIN_LOCK);
        token.mint(alice, 10 ether);
        vm.startPrank(alice);
        token.approve(address(pool), 10 ether);
        pool.relock(a, 10 ether);
        pool.unlock(a);
        vm.stopPrank();
        RewardDistribution memory d = _distribution(0, 0, 0, a, b);
        pool.distributeRewards(d, groupSign(pool.rewardDigest(d)));
        vm.prank(bob);
        pool.withdrawRewards(b);
        gov.execute(address(pool), abi.encodeCall(LockingPool.setRewardPerBlock, (3)));
        gov.execute(address(pool), abi.encodeCall(LockingPool.slash, (b, 1 ether)));

        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 expected = 1;
        for (uint256 i = 0; i < logs.length; ++i) {
            if (logs[i].emitter != address(pool)) continue;
            uint256 nonce = abi.decode(logs[i].data, (uint256));
            vm.assertEq(nonce, expected, "event nonce");
            ++expected;
        }
        // whitelist x2, lock x2, relock, unlock, rewards, withdraw, param, slash
        vm.assertEq(expected - 1, 10, "pool events");
        vm.assertEq(pool.eventNonce(), 10, "eventNonce");
    }
}
