//! Building blocks: authenticated envelopes, per-recipient share encryption and the
//! Chaum-Pedersen proof that makes a complaint about a bad share verifiable by everyone.

pub mod dleq;
pub mod ecies;
pub mod envelope;
pub(crate) mod msm;

use k256::elliptic_curve::group::GroupEncoding;
use k256::elliptic_curve::ops::Reduce;
use k256::elliptic_curve::PrimeField;
use k256::{FieldBytes, ProjectivePoint, Scalar, U256};
use sha2::{Digest, Sha256};

/// Decodes a 33-byte compressed point, refusing the identity and off-curve encodings.
pub(crate) fn point_from_bytes(bytes: &[u8]) -> Option<ProjectivePoint> {
    let arr: [u8; 33] = bytes.try_into().ok()?;
    let point: Option<ProjectivePoint> = ProjectivePoint::from_bytes(&arr.into()).into();
    point.filter(|p| *p != ProjectivePoint::IDENTITY)
}

pub(crate) fn point_to_bytes(point: &ProjectivePoint) -> [u8; 33] {
    let mut out = [0u8; 33];
    out.copy_from_slice(&point.to_bytes()[..]);
    out
}

/// Decodes a canonical 32-byte big-endian scalar (must be below the group order).
pub(crate) fn scalar_from_bytes(bytes: &[u8]) -> Option<Scalar> {
    let arr: [u8; 32] = bytes.try_into().ok()?;
    Option::from(Scalar::from_repr(FieldBytes::from(arr)))
}

pub(crate) fn scalar_to_bytes(scalar: &Scalar) -> [u8; 32] {
    scalar.to_repr().into()
}

/// SHA-256 of the parts, reduced modulo the group order.
pub(crate) fn hash_to_scalar(tag: &[u8], parts: &[&[u8]]) -> Scalar {
    let mut hasher = Sha256::new();
    hasher.update((tag.len() as u32).to_be_bytes());
    hasher.update(tag);
    for part in parts {
        hasher.update((part.len() as u32).to_be_bytes());
        hasher.update(part);
    }
    <Scalar as Reduce<U256>>::reduce_bytes(&hasher.finalize())
}
