// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {Vm} from "./Vm.sol";
import {FrostVerifier, FrostSignature} from "../../src/FrostVerifier.sol";

/// @notice Shared helpers: cheatcodes, a bound() for fuzz inputs and a single-holder FROST signer.
abstract contract TestBase {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    uint256 internal constant ORDER_N = FrostVerifier.ORDER_N;
    uint256 internal constant FIELD_P = FrostVerifier.FIELD_P;

    /// @dev Maps any fuzz input onto [min, max].
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256) {
        require(min <= max, "bound: min > max");
        if (min == 0 && max == type(uint256).max) return x;
        return min + (x % (max - min + 1));
    }

    /// @dev A FROST(secp256k1, SHA-256) signature by a group whose whole secret is known: the same
    ///      Schnorr equation an aggregated threshold signature satisfies (z = k + c*x). Contract tests
    ///      use it to sign digests that depend on deployed addresses; the threshold signatures made
    ///      by the Rust crate are checked separately (FrostVerifier.t.sol).
    function frostSign(uint256 secret, bytes32 digest) internal returns (FrostSignature memory sig) {
        Vm.Wallet memory key = vm.createWallet(secret);
        uint256 nonce = uint256(keccak256(abi.encode("test nonce", secret, digest))) % (ORDER_N - 1) + 1;
        Vm.Wallet memory commitment = vm.createWallet(nonce);
        (bool ok, uint256 c) = FrostVerifier.challengeForDigest(
            key.publicKeyX, key.publicKeyY, digest, commitment.publicKeyX, commitment.publicKeyY
        );
        require(ok, "sha256 precompile failed");
        sig = FrostSignature({
            rx: commitment.publicKeyX,
            ry: commitment.publicKeyY,
            z: addmod(nonce, mulmod(c, secret, ORDER_N), ORDER_N)
        });
    }

    function groupKeyOf(uint256 secret) internal returns (uint256 px, uint256 py) {
        Vm.Wallet memory key = vm.createWallet(secret);
        return (key.publicKeyX, key.publicKeyY);
    }
}
