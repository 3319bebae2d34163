// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {TestBase} from "./utils/TestBase.sol";
import {FrostSignature, FrostVerifier} from "../src/FrostVerifier.sol";
import {GroupKeyRegistry} from "../src/GroupKeyRegistry.sol";

contract GroupKeyRegistryTest is TestBase {
    uint256 internal constant KEY_1 = 0x1111;
    uint256 internal constant KEY_2 = 0x2222;
    GroupKeyRegistry internal registry;

    event GroupKeySet(uint256 indexed keyNonce, uint256 px, uint256 py);
    event GroupKeyRotated(uint256 indexed keyNonce, uint256 oldPx, uint256 oldPy, uint256 newPx, uint256 newPy);

    function setUp() public {
        registry = new GroupKeyRegistry(address(this));
    }

    function test_constructorRejectsZeroGovernance() public {
        vm.expectRevert(GroupKeyRegistry.ZeroAddress.selector);
        new GroupKeyRegistry(address(0));
    }

    function test_initialKeySetOnceByGovernance() public {
        (uint256 px, uint256 py) = groupKeyOf(KEY_1);
        vm.prank(address(0xBEEF));
        vm.expectRevert(abi.encodeWithSelector(GroupKeyRegistry.NotGovernance.selector, address(0xBEEF)));
        registry.setInitialKey(px, py);
        vm.assertFalse(registry.isKeySet(), "unset");
        vm.assertEq(registry.groupKeyAddress(), address(0), "no address while unset");

        vm.expectEmit(true, true, true, true, address(registry));
        emit GroupKeySet(1, px, py);
        registry.setInitialKey(px, py);
        vm.assertTrue(registry.isKeySet(), "set");
        vm.assertEq(registry.keyNonce(), 1, "nonce");
        vm.assertEq(registry.groupKeyAddress(), vm.addr(KEY_1), "address of key");

        (uint256 qx, uint256 qy) = groupKeyOf(KEY_2);
        vm.expectRevert(abi.encodeWithSelector(GroupKeyRegistry.GroupKeyAlreadySet.selector, px, py));
        registry.setInitialKey(qx, qy);
    }

    function test_initialKeyMustBeUsable() public {
        (uint256 px, uint256 py) = groupKeyOf(KEY_1);
        vm.expectRevert(abi.encodeWithSelector(GroupKeyRegistry.InvalidGroupKey.selector, px, py ^ 1));
        registry.setInitialKey(px, py ^ 1);
        vm.expectRevert(abi.encodeWithSelector(GroupKeyRegistry.InvalidGroupKey.selector, ORDER_N + 1, py));
        registry.setInitialKey(ORDER_N + 1, py);
    }

    function test_rotationNeedsCurrentKeySignature() public {
        (uint256 px, uint256 py) = groupKeyOf(KEY_1);
        (uint256 qx, uint256 qy) = groupKeyOf(KEY_2);
        FrostSignature memory early = frostSign(KEY_1, registry.rotationDigest(qx, qy));
        vm.expectRevert(GroupKeyRegistry.GroupKeyNotSet.selector);
        registry.rotateKey(qx, qy, early);
        registry.setInitialKey(px, py);

        // Signed by the new key instead of the current one.
        FrostSignature memory wrong = frostSign(KEY_2, registry.rotationDigest(qx, qy));
        vm.expectRevert(GroupKeyRegistry.InvalidGroupSignature.selector);
        registry.rotateKey(qx, qy, wrong);

        FrostSignature memory sig = frostSign(KEY_1, registry.rotationDigest(qx, qy));
        vm.prank(address(0xD00D)); // anyone may relay
        vm.expectEmit(true, true, true, true, address(registry));
        emit GroupKeyRotated(2, px, py, qx, qy);
        registry.rotateKey(qx, qy, sig);
        vm.assertEq(registry.px(), qx, "px");
        vm.assertEq(registry.py(), qy, "py");
        vm.assertEq(registry.keyNonce(), 2, "nonce");

        // Replay of the same rotation signature fails: the nonce moved and the key changed.
        vm.expectRevert(GroupKeyRegistry.InvalidGroupSignature.selector);
        registry.rotateKey(qx, qy, sig);

        // The registry verifies with the new key only.
        bytes32 digest = keccak256("after rotation");
        vm.assertTrue(registry.verify(digest, frostSign(KEY_2, digest)), "new key");
        vm.assertFalse(registry.verify(digest, frostSign(KEY_1, digest)), "old key");
    }

    function test_rotationRejectsUnusableKey() public {
        (uint256 px, uint256 py) = groupKeyOf(KEY_1);
        registry.setInitialKey(px, py);
        FrostSignature memory sig = frostSign(KEY_1, registry.rotationDigest(0, 0));
        vm.expectRevert(abi.encodeWithSelector(GroupKeyRegistry.InvalidGroupKey.selector, 0, 0));
        registry.rotateKey(0, 0, sig);
    }

    function test_verifyFalseWhileUnset() public {
        bytes32 digest = keccak256("x");
        vm.assertFalse(registry.verify(digest, frostSign(KEY_1, digest)), "unset registry verified");
    }
}
