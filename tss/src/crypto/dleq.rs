//! Chaum-Pedersen proof that log_G(P) == log_E(S): a recipient reveals the ECDH point S it shares
//! with a sender's ephemeral key E and proves it used its registered encryption key P, so anyone
//! can decrypt the accused share and check it.

use k256::{ProjectivePoint, Scalar};
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroize;

use super::{hash_to_scalar, point_to_bytes, scalar_from_bytes, scalar_to_bytes};
use k256::elliptic_curve::Field;

const TAG: &[u8] = b"seqpool.tss.v1.dleq";

fn challenge(
    public: &ProjectivePoint,
    base: &ProjectivePoint,
    shared: &ProjectivePoint,
    a1: &ProjectivePoint,
    a2: &ProjectivePoint,
) -> Scalar {
    hash_to_scalar(
        TAG,
        &[
            &point_to_bytes(public),
            &point_to_bytes(base),
            &point_to_bytes(shared),
            &point_to_bytes(a1),
            &point_to_bytes(a2),
        ],
    )
}

/// Proves that `shared = secret * base` where `public = secret * G`. Returns c || s.
pub fn prove<R: RngCore + CryptoRng>(
    secret: &Scalar,
    base: &ProjectivePoint,
    rng: &mut R,
) -> [u8; 64] {
    let public = ProjectivePoint::GENERATOR * secret;
    let shared = *base * secret;
    let mut k = Scalar::random(rng);
    let a1 = ProjectivePoint::GENERATOR * k;
    let a2 = *base * k;
    let c = challenge(&public, base, &shared, &a1, &a2);
    let s = k + c * secret;
    k.zeroize();
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&scalar_to_bytes(&c));
    out[32..].copy_from_slice(&scalar_to_bytes(&s));
    out
}

/// Checks a proof made by [`prove`]. Malformed proofs are simply invalid.
pub fn verify(
    public: &ProjectivePoint,
    base: &ProjectivePoint,
    shared: &ProjectivePoint,
    proof: &[u8],
) -> bool {
    if proof.len() != 64 {
        return false;
    }
    let (Some(c), Some(s)) = (
        scalar_from_bytes(&proof[..32]),
        scalar_from_bytes(&proof[32..]),
    ) else {
        return false;
    };
    let a1 = ProjectivePoint::GENERATOR * s - *public * c;
    let a2 = *base * s - *shared * c;
    challenge(public, base, shared, &a1, &a2) == c
}
