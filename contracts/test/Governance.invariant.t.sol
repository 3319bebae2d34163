// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Fixture} from "./utils/Fixture.sol";
import {TestBase} from "./utils/TestBase.sol";
import {Governance, GovernanceAction} from "../src/Governance.sol";
import {LockingPool} from "../src/LockingPool.sol";

/// @notice Relays group-signed actions (good ones, reverting ones, ones on ungoverned targets,
///         immediate slashes, stale nonces), runs queued ones, replays and lets time pass.
contract GovernanceHandler is TestBase {
    Governance internal immutable gov;
    LockingPool internal immutable pool;
    uint256 internal immutable groupSecret;
    GovernanceAction[] internal taken;
    /// @notice The highest actionNonce seen after any call.
    uint256 public highestNonce;
    /// @notice Actions the handler relayed that Governance accepted.
    uint256 public accepted;
    uint256 public ran;

    constructor(Governance gov_, LockingPool pool_, uint256 groupSecret_) {
        gov = gov_;
        pool = pool_;
        groupSecret = groupSecret_;
    }

    function _observe() internal {
        highestNonce = gov.actionNonce();
    }

    function _data(uint256 kind, uint256 value) internal view returns (address target, bytes memory data) {
        kind %= 5;
        if (kind == 0) return (address(pool), abi.encodeCall(LockingPool.setMaxLock, (bound(value, 200 ether, 5000 ether))));
        if (kind == 1) return (address(pool), abi.encodeCall(LockingPool.setMinLock, (0))); // reverts
        if (kind == 2) return (address(0xDEAD), abi.encodeWithSignature("f()")); // not governed
        if (kind == 3) return (address(pool), abi.encodeCall(LockingPool.slash, (value % 3, 1 ether))); // immediate
        return (address(pool), hex"01"); // shorter than a selector
    }

    /// @dev Signs and relays an action; `stale` signs it for a nonce other than the next one.
    function relay(uint256 kind, uint256 value, bool stale) external {
        (address target, bytes memory data) = _data(kind, value);
        uint256 nonce = gov.actionNonce();
        if (stale) nonce = nonce == 0 ? 1 : nonce - 1;
        GovernanceAction memory action = GovernanceAction({target: target, data: data, nonce: nonce});
        try gov.executeSigned(action, frostSign(groupSecret, gov.actionDigest(action))) {
            taken.push(action);
            ++accepted;
        } catch {}
        _observe();
    }

    /// @dev Mostly the action at nextToRun (taken[n] has nonce n); one call in four any action,
    ///      to try them out of order.
    function runQueued(uint256 index) external {
        if (taken.length == 0) return;
        uint256 next = gov.nextToRun();
        if (index % 4 != 0 && next < taken.length) index = next;
        GovernanceAction memory action = taken[index % taken.length];
        try gov.executeQueued(action) {
            ++ran;
        } catch {}
        _observe();
    }

    function passTime(uint256 secondsAhead) external {
        vm.warp(block.timestamp + bound(secondsAhead, 1, 10 days));
        _observe();
    }
}

contract GovernanceInvariantTest is Fixture {
    GovernanceHandler internal handler;

    function setUp() public {
        deployAll();
        lockAs(address(0x1001), 1, 500 ether);
        lockAs(address(0x1002), 2, 500 ether);
        handler = new GovernanceHandler(gov, pool, GROUP_SECRET);
    }

    /// @dev Read by forge: only the handler is called during the invariant run.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    /// @dev Every accepted action took exactly one nonce, and none was ever given back.
    function invariant_actionNonceOnlyGrows() public view {
        vm.assertEq(gov.actionNonce(), handler.accepted(), "actionNonce != accepted actions");
        vm.assertGe(gov.actionNonce(), handler.highestNonce(), "actionNonce went back");
    }

    /// @dev Queued actions run in nonce order: every nonce below nextToRun has run (at once, or
    ///      from the queue), nextToRun itself waits in the queue, and no nonce at or past it ran
    ///      from the queue.
    function invariant_queuedActionsRunInOrder() public view {
        uint256 next = gov.nextToRun();
        uint256 taken = gov.actionNonce();
        vm.assertLe(next, taken, "nextToRun past the taken nonces");
        for (uint256 n = 0; n < taken; ++n) {
            (, uint64 eta, bool executed) = gov.queued(n);
            if (n < next) {
                vm.assertTrue(eta == 0 || executed, "a nonce below nextToRun has not run");
            } else {
                vm.assertFalse(executed, "a nonce at or past nextToRun ran from the queue");
            }
            if (n == next) vm.assertTrue(eta != 0, "nextToRun is not waiting in the queue");
        }
    }

    function afterInvariant() public view {
        vm.assertGe(handler.accepted(), 1, "no action accepted in this run");
    }
}
