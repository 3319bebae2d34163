use frost_secp256k1::keys::{KeyPackage, PublicKeyPackage};
use frost_secp256k1::round1::{SigningCommitments, SigningNonces};
use frost_secp256k1::round2::SignatureShare;
use frost_secp256k1::{Secp256K1Sha256, SigningPackage};
use k256::Scalar;
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use super::commitment::PackageCommitment;
use crate::crypto::scalar_to_bytes;
use crate::error::{Result, TssError};
use crate::ids::id_hex;

/// Makes `count` nonce pairs and their public commitments for one key share.
pub fn preprocess<R: RngCore + CryptoRng>(
    key_package: &KeyPackage,
    count: u8,
    rng: &mut R,
) -> (Vec<SigningNonces>, Vec<SigningCommitments>) {
    frost_core::round1::preprocess::<Secp256K1Sha256, R>(count, key_package.signing_share(), rng)
}

fn check_threshold(key_package: &KeyPackage, signers: usize) -> Result<()> {
    let threshold = *key_package.min_signers() as usize;
    if signers < threshold {
        return Err(TssError::TooFewSigners { signers, threshold });
    }
    Ok(())
}

/// Checks a signing package before any nonce is touched: at least t signers, all of them
/// members of the key, this member among them, and no commitment used twice.
pub fn validate_package(
    key_package: &KeyPackage,
    public: &PublicKeyPackage,
    package: &SigningPackage,
) -> Result<()> {
    let signers = package.signing_commitments();
    check_threshold(key_package, signers.len())?;
    // Both maps are sorted by identifier: one merge walk instead of a lookup per signer.
    let mut members = public.verifying_shares().keys().peekable();
    for id in signers.keys() {
        while members.next_if(|m| *m < id).is_some() {}
        if members.next_if(|m| *m == id).is_none() {
            return Err(TssError::SignerNotInKey {
                culprit: id_hex(id),
            });
        }
    }
    // Nobody else may present this member's commitment (its nonce signs for it alone). Comparing
    // points avoids serialising every commitment on the signing path.
    let mine = signers
        .get(key_package.identifier())
        .ok_or(TssError::NotASigner)?;
    for (id, commitments) in signers {
        if id != key_package.identifier()
            && (commitments.hiding() == mine.hiding() || commitments.binding() == mine.binding())
        {
            return Err(TssError::ReusedCommitment(format!(
                "{} presents this member's commitment",
                id_hex(id)
            )));
        }
    }
    if mine.hiding() == mine.binding() {
        return Err(TssError::ReusedCommitment("hiding equals binding".into()));
    }
    Ok(())
}

/// Computes this member's share with nonces the caller already retired (see the keystore).
pub fn sign_with_nonces(
    key_package: &KeyPackage,
    public: &PublicKeyPackage,
    package: &SigningPackage,
    nonces: &SigningNonces,
) -> Result<SignatureShare> {
    validate_package(key_package, public, package)?;
    signature_share(package, nonces, key_package)
}

/// frost's `round2::sign` (same checks, bit-for-bit the same share) with the package values
/// derived by [`PackageCommitment`]: z = d + e * rho + lambda * s * c.
pub(crate) fn signature_share(
    package: &SigningPackage,
    nonces: &SigningNonces,
    key_package: &KeyPackage,
) -> Result<SignatureShare> {
    let signers = package.signing_commitments();
    check_threshold(key_package, signers.len())?;
    let me = key_package.identifier();
    let mine = signers.get(me).ok_or(TssError::NotASigner)?;
    if nonces.commitments() != mine {
        return Err(frost_core::Error::IncorrectCommitment.into());
    }
    let derived = PackageCommitment::derive(package, key_package.verifying_key())?;
    let rho = derived
        .binding_factors
        .get(me)
        .ok_or(TssError::NotASigner)?;
    let lambda = frost_core::derive_interpolating_value(me, package)?;
    let z: Zeroizing<Scalar> = Zeroizing::new(
        nonces.hiding().to_scalar()
            + nonces.binding().to_scalar() * rho
            + lambda * key_package.signing_share().to_scalar() * derived.challenge,
    );
    let bytes = Zeroizing::new(scalar_to_bytes(&z));
    Ok(SignatureShare::deserialize(bytes.as_slice())?)
}
