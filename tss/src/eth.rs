//! Ethereum encodings: the group key and signatures in the affine layout the L1 FrostVerifier
//! takes, and the request digest the group signs (identical to contracts/src/RequestDigest.sol):
//! keccak256(abi.encode(DOMAIN_TAG, chainid, target, requestType, sequence, payloadHash)) with
//! DOMAIN_TAG = keccak256("seqpool.l1.v1"). See docs/tss.md.

use frost_secp256k1::{Signature, VerifyingKey};
use k256::elliptic_curve::sec1::ToEncodedPoint;
use k256::PublicKey;
use sha3::{Digest, Keccak256};

use crate::error::{Result, TssError};

/// secp256k1 group order n, big-endian.
pub const ORDER_N: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE,
    0xBA, 0xAE, 0xDC, 0xE6, 0xAF, 0x48, 0xA0, 0x3B, 0xBF, 0xD2, 0x5E, 0x8C, 0xD0, 0x36, 0x41, 0x41,
];

pub const DOMAIN_TAG_PREIMAGE: &[u8] = b"seqpool.l1.v1";

/// Request types, as numbered in RequestDigest.sol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum RequestType {
    Batch = 1,
    RotateGroupKey = 2,
    RewardDistribution = 3,
    GovernanceAction = 4,
}

/// An affine point as two big-endian coordinates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AffinePoint {
    pub x: [u8; 32],
    pub y: [u8; 32],
}

impl AffinePoint {
    /// The Ethereum address of the point: low 20 bytes of keccak256(x || y).
    pub fn address(&self) -> [u8; 20] {
        let mut hasher = Keccak256::new();
        hasher.update(self.x);
        hasher.update(self.y);
        let hash = hasher.finalize();
        let mut out = [0u8; 20];
        out.copy_from_slice(&hash[12..]);
        out
    }

    pub fn y_is_odd(&self) -> bool {
        self.y[31] & 1 == 1
    }
}

/// A signature as the verifier takes it: R as a point, z.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EthSignature {
    pub r: AffinePoint,
    pub z: [u8; 32],
}

fn affine(compressed: &[u8]) -> Result<AffinePoint> {
    let point = PublicKey::from_sec1_bytes(compressed)
        .map_err(|_| TssError::Crypto("not a valid secp256k1 point".into()))?;
    let encoded = point.to_encoded_point(false);
    let (Some(x), Some(y)) = (encoded.x(), encoded.y()) else {
        return Err(TssError::Crypto("point at infinity".into()));
    };
    let mut out = AffinePoint {
        x: [0; 32],
        y: [0; 32],
    };
    out.x.copy_from_slice(x);
    out.y.copy_from_slice(y);
    Ok(out)
}

/// The group key as (Px, Py). Refuses keys with Px >= n, which the ecrecover-based verifier
/// cannot check; the DKG restarts in that (probability ~2^-128) case. Either parity of Py is
/// fine: the verifier passes it to ecrecover as v.
pub fn group_key_affine(key: &VerifyingKey) -> Result<AffinePoint> {
    let point = affine(&key.serialize()?)?;
    check_x_below_order(&point.x)?;
    Ok(point)
}

/// Refuses an x coordinate that is not below the group order.
pub fn check_x_below_order(x: &[u8; 32]) -> Result<()> {
    if *x >= ORDER_N {
        return Err(TssError::GroupKeyUnsuitable);
    }
    Ok(())
}

pub fn signature_affine(signature: &Signature) -> Result<EthSignature> {
    let bytes = signature.serialize()?;
    if bytes.len() != 65 {
        return Err(TssError::Crypto(format!(
            "signature has {} bytes",
            bytes.len()
        )));
    }
    let r = affine(&bytes[..33])?;
    let mut z = [0u8; 32];
    z.copy_from_slice(&bytes[33..]);
    Ok(EthSignature { r, z })
}

pub fn keccak256(data: &[u8]) -> [u8; 32] {
    Keccak256::digest(data).into()
}

fn word_u64(v: u64) -> [u8; 32] {
    let mut w = [0u8; 32];
    w[24..].copy_from_slice(&v.to_be_bytes());
    w
}

/// The digest the group signs for one L1 request.
pub fn request_digest(
    chain_id: u64,
    target: [u8; 20],
    request_type: RequestType,
    sequence: u64,
    payload_hash: [u8; 32],
) -> [u8; 32] {
    let mut encoded = Vec::with_capacity(6 * 32);
    encoded.extend_from_slice(&keccak256(DOMAIN_TAG_PREIMAGE));
    encoded.extend_from_slice(&word_u64(chain_id));
    let mut target_word = [0u8; 32];
    target_word[12..].copy_from_slice(&target);
    encoded.extend_from_slice(&target_word);
    encoded.extend_from_slice(&word_u64(request_type as u8 as u64));
    encoded.extend_from_slice(&word_u64(sequence));
    encoded.extend_from_slice(&payload_hash);
    keccak256(&encoded)
}

/// Checks a signature exactly as the L1 verifier does, with the ecrecover trick:
/// c = H2(R || P || m) (RFC 9591), then ecrecover(-z*Px, v(Py), Px, -c*Px) must be address(R).
/// Lets a node check a signature before paying to relay it.
pub fn verify_like_l1(key: &VerifyingKey, signature: &Signature, message: &[u8]) -> Result<bool> {
    use frost_core::Ciphersuite;
    use k256::ecdsa::{RecoveryId, Signature as EcdsaSignature, VerifyingKey as EcdsaKey};
    use k256::elliptic_curve::scalar::IsHigh;
    use k256::elliptic_curve::PrimeField;
    use k256::{FieldBytes, Scalar};

    let p = group_key_affine(key)?;
    let sig = signature_affine(signature)?;
    let px: Option<Scalar> = Scalar::from_repr(FieldBytes::from(p.x)).into();
    let z: Option<Scalar> = Scalar::from_repr(FieldBytes::from(sig.z)).into();
    let (Some(px), Some(z)) = (px, z) else {
        return Ok(false);
    };
    let c = frost_secp256k1::Secp256K1Sha256::challenge(signature.R(), key, message)?.to_scalar();
    let prehash: [u8; 32] = (-(z * px)).to_repr().into();
    let s = -(c * px);
    // The EVM's ecrecover accepts any s, k256's recovery only low s. (r, s, R') and (r, -s, -R')
    // recover the same key, so a high s is negated together with the parity.
    let high = bool::from(s.is_high());
    let s = if high { -s } else { s };
    let Ok(ecdsa) = EcdsaSignature::from_scalars(px.to_repr(), s.to_repr()) else {
        return Ok(false);
    };
    let recovery = RecoveryId::new(p.y_is_odd() ^ high, false);
    let Ok(recovered) = EcdsaKey::recover_from_prehash(&prehash, &ecdsa, recovery) else {
        return Ok(false);
    };
    let encoded = recovered.to_encoded_point(false);
    let (Some(x), Some(y)) = (encoded.x(), encoded.y()) else {
        return Ok(false);
    };
    let mut q = AffinePoint {
        x: [0; 32],
        y: [0; 32],
    };
    q.x.copy_from_slice(x);
    q.y.copy_from_slice(y);
    Ok(q.address() == sig.r.address())
}
