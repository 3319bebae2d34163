// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Fixture} from "./utils/Fixture.sol";
import {FrostSignature} from "../src/FrostVerifier.sol";
import {Governance, GovernanceAction} from "../src/Governance.sol";
import {GroupKeyRegistry} from "../src/GroupKeyRegistry.sol";
import {LockingPool} from "../src/LockingPool.sol";

contract GovernanceTest is Fixture {
    event AdminRetired(address indexed admin);
    event ActionExecuted(address indexed target, bytes4 indexed selector, uint256 actionNonce, bool groupSigned);

    function setUp() public {
        deployAll();
    }

    function _action(bytes memory data, uint256 nonce) internal view returns (GovernanceAction memory) {
        return GovernanceAction({target: address(pool), data: data, nonce: nonce});
    }

    function test_constructorRejectsZeroAdmin() public {
        vm.expectRevert(Governance.ZeroAddress.selector);
        new Governance(address(0));
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

    function test_groupSignedActionExecutesOnce() public {
        GovernanceAction memory action = _action(abi.encodeCall(LockingPool.setMaxLock, (2000 ether)), 0);
        FrostSignature memory sig = groupSign(gov.actionDigest(action));
        vm.prank(address(0xD00D)); // any relayer
        vm.expectEmit(true, true, true, true, address(gov));
        emit ActionExecuted(address(pool), LockingPool.setMaxLock.selector, 0, true);
        gov.executeSigned(action, sig);
        vm.assertEq(pool.maxLock(), 2000 ether, "applied");
        vm.assertEq(gov.actionNonce(), 1, "nonce advanced");

        vm.expectRevert(abi.encodeWithSelector(Governance.ActionNonceMismatch.selector, 1, 0));
        gov.executeSigned(action, sig);
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
        Governance other = new Governance(address(this));
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
        GovernanceAction memory action = _action(abi.encodeCall(LockingPool.setWhitelist, (address(0xA11CE), true)), 0);
        gov.executeSigned(action, groupSign(gov.actionDigest(action)));
        vm.assertTrue(pool.whitelisted(address(0xA11CE)), "group whitelisted");
    }

    function test_retireAdminNeedsGroupKey() public {
        Governance fresh = new Governance(address(this));
        vm.expectRevert(Governance.GroupKeyNotSet.selector);
        fresh.retireAdmin();
        vm.assertEq(fresh.admin(), address(this), "admin kept");
    }
}
