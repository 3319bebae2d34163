use frost_secp256k1::keys::{KeyPackage, PublicKeyPackage};
use frost_secp256k1::round1::{SigningCommitments, SigningNonces};
use frost_secp256k1::round2::{self, SignatureShare};
use frost_secp256k1::{Secp256K1Sha256, SigningPackage};
use rand_core::{CryptoRng, RngCore};

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

/// Checks a signing package before any nonce is touched: at least t signers, all of them
/// members of the key, this member among them, and no commitment used twice.
pub fn validate_package(
    key_package: &KeyPackage,
    public: &PublicKeyPackage,
    package: &SigningPackage,
) -> Result<()> {
    let signers = package.signing_commitments();
    let threshold = *key_package.min_signers() as usize;
    if signers.len() < threshold {
        return Err(TssError::TooFewSigners {
            signers: signers.len(),
            threshold,
        });
    }
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
    Ok(round2::sign(package, nonces, key_package)?)
}
