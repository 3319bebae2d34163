// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {FrostVerifier, FrostSignature} from "../../src/FrostVerifier.sol";

/// @notice Exposes the internal library so the gas report shows one external verification.
contract FrostVerifierHarness {
    function verify(uint256 px, uint256 py, bytes32 digest, FrostSignature calldata sig)
        external
        view
        returns (bool)
    {
        return FrostVerifier.verify(px, py, digest, sig);
    }

    function verifyMessage(uint256 px, uint256 py, bytes calldata message, FrostSignature calldata sig)
        external
        view
        returns (bool)
    {
        return FrostVerifier.verifyMessage(px, py, message, sig);
    }

    /// @dev Gas of the library call alone, without the external call and calldata decoding.
    function verifyGas(uint256 px, uint256 py, bytes32 digest, FrostSignature calldata sig)
        external
        view
        returns (bool valid, uint256 gasUsed)
    {
        FrostSignature memory s = sig;
        uint256 before = gasleft();
        valid = FrostVerifier.verify(px, py, digest, s);
        gasUsed = before - gasleft();
    }
}

/// @notice The heimdall-style alternative: every validator signs with ECDSA and L1 checks more
///         than 2/3 of the signatures one by one against the stored validator set.
contract EcdsaQuorumHarness {
    error SignersNotAscending(address previous, address next);
    error NotAValidator(address signer);
    error QuorumNotReached(uint256 valid, uint256 needed);

    mapping(address => bool) public isValidator;
    uint256 public immutable threshold;

    constructor(address[] memory validators) {
        for (uint256 i = 0; i < validators.length; ++i) {
            isValidator[validators[i]] = true;
        }
        threshold = (validators.length * 2) / 3 + 1;
    }

    /// @dev Signatures are ordered by ascending signer address, which rules out duplicates.
    function verifyQuorum(bytes32 digest, uint8[] calldata v, bytes32[] calldata r, bytes32[] calldata s)
        external
        view
        returns (bool)
    {
        address previous = address(0);
        uint256 valid;
        for (uint256 i = 0; i < v.length; ++i) {
            address signer = ecrecover(digest, v[i], r[i], s[i]);
            if (signer <= previous) revert SignersNotAscending(previous, signer);
            if (!isValidator[signer]) revert NotAValidator(signer);
            previous = signer;
            ++valid;
        }
        if (valid < threshold) revert QuorumNotReached(valid, threshold);
        return true;
    }
}
