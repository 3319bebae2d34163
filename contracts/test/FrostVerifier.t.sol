// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.30;

import {TestBase} from "./utils/TestBase.sol";
import {Console} from "./utils/Console.sol";
import {FrostVerifierHarness, EcdsaQuorumHarness} from "./utils/FrostVerifierHarness.sol";
import {FrostVerifier, FrostSignature} from "../src/FrostVerifier.sol";

contract FrostVerifierTest is TestBase {
    string internal constant RFC_VECTOR = "test/vectors/rfc9591-secp256k1.json";
    string internal constant RUST_VECTORS = "test/vectors/frost-secp256k1-generated.json";

    struct Vector {
        uint256 px;
        uint256 py;
        bytes32 digest;
        FrostSignature sig;
    }

    FrostVerifierHarness internal harness;
    string internal rustJson;
    uint256 internal rustCount;

    function setUp() public {
        harness = new FrostVerifierHarness();
        rustJson = vm.readFile(RUST_VECTORS);
        rustCount = vm.parseJsonUint(rustJson, ".count");
    }

    function _u(string memory json, string memory key) internal pure returns (uint256) {
        return uint256(vm.parseJsonBytes32(json, key));
    }

    function _rustVector(uint256 i) internal view returns (Vector memory v) {
        string memory p = string.concat(".vectors[", vm.toString(i), "]");
        v.px = _u(rustJson, string.concat(p, ".px"));
        v.py = _u(rustJson, string.concat(p, ".py"));
        v.digest = vm.parseJsonBytes32(rustJson, string.concat(p, ".digest"));
        v.sig.rx = _u(rustJson, string.concat(p, ".rx"));
        v.sig.ry = _u(rustJson, string.concat(p, ".ry"));
        v.sig.z = _u(rustJson, string.concat(p, ".z"));
    }

    // ------------------------------------------------------------------ accepted signatures

    function test_rfc9591VectorAccepted() public view {
        string memory json = vm.readFile(RFC_VECTOR);
        uint256 px = _u(json, ".px");
        uint256 py = _u(json, ".py");
        FrostSignature memory sig = FrostSignature(_u(json, ".rx"), _u(json, ".ry"), _u(json, ".z"));
        bytes memory message = vm.parseJsonBytes(json, ".message");
        // The affine coordinates must be the SEC1 encodings the RFC lists.
        bytes memory key = vm.parseJsonBytes(json, ".group_public_key");
        bytes memory encodedSig = vm.parseJsonBytes(json, ".signature");
        vm.assertEq(uint256(uint8(key[0])), 2 | (py & 1), "group key parity");
        vm.assertEq(uint256(uint8(encodedSig[0])), 2 | (sig.ry & 1), "R parity");
        vm.assertTrue(harness.verifyMessage(px, py, message, sig), "RFC 9591 vector rejected");
        message[0] ^= 0x01;
        vm.assertFalse(harness.verifyMessage(px, py, message, sig), "altered RFC message accepted");
    }

    function test_rustThresholdVectorsAccepted() public view {
        vm.assertEq(rustCount, 10, "vector count");
        for (uint256 i = 0; i < rustCount; ++i) {
            Vector memory v = _rustVector(i);
            vm.assertTrue(harness.verify(v.px, v.py, v.digest, v.sig), string.concat("vector ", vm.toString(i)));
            // The generic path computes the same challenge.
            vm.assertTrue(harness.verifyMessage(v.px, v.py, abi.encodePacked(v.digest), v.sig), "verifyMessage");
        }
    }

    function test_singleHolderSignatureAccepted() public {
        uint256 secret = 0xC0FFEE;
        (uint256 px, uint256 py) = groupKeyOf(secret);
        bytes32 digest = keccak256("seqpool");
        vm.assertTrue(harness.verify(px, py, digest, frostSign(secret, digest)), "self-made signature rejected");
    }

    function testFuzz_challengeMatchesGenericHash(uint256 px, uint256 py, bytes32 digest, uint256 rx, uint256 ry)
        public
        view
    {
        (bool okFast, uint256 fast) = FrostVerifier.challengeForDigest(px, py, digest, rx, ry);
        (bool okGeneric, uint256 generic) = FrostVerifier.hashToScalar(
            abi.encodePacked(uint8(2 | (ry & 1)), rx, uint8(2 | (py & 1)), px, digest)
        );
        vm.assertTrue(okFast && okGeneric, "precompile");
        vm.assertEq(fast, generic, "assembly and Solidity challenge differ");
        vm.assertLt(fast, ORDER_N, "challenge not reduced");
    }

    // ------------------------------------------------------------------ gas

    /// @dev Vectors span n = 2 .. 100 signers: the cost must not depend on n.
    function test_verificationGasBelow6000() public view {
        uint256 maxGas;
        uint256 minGas = type(uint256).max;
        for (uint256 i = 0; i < rustCount; ++i) {
            Vector memory v = _rustVector(i);
            (bool valid, uint256 gasUsed) = harness.verifyGas(v.px, v.py, v.digest, v.sig);
            vm.assertTrue(valid, "vector rejected");
            if (gasUsed > maxGas) maxGas = gasUsed;
            if (gasUsed < minGas) minGas = gasUsed;
        }
        Console.log("FrostVerifier.verify gas (library call, max over vectors)", maxGas);
        Console.log("FrostVerifier.verify gas (library call, min over vectors)", minGas);
        vm.assertLt(maxGas, 6000, "verification over the 6,000 gas target");
        vm.assertLt(maxGas - minGas, 50, "verification cost varies with the group");
    }

    /// @dev The heimdall-style alternative, measured side by side: 67 of 100 ECDSA signatures.
    function test_gasComparisonWithEcdsaQuorum() public {
        uint256 validators = 100;
        uint256[] memory keys = new uint256[](validators);
        address[] memory addrs = new address[](validators);
        for (uint256 i = 0; i < validators; ++i) {
            keys[i] = uint256(keccak256(abi.encode("validator", i))) % (ORDER_N - 1) + 1;
            addrs[i] = vm.addr(keys[i]);
        }
        // Sort by address (insertion sort; 100 entries).
        for (uint256 i = 1; i < validators; ++i) {
            for (uint256 j = i; j > 0 && addrs[j] < addrs[j - 1]; --j) {
                (addrs[j], addrs[j - 1]) = (addrs[j - 1], addrs[j]);
                (keys[j], keys[j - 1]) = (keys[j - 1], keys[j]);
            }
        }
        EcdsaQuorumHarness quorum = new EcdsaQuorumHarness(addrs);
        uint256 needed = quorum.threshold();
        vm.assertEq(needed, 67, "2/3 of 100");
        bytes32 digest = keccak256("batch");
        uint8[] memory v = new uint8[](needed);
        bytes32[] memory r = new bytes32[](needed);
        bytes32[] memory s = new bytes32[](needed);
        for (uint256 i = 0; i < needed; ++i) {
            (v[i], r[i], s[i]) = vm.sign(keys[i], digest);
        }
        uint256 before = gasleft();
        bool ok = quorum.verifyQuorum(digest, v, r, s);
        uint256 ecdsaGas = before - gasleft();
        vm.assertTrue(ok, "quorum");

        Vector memory fv = _rustVector(rustCount - 1); // the n = 100, t = 67 group
        before = gasleft();
        ok = harness.verify(fv.px, fv.py, fv.digest, fv.sig);
        uint256 frostGas = before - gasleft();
        vm.assertTrue(ok, "frost");

        Console.log("ECDSA 67-of-100 quorum check gas (external call)", ecdsaGas);
        Console.log("FROST group signature check gas (external call)", frostGas);
        vm.assertLt(frostGas * 20, ecdsaGas, "FROST should be >20x cheaper than 67 ECDSA checks");
    }

    // ------------------------------------------------------------------ rejected signatures

    function test_rejectsOutOfRangeZ() public view {
        Vector memory v = _rustVector(0);
        v.sig.z = 0;
        vm.assertFalse(harness.verify(v.px, v.py, v.digest, v.sig), "z = 0");
        v.sig.z = ORDER_N;
        vm.assertFalse(harness.verify(v.px, v.py, v.digest, v.sig), "z = n");
        v.sig.z = type(uint256).max;
        vm.assertFalse(harness.verify(v.px, v.py, v.digest, v.sig), "z = 2^256 - 1");
    }

    function test_rejectsNegatedZAndR() public view {
        Vector memory v = _rustVector(0);
        v.sig.z = ORDER_N - v.sig.z;
        vm.assertFalse(harness.verify(v.px, v.py, v.digest, v.sig), "-z");
        v = _rustVector(0);
        v.sig.ry = FIELD_P - v.sig.ry; // -R is on the curve
        vm.assertTrue(FrostVerifier.isOnCurve(v.sig.rx, v.sig.ry), "-R on curve");
        vm.assertFalse(harness.verify(v.px, v.py, v.digest, v.sig), "-R");
    }

    function test_rejectsPointsOffCurveOrOutOfField() public view {
        Vector memory v = _rustVector(0);
        FrostSignature memory sig = v.sig;
        sig.ry = sig.ry ^ 1;
        vm.assertFalse(harness.verify(v.px, v.py, v.digest, sig), "R off curve");
        sig = FrostSignature(0, 0, v.sig.z);
        vm.assertFalse(harness.verify(v.px, v.py, v.digest, sig), "R = (0, 0)");
        sig = FrostSignature(FIELD_P, v.sig.ry, v.sig.z);
        vm.assertFalse(harness.verify(v.px, v.py, v.digest, sig), "Rx = p");
        sig = FrostSignature(v.sig.rx, FIELD_P, v.sig.z);
        vm.assertFalse(harness.verify(v.px, v.py, v.digest, sig), "Ry = p");
        vm.assertFalse(harness.verify(v.px, v.py ^ 2, v.digest, v.sig), "P off curve");
        vm.assertFalse(harness.verify(0, 0, v.digest, v.sig), "P = (0, 0)");
        vm.assertFalse(harness.verify(v.px, FIELD_P - v.py, v.digest, v.sig), "-P");
    }

    function test_rejectsGroupKeyWithXNotBelowOrder() public pure {
        // x = n + 2 is in the field; whatever y is, the key is refused before any curve maths.
        vm.assertFalse(FrostVerifier.isValidGroupKey(ORDER_N + 2, 1), "px >= n accepted");
        vm.assertFalse(FrostVerifier.isValidGroupKey(0, 1), "px = 0 accepted");
    }

    function test_rejectsOtherDigestAndOtherKey() public view {
        Vector memory v = _rustVector(0);
        Vector memory w = _rustVector(2); // another group
        vm.assertFalse(harness.verify(v.px, v.py, w.digest, v.sig), "other digest");
        vm.assertFalse(harness.verify(w.px, w.py, v.digest, v.sig), "other key");
    }

    /// @dev Flips one bit of one of Rx, Ry, z, Px, Py or the digest.
    function _flip(Vector memory v, uint256 field, uint256 bit) internal pure {
        // forge-lint: disable-next-line(incorrect-shift)
        uint256 mask = 1 << bit;
        if (field == 0) v.sig.rx ^= mask;
        else if (field == 1) v.sig.ry ^= mask;
        else if (field == 2) v.sig.z ^= mask;
        else if (field == 3) v.px ^= mask;
        else if (field == 4) v.py ^= mask;
        else v.digest ^= bytes32(mask);
    }

    function testFuzz_singleBitFlipRejected(uint256 vectorIndex, uint256 field, uint256 bit) public view {
        Vector memory v = _rustVector(bound(vectorIndex, 0, rustCount - 1));
        _flip(v, bound(field, 0, 5), bound(bit, 0, 255));
        vm.assertFalse(harness.verify(v.px, v.py, v.digest, v.sig), "bit flip accepted");
    }

    /// @dev Not left to chance: every one of the 6 x 256 single-bit changes of one vector.
    function test_everySingleBitFlipRejected() public view {
        Vector memory original = _rustVector(rustCount - 1);
        Vector memory v;
        for (uint256 field = 0; field < 6; ++field) {
            for (uint256 bit = 0; bit < 256; ++bit) {
                v.px = original.px;
                v.py = original.py;
                v.digest = original.digest;
                v.sig = FrostSignature(original.sig.rx, original.sig.ry, original.sig.z);
                _flip(v, field, bit);
                if (FrostVerifier.verify(v.px, v.py, v.digest, v.sig)) {
                    revert(string.concat("accepted flip of field ", vm.toString(field), " bit ", vm.toString(bit)));
                }
            }
        }
    }
}
