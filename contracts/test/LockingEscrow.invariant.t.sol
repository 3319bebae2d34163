// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Fixture} from "./utils/Fixture.sol";
import {TestBase} from "./utils/TestBase.sol";
import {Vm} from "./utils/Vm.sol";
import {DevnetToken} from "../src/DevnetToken.sol";
import {LockingPool} from "../src/LockingPool.sol";

/// @notice Drives the pool with random lock / relock / unlock / claim / slash / time steps by a few owners
///         and keeps its own tally of what must be in escrow.
contract LockingPoolHandler is TestBase {
    LockingPool internal immutable pool;
    DevnetToken internal immutable token;
    address[] internal owners;
    uint256 internal signerSeed;
    /// @notice Sum of Active and Unlocking stake, tracked independently of the pool.
    uint256 public ghostLocked;
    uint256 public calls;

    constructor(LockingPool pool_, DevnetToken token_, address[] memory owners_) {
        pool = pool_;
        token = token_;
        owners = owners_;
    }

    function _owner(uint256 seed) internal view returns (address) {
        return owners[seed % owners.length];
    }

    function lock(uint256 ownerSeed, uint256 amount) external {
        address owner = _owner(ownerSeed);
        uint256 id = pool.sequencerIdOf(owner);
        if (id != 0 && pool.sequencer(id).status != LockingPool.Status.Unlocked) return;
        amount = bound(amount, pool.minLock(), pool.maxLock());
        uint256 secret = uint256(keccak256(abi.encode("inv signer", ++signerSeed))) % (ORDER_N - 1) + 1;
        Vm.Wallet memory w = vm.createWallet(secret);
        bytes32 digest = pool.signerProofDigest(owner, w.addr, pool.signerNonce(owner));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(secret, digest);
        token.mint(owner, amount);
        vm.startPrank(owner);
        token.approve(address(pool), amount);
        pool.lockFor(w.addr, amount, abi.encodePacked(w.publicKeyX, w.publicKeyY), abi.encodePacked(r, s, v));
        vm.stopPrank();
        ghostLocked += amount;
        ++calls;
    }

    function relock(uint256 ownerSeed, uint256 amount) external {
        address owner = _owner(ownerSeed);
        uint256 id = pool.sequencerIdOf(owner);
        if (id == 0) return;
        LockingPool.Sequencer memory s = pool.sequencer(id);
        if (s.status != LockingPool.Status.Active || s.amount == pool.maxLock()) return;
        amount = bound(amount, 1, pool.maxLock() - s.amount);
        token.mint(owner, amount);
        vm.startPrank(owner);
        token.approve(address(pool), amount);
        pool.relock(id, amount);
        vm.stopPrank();
        ghostLocked += amount;
        ++calls;
    }

    function unlock(uint256 ownerSeed) external {
        address owner = _owner(ownerSeed);
        uint256 id = pool.sequencerIdOf(owner);
        if (id == 0 || pool.sequencer(id).status != LockingPool.Status.Active) return;
        vm.prank(owner);
        pool.unlock(id);
        ++calls;
    }

    function claim(uint256 ownerSeed) external {
        address owner = _owner(ownerSeed);
        uint256 id = pool.sequencerIdOf(owner);
        if (id == 0) return;
        LockingPool.Sequencer memory s = pool.sequencer(id);
        if (s.status != LockingPool.Status.Unlocking || block.timestamp < s.unlockClaimableAt) return;
        vm.prank(owner);
        pool.claimUnlocked(id);
        ghostLocked -= s.amount;
        ++calls;
    }

    /// @dev Governance slashes any sequencer (Active, Unlocking, Unlocked or unknown) by any amount.
    function slash(uint256 idSeed, uint256 amount) external {
        uint256 id = bound(idSeed, 0, pool.lastSequencerId() + 1);
        amount = bound(amount, 0, pool.maxLock() * 2);
        uint256 locked = pool.sequencer(id).amount;
        vm.prank(pool.governance());
        pool.slash(id, amount);
        ghostLocked -= amount < locked ? amount : locked;
        ++calls;
    }

    function passTime(uint256 secondsAhead) external {
        vm.warp(block.timestamp + bound(secondsAhead, 1, 10 days));
    }
}

contract LockingEscrowInvariantTest is Fixture {
    LockingPoolHandler internal handler;
    address[] internal owners;

    function setUp() public {
        deployAll();
        for (uint256 i = 1; i <= 4; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast)
            address owner = address(uint160(0x1000 + i)); // i <= 4
            owners.push(owner);
            whitelist(owner);
        }
        handler = new LockingPoolHandler(pool, token, owners);
    }

    /// @dev Read by forge: only the handler is called during the invariant run.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function invariant_escrowHoldsLockedStake() public view {
        uint256 escrowBalance = token.balanceOf(address(pool.escrow()));
        vm.assertEq(escrowBalance, pool.totalLocked(), "escrow != totalLocked");
        vm.assertEq(escrowBalance, handler.ghostLocked(), "escrow != independent tally");
        uint256 sum;
        for (uint256 id = 1; id <= pool.lastSequencerId(); ++id) {
            LockingPool.Sequencer memory s = pool.sequencer(id);
            if (s.status == LockingPool.Status.Active || s.status == LockingPool.Status.Unlocking) sum += s.amount;
            else vm.assertEq(s.amount, 0, "unlocked sequencer keeps stake");
        }
        vm.assertEq(escrowBalance, sum, "escrow != sum of sequencer stakes");
    }

    /// @dev Run by forge after each invariant run: guards against a vacuous run in which every
    ///      handler call returned early without touching the pool.
    function afterInvariant() public view {
        vm.assertGe(handler.calls(), 1, "no pool call in this run");
    }
}
