// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

/// @notice A FROST(secp256k1, SHA-256) signature (RFC 9591) with the commitment R in affine form.
/// @dev frost-secp256k1 serialises R compressed; callers decompress off chain so that L1 only has to
///      check that (rx, ry) is on the curve instead of taking a modular square root.
struct FrostSignature {
    uint256 rx;
    uint256 ry;
    uint256 z;
}

/// @title FrostVerifier
/// @notice Verifies FROST(secp256k1, SHA-256) Schnorr signatures as specified by RFC 9591.
/// @dev The check z*G == R + c*P is done with the ecrecover precompile: for r = Px, v = parity(Py),
///      s = -c*Px and h = -z*Px, ecrecover returns address(Px^-1 * (s*P - h*G)) = address(z*G - c*P),
///      which must equal address(R). The challenge c = H2(R || P || m) is hash_to_field with
///      expand_message_xmd(SHA-256), DST = "FROST-secp256k1-SHA256-v1" || "chal", L = 48.
///      Every function returns false on bad input instead of reverting, so callers choose the error.
library FrostVerifier {
    /// @dev secp256k1 field prime.
    uint256 internal constant FIELD_P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F;
    /// @dev secp256k1 group order.
    uint256 internal constant ORDER_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    /// @dev "FROST-secp256k1-SHA256-v1chal" (29 bytes), the H2 domain separation tag.
    bytes internal constant CHALLENGE_DST = "FROST-secp256k1-SHA256-v1chal";
    /// @dev The last 32 bytes of msg_prime before the final DST length byte:
    ///      I2OSP(48, 2) || I2OSP(0, 1) || DST.
    uint256 private constant MSG_PRIME_TAIL = 0x00300046524f53542d736563703235366b312d5348413235362d76316368616c;
    /// @dev I2OSP(1, 1) || DST || I2OSP(29, 1), left aligned (31 bytes used).
    uint256 private constant B1_SUFFIX = 0x0146524f53542d736563703235366b312d5348413235362d76316368616c1d00;
    /// @dev I2OSP(2, 1) || DST || I2OSP(29, 1), left aligned (31 bytes used).
    uint256 private constant B2_SUFFIX = 0x0246524f53542d736563703235366b312d5348413235362d76316368616c1d00;

    /// @notice True if (x, y) is an affine point of secp256k1 (the identity has no affine form).
    function isOnCurve(uint256 x, uint256 y) internal pure returns (bool) {
        if (x >= FIELD_P || y >= FIELD_P) return false;
        return mulmod(y, y, FIELD_P) == addmod(mulmod(mulmod(x, x, FIELD_P), x, FIELD_P), 7, FIELD_P);
    }

    /// @notice True if (px, py) can serve as a group key here: on the curve and px < n, which the
    ///         ecrecover trick needs (r must be a scalar). A DKG yielding px >= n must be rerun.
    function isValidGroupKey(uint256 px, uint256 py) internal pure returns (bool) {
        return px != 0 && px < ORDER_N && isOnCurve(px, py);
    }

    /// @notice Verifies `sig` over the 32-byte `digest` under the group key (px, py).
    /// @dev One assembly block over scratch memory: the challenge (three SHA-256 precompile calls
    ///      over 195, 63 and 63 bytes), then ecrecover and address(R).
    function verify(uint256 px, uint256 py, bytes32 digest, FrostSignature memory sig)
        internal
        view
        returns (bool valid)
    {
        uint256 rx = sig.rx;
        uint256 ry = sig.ry;
        uint256 z = sig.z;
        if (!isValidGroupKey(px, py) || !isOnCurve(rx, ry)) return false;
        if (z == 0 || z >= ORDER_N) return false;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            let c := 0
            {
                // msg_prime = Z_pad(64) || R(33) || P(33) || digest(32) || I2OSP(48,2) || 0x00 || DST(29) || 0x1d
                mstore(ptr, 0)
                mstore(add(ptr, 32), 0)
                mstore8(add(ptr, 64), or(2, and(ry, 1)))
                mstore(add(ptr, 65), rx)
                mstore8(add(ptr, 97), or(2, and(py, 1)))
                mstore(add(ptr, 98), px)
                mstore(add(ptr, 130), digest)
                mstore(add(ptr, 162), MSG_PRIME_TAIL)
                mstore8(add(ptr, 194), 29)
                valid := staticcall(gas(), 0x02, ptr, 195, ptr, 32)
                let b0 := mload(ptr)
                mstore(add(ptr, 32), B1_SUFFIX)
                valid := and(valid, staticcall(gas(), 0x02, ptr, 63, add(ptr, 64), 32))
                let b1 := mload(add(ptr, 64))
                mstore(ptr, xor(b0, b1))
                mstore(add(ptr, 32), B2_SUFFIX)
                valid := and(valid, staticcall(gas(), 0x02, ptr, 63, add(ptr, 64), 32))
                let b2 := mload(add(ptr, 64))
                c := addmod(mulmod(b1, shl(128, 1), ORDER_N), shr(128, b2), ORDER_N)
            }
            // c == 0 would make s == 0, which ecrecover rejects; px, z, c are non-zero scalars
            // below the prime n, so h and s below are in [1, n-1].
            valid := and(valid, iszero(iszero(c)))
            mstore(ptr, sub(ORDER_N, mulmod(z, px, ORDER_N)))
            mstore(add(ptr, 32), add(27, and(py, 1)))
            mstore(add(ptr, 64), px)
            mstore(add(ptr, 96), sub(ORDER_N, mulmod(c, px, ORDER_N)))
            // ecrecover writes nothing on failure: a cleared slot then reads as address(0).
            mstore(add(ptr, 128), 0)
            valid := and(valid, staticcall(gas(), 0x01, ptr, 128, add(ptr, 128), 32))
            let recovered := mload(add(ptr, 128))
            mstore(ptr, rx)
            mstore(add(ptr, 32), ry)
            let expected := and(keccak256(ptr, 64), 0xffffffffffffffffffffffffffffffffffffffff)
            valid := and(valid, and(iszero(iszero(recovered)), eq(recovered, expected)))
        }
    }

    /// @notice Verifies `sig` over an arbitrary-length `message` (used for the RFC 9591 vector,
    ///         whose message is 4 bytes). Costs more than `verify` because msg_prime is built in Solidity.
    function verifyMessage(uint256 px, uint256 py, bytes memory message, FrostSignature memory sig)
        internal
        view
        returns (bool)
    {
        if (!isValidGroupKey(px, py) || !isOnCurve(sig.rx, sig.ry)) return false;
        if (sig.z == 0 || sig.z >= ORDER_N) return false;
        bytes memory input = abi.encodePacked(
            _compressedPrefix(sig.ry), sig.rx, _compressedPrefix(py), px, message
        );
        (bool ok, uint256 c) = hashToScalar(input);
        if (!ok) return false;
        return _checkEquation(px, py, sig, c);
    }

    /// @notice H2(input) = hash_to_field(input, 1) with expand_message_xmd(SHA-256), L = 48 (RFC 9380).
    /// @return ok false only if a SHA-256 precompile call failed.
    function hashToScalar(bytes memory input) internal view returns (bool ok, uint256 scalar) {
        bytes memory msgPrime =
            abi.encodePacked(bytes32(0), bytes32(0), input, uint16(48), uint8(0), CHALLENGE_DST, uint8(29));
        bytes32 b0;
        (ok, b0) = _sha256(msgPrime);
        if (!ok) return (false, 0);
        bytes32 b1;
        (ok, b1) = _sha256(abi.encodePacked(b0, uint8(1), CHALLENGE_DST, uint8(29)));
        if (!ok) return (false, 0);
        bytes32 b2;
        (ok, b2) = _sha256(abi.encodePacked(b0 ^ b1, uint8(2), CHALLENGE_DST, uint8(29)));
        if (!ok) return (false, 0);
        scalar = _reduce48(uint256(b1), uint256(b2));
    }

    /// @notice The challenge c = H2(R || P || digest) for a 32-byte digest, built in scratch memory:
    ///         three SHA-256 precompile calls over 195, 63 and 63 bytes.
    function challengeForDigest(uint256 px, uint256 py, bytes32 digest, uint256 rx, uint256 ry)
        internal
        view
        returns (bool ok, uint256 c)
    {
        uint256 b1;
        uint256 b2;
        assembly ("memory-safe") {
            // Scratch space past the free memory pointer; nothing is allocated meanwhile.
            let ptr := mload(0x40)
            // msg_prime = Z_pad(64) || R(33) || P(33) || digest(32) || I2OSP(48,2) || 0x00 || DST(29) || 0x1d
            mstore(ptr, 0)
            mstore(add(ptr, 32), 0)
            mstore8(add(ptr, 64), or(2, and(ry, 1)))
            mstore(add(ptr, 65), rx)
            mstore8(add(ptr, 97), or(2, and(py, 1)))
            mstore(add(ptr, 98), px)
            mstore(add(ptr, 130), digest)
            mstore(add(ptr, 162), MSG_PRIME_TAIL)
            mstore8(add(ptr, 194), 29)
            ok := staticcall(gas(), 0x02, ptr, 195, ptr, 32)
            let b0 := mload(ptr)
            // b1 = H(b0 || 0x01 || DST_prime)
            mstore(add(ptr, 32), B1_SUFFIX)
            ok := and(ok, staticcall(gas(), 0x02, ptr, 63, add(ptr, 64), 32))
            b1 := mload(add(ptr, 64))
            // b2 = H((b0 xor b1) || 0x02 || DST_prime)
            mstore(ptr, xor(b0, b1))
            mstore(add(ptr, 32), B2_SUFFIX)
            ok := and(ok, staticcall(gas(), 0x02, ptr, 63, add(ptr, 64), 32))
            b2 := mload(add(ptr, 64))
        }
        if (!ok) return (false, 0);
        c = _reduce48(b1, b2);
    }

    /// @dev OS2IP(b1 || b2[0..16]) mod n: the 48 uniform bytes as a scalar.
    function _reduce48(uint256 b1, uint256 b2) private pure returns (uint256) {
        return addmod(mulmod(b1, 1 << 128, ORDER_N), b2 >> 128, ORDER_N);
    }

    /// @dev Checks z*G == R + c*P through ecrecover; inputs already range-checked by the caller.
    function _checkEquation(uint256 px, uint256 py, FrostSignature memory sig, uint256 c)
        private
        pure
        returns (bool)
    {
        // c == 0 would make s == 0, which ecrecover rejects; it also means the hash hit 0 mod n.
        if (c == 0) return false;
        // px, z and c are non-zero scalars below the prime n, so both products are non-zero.
        bytes32 h = bytes32(ORDER_N - mulmod(sig.z, px, ORDER_N));
        bytes32 s = bytes32(ORDER_N - mulmod(c, px, ORDER_N));
        uint8 v = uint8(27 + (py & 1));
        address recovered = ecrecover(h, v, bytes32(px), s);
        address expected = pointAddress(sig.rx, sig.ry);
        return recovered != address(0) && recovered == expected;
    }

    /// @notice The Ethereum address of an affine point: the low 20 bytes of keccak256(x || y).
    function pointAddress(uint256 x, uint256 y) internal pure returns (address addr) {
        assembly ("memory-safe") {
            mstore(0x00, x)
            mstore(0x20, y)
            addr := and(keccak256(0x00, 0x40), 0xffffffffffffffffffffffffffffffffffffffff)
        }
    }

    function _compressedPrefix(uint256 y) private pure returns (uint8) {
        return uint8(2 | (y & 1));
    }

    function _sha256(bytes memory data) private view returns (bool ok, bytes32 out) {
        assembly ("memory-safe") {
            ok := staticcall(gas(), 0x02, add(data, 32), mload(data), 0x00, 32)
            out := mload(0x00)
        }
    }
}
