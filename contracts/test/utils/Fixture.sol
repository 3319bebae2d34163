// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {TestBase} from "./TestBase.sol";
import {Vm} from "./Vm.sol";
import {FrostSignature} from "../../src/FrostVerifier.sol";
import {DevnetToken} from "../../src/DevnetToken.sol";
import {Governance} from "../../src/Governance.sol";
import {GroupKeyRegistry} from "../../src/GroupKeyRegistry.sol";
import {LockingPool} from "../../src/LockingPool.sol";
import {BatchInbox} from "../../src/BatchInbox.sol";

/// @notice Deploys the whole L1 side the way the deploy code does: governance (which creates the
///         key registry), token, pool, inbox; this test contract is the admin.
abstract contract Fixture is TestBase {
    uint256 internal constant GROUP_SECRET = 0x5E9_9001_A11CE;
    uint256 internal constant MIN_LOCK = 100 ether;
    uint256 internal constant MAX_LOCK = 1000 ether;
    uint256 internal constant REWARD_PER_BLOCK = 1 ether;
    uint256 internal constant WITHDRAWAL_DELAY = 7 days;
    uint256 internal constant SIGNER_THROTTLE = 1 days;
    /// @dev The withdrawal-delay floor: a slash path's worst case with a wide margin.
    uint256 internal constant MIN_WITHDRAWAL_DELAY = 1 days;
    /// @dev The exit window of group-signed actions: longer than the withdrawal delay, as in
    ///      production, so a sequencer can unlock and claim before a queued action runs.
    uint256 internal constant EXECUTION_DELAY = WITHDRAWAL_DELAY + 1 days;
    uint64 internal constant FIRST_L2_BLOCK = 1;

    DevnetToken internal token;
    Governance internal gov;
    GroupKeyRegistry internal registry;
    LockingPool internal pool;
    BatchInbox internal inbox;
    address internal rewardPayer = address(0xFEE);
    uint256 internal groupPx;
    uint256 internal groupPy;

    function deployAll() internal {
        token = new DevnetToken();
        gov = new Governance(address(this), EXECUTION_DELAY, address(token));
        registry = gov.groupKeys();
        pool = new LockingPool(
            token,
            registry,
            address(gov),
            LockingPool.Params({
                minLock: MIN_LOCK,
                maxLock: MAX_LOCK,
                rewardPerBlock: REWARD_PER_BLOCK,
                withdrawalDelay: WITHDRAWAL_DELAY,
                signerUpdateThrottle: SIGNER_THROTTLE,
                rewardPayer: rewardPayer,
                minWithdrawalDelay: MIN_WITHDRAWAL_DELAY
            })
        );
        inbox = new BatchInbox(registry, FIRST_L2_BLOCK);
        gov.execute(address(gov), abi.encodeCall(Governance.setGovernedTarget, (address(pool), true)));
        gov.execute(address(gov), abi.encodeCall(Governance.setGovernedTarget, (address(pool.slashSink()), true)));
        gov.execute(address(gov), abi.encodeCall(Governance.setImmediate, (address(pool), LockingPool.slash.selector, true)));
        (groupPx, groupPy) = groupKeyOf(GROUP_SECRET);
        gov.execute(address(registry), abi.encodeCall(GroupKeyRegistry.setInitialKey, (groupPx, groupPy)));
        // Reward payer funds and approves the pool.
        token.mint(rewardPayer, 1_000_000 ether);
        vm.prank(rewardPayer);
        token.approve(address(pool), type(uint256).max);
    }

    function groupSign(bytes32 digest) internal returns (FrostSignature memory) {
        return frostSign(GROUP_SECRET, digest);
    }

    /// @dev The secret of signer key `seed`.
    function signerSecret(uint256 seed) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode("signer", seed))) % (ORDER_N - 1) + 1;
    }

    /// @dev A sequencer signer key: its address and the 64-byte public key lockFor wants.
    function signerKey(uint256 seed) internal returns (address signer, bytes memory pubkey) {
        Vm.Wallet memory w = vm.createWallet(signerSecret(seed));
        return (w.addr, abi.encodePacked(w.publicKeyX, w.publicKeyY));
    }

    /// @dev Signer key `secret`'s proof of possession for its registration by `owner` with proof
    ///      nonce `nonce` (the pool's signerNonce[owner]). Computed here, without calling the
    ///      pool, so it can sit between a prank or expectRevert and the call it is for.
    function proofBySecret(uint256 secret, address owner, uint256 nonce) internal view returns (bytes memory) {
        bytes32 digest = keccak256(
            abi.encode(
                keccak256("seqpool.LockingPool.SignerProof"), block.chainid, address(pool), owner, vm.addr(secret), nonce
            )
        );
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(secret, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev As proofBySecret, for signer key `seed`.
    function signerProof(uint256 seed, address owner, uint256 nonce) internal view returns (bytes memory) {
        return proofBySecret(signerSecret(seed), owner, nonce);
    }

    function whitelist(address owner) internal {
        gov.execute(address(pool), abi.encodeCall(LockingPool.setWhitelist, (owner, true)));
    }

    /// @dev Whitelists `owner`, funds it and locks `amount` with signer seed `seed`.
    function lockAs(address owner, uint256 seed, uint256 amount) internal returns (uint256 id, address signer) {
        whitelist(owner);
        bytes memory pubkey;
        (signer, pubkey) = signerKey(seed);
        bytes memory proof = signerProof(seed, owner, pool.signerNonce(owner));
        token.mint(owner, amount);
        vm.startPrank(owner);
        token.approve(address(pool), amount);
        id = pool.lockFor(signer, amount, pubkey, proof);
        vm.stopPrank();
    }
}
