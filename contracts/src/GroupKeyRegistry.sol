// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {FrostVerifier, FrostSignature} from "./FrostVerifier.sol";
import {RequestDigest} from "./RequestDigest.sol";

/// @title GroupKeyRegistry
/// @notice Holds the sequencer pool's FROST group public key. Governance sets it once (after the
///         first DKG); afterwards only a signature by the current key can replace it.
contract GroupKeyRegistry {
    error NotGovernance(address caller);
    error GroupKeyAlreadySet(uint256 px, uint256 py);
    error GroupKeyNotSet();
    error InvalidGroupKey(uint256 px, uint256 py);
    error InvalidGroupSignature();
    error ZeroAddress();

    /// @param keyNonce the number of keys registered so far, this one included.
    event GroupKeySet(uint256 indexed keyNonce, uint256 px, uint256 py);
    event GroupKeyRotated(uint256 indexed keyNonce, uint256 oldPx, uint256 oldPy, uint256 newPx, uint256 newPy);

    address public immutable governance;
    uint256 public px;
    uint256 public py;
    /// @notice 0 before the initial key; increases by one with every key change. The rotation
    ///         signature is over sequence = the current keyNonce.
    uint256 public keyNonce;

    constructor(address governance_) {
        if (governance_ == address(0)) revert ZeroAddress();
        governance = governance_;
    }

    /// @notice Registers the first group key. Callable once, by governance.
    function setInitialKey(uint256 newPx, uint256 newPy) external {
        if (msg.sender != governance) revert NotGovernance(msg.sender);
        if (keyNonce != 0) revert GroupKeyAlreadySet(px, py);
        if (!FrostVerifier.isValidGroupKey(newPx, newPy)) revert InvalidGroupKey(newPx, newPy);
        px = newPx;
        py = newPy;
        keyNonce = 1;
        emit GroupKeySet(1, newPx, newPy);
    }

    /// @notice The digest the current key must sign to rotate to (newPx, newPy).
    function rotationDigest(uint256 newPx, uint256 newPy) public view returns (bytes32) {
        return RequestDigest.compute(RequestDigest.ROTATE_GROUP_KEY, keyNonce, keccak256(abi.encode(newPx, newPy)));
    }

    /// @notice Replaces the group key; anyone may relay, the current key's signature authorises it.
    function rotateKey(uint256 newPx, uint256 newPy, FrostSignature calldata sig) external {
        uint256 nonce = keyNonce;
        if (nonce == 0) revert GroupKeyNotSet();
        if (!FrostVerifier.isValidGroupKey(newPx, newPy)) revert InvalidGroupKey(newPx, newPy);
        uint256 oldPx = px;
        uint256 oldPy = py;
        if (!FrostVerifier.verify(oldPx, oldPy, rotationDigest(newPx, newPy), sig)) revert InvalidGroupSignature();
        px = newPx;
        py = newPy;
        keyNonce = nonce + 1;
        emit GroupKeyRotated(nonce + 1, oldPx, oldPy, newPx, newPy);
    }

    function isKeySet() external view returns (bool) {
        return keyNonce != 0;
    }

    /// @notice True if `sig` is a valid signature of the current group key over `digest`
    ///         (false while no key is set).
    function verify(bytes32 digest, FrostSignature calldata sig) external view returns (bool) {
        if (keyNonce == 0) return false;
        return FrostVerifier.verify(px, py, digest, sig);
    }

    /// @notice The Ethereum-style address of the group key (for off-chain display and matching).
    function groupKeyAddress() external view returns (address) {
        if (keyNonce == 0) return address(0);
        return FrostVerifier.pointAddress(px, py);
    }
}
