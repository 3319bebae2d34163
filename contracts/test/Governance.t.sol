// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Fixture} from "./utils/Fixture.sol";
import {FrostSignature} from "../src/FrostVerifier.sol";
import {Governance, GovernanceAction} from "../src/Governance.sol";
import {GroupKeyRegistry} from "../src/GroupKeyRegistry.sol";
import {LockingPool} from "../src/LockingPool.sol";
import {SlashSink} from "../src/SlashSink.sol";

contract GovernanceTest is Fixture {
    event AdminRetired(address indexed admin);
    event ActionExecuted(address indexed target, bytes4 indexed selector, uint256 actionNonce, bool groupSigned);
    event ActionQueued(uint256 indexed actionNonce, address indexed target, bytes4 indexed selector, uint256 eta);
    event ActionFailed(uint256 actionNonce, address indexed target, bytes4 indexed selector, bytes revertData);

    function setUp() public {
        deployAll();
    }

    function _action(bytes memory data, uint256 nonce) internal view returns (GovernanceAction memory) {
        return GovernanceAction({target: address(pool), data: data, nonce: nonce});
    }

    function test_constructorRejectsZeroAdmin() public {
        vm.expectRevert(Governance.ZeroAddress.selector);
        new Governance(address(0), 0, address(token));
    }

    function test_adminExecutes() public {
        bytes memory data = abi.encodeCall(LockingPool.setRewardPerBlock, (5));
        vm.expectEmit(true, true, true, true, address(gov));
        emit ActionExecuted(address(pool), LockingPool.setRewardPerBlock.selector, type(uint256).max, false);
        gov.execute(address(pool), data);
        vm.assertEq(pool.rewardPerBlock(), 5, "applied");

        vm.prank(address(0xBAD));
        vm.expectRevert(abi.encodeWithSelector(Governance.NotAdmin.selector, address(0xBAD)));
        gov.execute(address(pool), data);
    }

    function test_onlyGovernedTargets() public {
        bytes memory data = abi.encodeWithSignature("mint(address,uint256)", address(this), 1);
        vm.expectRevert(abi.encodeWithSelector(Governance.TargetNotGoverned.selector, address(token)));
        gov.execute(address(token), data);
        vm.expectRevert(abi.encodeWithSelector(Governance.TargetNotGoverned.selector, address(pool)));
        gov.execute(address(pool), hex"0102");
        vm.expectRevert(abi.encodeWithSelector(Governance.OnlySelf.selector, address(this)));
        gov.setGovernedTarget(address(token), true);
        vm.expectRevert(Governance.ZeroAddress.selector);
        gov.execute(address(gov), abi.encodeCall(Governance.setGovernedTarget, (address(0), true)));
        // Removing a target works through an action.
        gov.execute(address(gov), abi.encodeCall(Governance.setGovernedTarget, (address(pool), false)));
        vm.assertFalse(gov.governedTarget(address(pool)), "removed");
    }

    function test_targetErrorsBubbleUp() public {
        vm.expectRevert(abi.encodeWithSelector(LockingPool.InvalidLockBounds.selector, 0, MAX_LOCK));
        gov.execute(address(pool), abi.encodeCall(LockingPool.setMinLock, (0)));
    }

    /// @dev Signs and relays `data` on `target` as action `nonce`, then runs it after the window.
    function _signQueueRun(address target, bytes memory data, uint256 nonce) internal returns (GovernanceAction memory action) {
        action = GovernanceAction({target: target, data: data, nonce: nonce});
        gov.executeSigned(action, groupSign(gov.actionDigest(action)));
        vm.warp(block.timestamp + gov.executionDelay());
        gov.executeQueued(action);
    }

    function test_groupSignedActionWaitsForTheExitWindow() public {
        GovernanceAction memory action = _action(abi.encodeCall(LockingPool.setMaxLock, (2000 ether)), 0);
        FrostSignature memory sig = groupSign(gov.actionDigest(action));
        uint256 eta = block.timestamp + EXECUTION_DELAY;
        vm.prank(address(0xD00D)); // any relayer
        vm.expectEmit(true, true, true, true, address(gov));
        emit ActionQueued(0, address(pool), LockingPool.setMaxLock.selector, eta);
        gov.executeSigned(action, sig);
        vm.assertEq(gov.actionNonce(), 1, "nonce taken when queued");
        vm.assertEq(pool.maxLock(), MAX_LOCK, "not applied during the window");
        vm.expectRevert(abi.encodeWithSelector(Governance.ActionNonceMismatch.selector, 1, 0));
        gov.executeSigned(action, sig);

        vm.warp(eta - 1);
        vm.expectRevert(abi.encodeWithSelector(Governance.ActionNotReady.selector, 0, eta));
        gov.executeQueued(action);
        vm.warp(eta);
        GovernanceAction memory altered = _action(abi.encodeCall(LockingPool.setMaxLock, (9000 ether)), 0);
        vm.expectRevert(abi.encodeWithSelector(Governance.ActionMismatch.selector, 0));
        gov.executeQueued(altered);
        vm.expectRevert(abi.encodeWithSelector(Governance.ActionNotQueued.selector, 1));
        gov.executeQueued(_action(action.data, 1));

        vm.prank(address(0xD00D));
        vm.expectEmit(true, true, true, true, address(gov));
        emit ActionExecuted(address(pool), LockingPool.setMaxLock.selector, 0, true);
        gov.executeQueued(action);
        vm.assertEq(pool.maxLock(), 2000 ether, "applied after the window");
        vm.expectRevert(abi.encodeWithSelector(Governance.ActionAlreadyExecuted.selector, 0));
        gov.executeQueued(action);
    }

    function test_slashingIsImmediate() public {
        (uint256 id,) = lockAs(address(0xA11CE), 1, 500 ether);
        GovernanceAction memory action = _action(abi.encodeCall(LockingPool.slash, (id, 100 ether)), 0);
        vm.expectEmit(true, true, true, true, address(gov));
        emit ActionExecuted(address(pool), LockingPool.slash.selector, 0, true);
        gov.executeSigned(action, groupSign(gov.actionDigest(action)));
        vm.assertEq(pool.sequencer(id).amount, 400 ether, "slashed at once");
        vm.expectRevert(abi.encodeWithSelector(Governance.ActionNotQueued.selector, 0));
        gov.executeQueued(action);
    }

    function test_revertingActionUsesItsNonceAndLaterActionsGoOn() public {
        // setMinLock(0) reverts in the pool; the token is not a governed target.
        GovernanceAction memory bad = _action(abi.encodeCall(LockingPool.setMinLock, (0)), 0);
        gov.executeSigned(bad, groupSign(gov.actionDigest(bad)));
        GovernanceAction memory ungoverned = GovernanceAction({
            target: address(token), data: abi.encodeWithSignature("mint(address,uint256)", address(this), 1), nonce: 1
        });
        gov.executeSigned(ungoverned, groupSign(gov.actionDigest(ungoverned)));
        vm.warp(block.timestamp + EXECUTION_DELAY);

        vm.expectEmit(true, true, true, true, address(gov));
        emit ActionFailed(
            0,
            address(pool),
            LockingPool.setMinLock.selector,
            abi.encodeWithSelector(LockingPool.InvalidLockBounds.selector, 0, MAX_LOCK)
        );
        gov.executeQueued(bad);
        vm.expectEmit(true, true, true, true, address(gov));
        emit ActionFailed(
            1, address(token), bytes4(keccak256("mint(address,uint256)")),
            abi.encodeWithSelector(Governance.TargetNotGoverned.selector, address(token))
        );
        gov.executeQueued(ungoverned);
        vm.assertEq(gov.actionNonce(), 2, "both nonces used");
        vm.assertEq(pool.minLock(), MIN_LOCK, "nothing changed");
        vm.expectRevert(abi.encodeWithSelector(Governance.ActionAlreadyExecuted.selector, 0));
        gov.executeQueued(bad);

        _signQueueRun(address(pool), abi.encodeCall(LockingPool.setMaxLock, (2000 ether)), 2);
        vm.assertEq(pool.maxLock(), 2000 ether, "a later action lands");
    }

    function test_tooLittleGasCannotBurnAQueuedAction() public {
        GasHungry hungry = new GasHungry();
        gov.execute(address(gov), abi.encodeCall(Governance.setGovernedTarget, (address(hungry), true)));
        GovernanceAction memory action = GovernanceAction({
            target: address(hungry), data: abi.encodeCall(GasHungry.fill, ()), nonce: 0
        });
        gov.executeSigned(action, groupSign(gov.actionDigest(action)));
        vm.warp(block.timestamp + EXECUTION_DELAY);
        // A relayer that sends too little gas for the call cannot turn it into ActionFailed.
        vm.expectRevert(Governance.InsufficientGas.selector);
        gov.executeQueued{gas: 150_000}(action);
        (,, bool executed) = gov.queued(0);
        vm.assertFalse(executed, "still queued");
        gov.executeQueued{gas: 2_000_000}(action);
        vm.assertTrue(hungry.filled(), "ran with enough gas");
    }

    function test_queuedActionsRunInNonceOrder() public {
        // Nonce 0 makes a target governed, nonce 1 calls it: run out of order, nonce 1 would fail.
        GasHungry hungry = new GasHungry();
        GovernanceAction memory govern = GovernanceAction({
            target: address(gov), data: abi.encodeCall(Governance.setGovernedTarget, (address(hungry), true)), nonce: 0
        });
        GovernanceAction memory use = GovernanceAction({
            target: address(hungry), data: abi.encodeCall(GasHungry.fill, ()), nonce: 1
        });
        gov.executeSigned(govern, groupSign(gov.actionDigest(govern)));
        gov.executeSigned(use, groupSign(gov.actionDigest(use)));
        // An immediate slash signed after them runs at once, ahead of both.
        (uint256 id,) = lockAs(address(0xA11CE), 1, 500 ether);
        GovernanceAction memory slash = _action(abi.encodeCall(LockingPool.slash, (id, 1 ether)), 2);
        gov.executeSigned(slash, groupSign(gov.actionDigest(slash)));
        vm.assertEq(pool.sequencer(id).amount, 499 ether, "slashed at once");
        vm.assertEq(gov.nextToRun(), 0, "the queue waits for nonce 0");

        vm.warp(block.timestamp + EXECUTION_DELAY);
        vm.expectRevert(abi.encodeWithSelector(Governance.ActionOutOfOrder.selector, 0, 1));
        gov.executeQueued(use);
        gov.executeQueued(govern);
        vm.assertEq(gov.nextToRun(), 1, "next");
        gov.executeQueued(use);
        vm.assertTrue(hungry.filled(), "ran in order, so it found its target governed");
        vm.assertEq(gov.nextToRun(), 3, "past the slash that ran at once");
    }

    /// @dev A relayer picks the gas. Whatever it picks, the action's call either gets enough gas
    ///      or the transaction reverts: never an ActionFailed for lack of gas, even three frames
    ///      deep (each frame keeps 1/64 back, which a check after the call alone would miss).
    function test_noGasLimitTurnsANestedCallIntoAFailure() public {
        GasHungry hungry = new GasHungry();
        Relay relay = new Relay(address(new Relay(address(hungry))));
        gov.execute(address(gov), abi.encodeCall(Governance.setGovernedTarget, (address(relay), true)));
        // An action before it, so the queue's own bookkeeping after the call is cheap (warm,
        // non-zero slots) and leaves a starved call nothing to trip over.
        _signQueueRun(address(pool), abi.encodeCall(LockingPool.setMaxLock, (2000 ether)), 0);
        GovernanceAction memory action = GovernanceAction({
            target: address(relay), data: abi.encodeCall(Relay.fill, ()), nonce: 1
        });
        gov.executeSigned(action, groupSign(gov.actionDigest(action)));
        vm.warp(block.timestamp + EXECUTION_DELAY);
        bytes memory call = abi.encodeCall(Governance.executeQueued, (action));
        bool landed;
        for (uint256 gasLimit = 300_000; gasLimit <= 1_200_000 && !landed; gasLimit += 1_000) {
            (landed,) = address(gov).call{gas: gasLimit}(call);
        }
        vm.assertTrue(landed, "some gas limit lands it");
        vm.assertTrue(hungry.filled(), "the first gas limit that lands it runs it, not fails it");
    }

    function test_executionDelayIsBounded() public {
        uint256 max = gov.MAX_EXECUTION_DELAY();
        vm.expectRevert(abi.encodeWithSelector(Governance.DelayTooLong.selector, max + 1, max));
        new Governance(address(this), max + 1, address(token));
        vm.expectRevert(abi.encodeWithSelector(Governance.DelayTooLong.selector, type(uint256).max, max));
        gov.execute(address(gov), abi.encodeCall(Governance.setExecutionDelay, (type(uint256).max)));
        gov.execute(address(gov), abi.encodeCall(Governance.setExecutionDelay, (max)));
        vm.assertEq(gov.executionDelay(), max, "the bound itself is allowed");
    }

    /// @dev Issue 23 point 2: no governed call can move stake. Before, the admin (or any action)
    ///      could govern the token and transfer the slashed stake out of Governance at once.
    function test_theStakeTokenIsNeverATarget() public {
        vm.expectRevert(abi.encodeWithSelector(Governance.TargetForbidden.selector, address(token)));
        gov.execute(address(gov), abi.encodeCall(Governance.setGovernedTarget, (address(token), true)));
        // Through a group-signed action: the call fails (ActionFailed), the token stays ungoverned.
        GovernanceAction memory action = GovernanceAction({
            target: address(gov), data: abi.encodeCall(Governance.setGovernedTarget, (address(token), true)), nonce: 0
        });
        gov.executeSigned(action, groupSign(gov.actionDigest(action)));
        vm.warp(block.timestamp + EXECUTION_DELAY);
        vm.expectEmit(true, true, true, true, address(gov));
        emit ActionFailed(
            0,
            address(gov),
            Governance.setGovernedTarget.selector,
            abi.encodeWithSelector(Governance.TargetForbidden.selector, address(token))
        );
        gov.executeQueued(action);
        vm.assertFalse(gov.governedTarget(address(token)), "the token is not governed");
        vm.expectRevert(abi.encodeWithSelector(Governance.TargetNotGoverned.selector, address(token)));
        gov.execute(address(token), abi.encodeWithSignature("transfer(address,uint256)", address(this), 1));
    }

    function test_slashedStakeLeavesTheSinkOnlyThroughADelayedAction() public {
        (uint256 id,) = lockAs(address(0xA11CE), 1, 500 ether);
        GovernanceAction memory slash = _action(abi.encodeCall(LockingPool.slash, (id, 100 ether)), 0);
        gov.executeSigned(slash, groupSign(gov.actionDigest(slash)));
        SlashSink sink = pool.slashSink();
        vm.assertEq(token.balanceOf(address(sink)), 100 ether, "slashed stake in the sink");
        vm.assertEq(token.balanceOf(address(gov)), 0, "none in Governance");
        vm.expectRevert(abi.encodeWithSelector(SlashSink.NotGovernance.selector, address(this)));
        sink.release(address(this), 1);

        GovernanceAction memory release = GovernanceAction({
            target: address(sink), data: abi.encodeCall(SlashSink.release, (address(0xB0B), 60 ether)), nonce: 1
        });
        gov.executeSigned(release, groupSign(gov.actionDigest(release)));
        vm.assertEq(token.balanceOf(address(0xB0B)), 0, "not during the exit window");
        vm.warp(block.timestamp + EXECUTION_DELAY);
        gov.executeQueued(release);
        vm.assertEq(token.balanceOf(address(0xB0B)), 60 ether, "released after it");
        vm.assertEq(token.balanceOf(address(sink)), 40 ether, "the rest stays");
    }

    function test_exitWindowChangesOnlyThroughADelayedAction() public {
        vm.expectRevert(abi.encodeWithSelector(Governance.OnlySelf.selector, address(this)));
        gov.setExecutionDelay(0);
        vm.expectRevert(abi.encodeWithSelector(Governance.OnlySelf.selector, address(this)));
        gov.setImmediate(address(pool), LockingPool.setMaxLock.selector, true);
        // Governance's own functions are never immediate, not even through the admin.
        vm.expectRevert(Governance.SelfCallNotImmediate.selector);
        gov.execute(address(gov), abi.encodeCall(Governance.setImmediate, (address(gov), Governance.setExecutionDelay.selector, true)));

        GovernanceAction memory shorten = _action(abi.encodeCall(Governance.setExecutionDelay, (60)), 0);
        shorten.target = address(gov);
        gov.executeSigned(shorten, groupSign(gov.actionDigest(shorten)));
        vm.assertEq(gov.executionDelay(), EXECUTION_DELAY, "waits the old window");
        vm.warp(block.timestamp + EXECUTION_DELAY);
        gov.executeQueued(shorten);
        vm.assertEq(gov.executionDelay(), 60, "changed after the window");
    }

    function test_groupRemovesTheAdmin() public {
        vm.expectRevert(abi.encodeWithSelector(Governance.OnlySelf.selector, address(this)));
        gov.removeAdmin();
        GovernanceAction memory action = GovernanceAction({
            target: address(gov), data: abi.encodeCall(Governance.removeAdmin, ()), nonce: 0
        });
        gov.executeSigned(action, groupSign(gov.actionDigest(action)));
        vm.assertEq(gov.admin(), address(this), "admin kept during the window");
        vm.warp(block.timestamp + EXECUTION_DELAY);
        vm.expectEmit(true, true, true, true, address(gov));
        emit AdminRetired(address(this));
        gov.executeQueued(action);
        vm.assertEq(gov.admin(), address(0), "admin gone");
        vm.expectRevert(abi.encodeWithSelector(Governance.NotAdmin.selector, address(this)));
        gov.execute(address(pool), abi.encodeCall(LockingPool.setRewardPerBlock, (5)));
    }

    function test_groupSignedActionRejectsBadSignatures() public {
        GovernanceAction memory action = _action(abi.encodeCall(LockingPool.setMaxLock, (2000 ether)), 0);
        FrostSignature memory sig = groupSign(gov.actionDigest(action));
        GovernanceAction memory altered = _action(abi.encodeCall(LockingPool.setMaxLock, (3000 ether)), 0);
        vm.expectRevert(Governance.InvalidGroupSignature.selector);
        gov.executeSigned(altered, sig);
        altered = GovernanceAction({target: address(gov), data: action.data, nonce: 0});
        vm.expectRevert(Governance.InvalidGroupSignature.selector);
        gov.executeSigned(altered, sig);
        // Another governance contract with the same group key cannot reuse it (domain separation).
        Governance other = new Governance(address(this), 0, address(token));
        (uint256 px, uint256 py) = groupKeyOf(GROUP_SECRET);
        other.execute(address(other.groupKeys()), abi.encodeCall(GroupKeyRegistry.setInitialKey, (px, py)));
        other.execute(address(other), abi.encodeCall(Governance.setGovernedTarget, (address(pool), true)));
        vm.expectRevert(Governance.InvalidGroupSignature.selector);
        other.executeSigned(action, sig);
        vm.assertEq(pool.maxLock(), MAX_LOCK, "unchanged");
    }

    function test_retireAdminHandsPowerToGroup() public {
        vm.prank(address(0xBAD));
        vm.expectRevert(abi.encodeWithSelector(Governance.NotAdmin.selector, address(0xBAD)));
        gov.retireAdmin();

        vm.expectEmit(true, true, true, true, address(gov));
        emit AdminRetired(address(this));
        gov.retireAdmin();
        vm.assertEq(gov.admin(), address(0), "admin gone");

        vm.expectRevert(abi.encodeWithSelector(Governance.NotAdmin.selector, address(this)));
        gov.execute(address(pool), abi.encodeCall(LockingPool.setRewardPerBlock, (5)));
        vm.expectRevert(abi.encodeWithSelector(Governance.NotAdmin.selector, address(this)));
        gov.retireAdmin();
        // address(0) cannot act either (no one can send from it, but check the guard anyway).
        vm.prank(address(0));
        vm.expectRevert(abi.encodeWithSelector(Governance.NotAdmin.selector, address(0)));
        gov.execute(address(pool), abi.encodeCall(LockingPool.setRewardPerBlock, (5)));

        // The group still governs, including whitelisting.
        _signQueueRun(address(pool), abi.encodeCall(LockingPool.setWhitelist, (address(0xA11CE), true)), 0);
        vm.assertTrue(pool.whitelisted(address(0xA11CE)), "group whitelisted");
    }

    function test_retireAdminNeedsGroupKey() public {
        Governance fresh = new Governance(address(this), 0, address(token));
        vm.expectRevert(Governance.GroupKeyNotSet.selector);
        fresh.retireAdmin();
        vm.assertEq(fresh.admin(), address(this), "admin kept");
    }
}

/// @notice A governed target whose call needs about 450k gas (20 fresh storage slots).
contract GasHungry {
    uint256[20] internal slots;
    bool public filled;

    function fill() external {
        for (uint256 i = 0; i < slots.length; ++i) {
            slots[i] = i + 1;
        }
        filled = true;
    }
}

/// @notice A governed target that forwards fill() to the next contract (a call a frame deeper).
contract Relay {
    address internal immutable next;

    constructor(address next_) {
        next = next_;
    }

    function fill() external {
        (bool ok, bytes memory err) = next.call(abi.encodeWithSignature("fill()"));
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(err, 32), mload(err))
            }
        }
    }
}
