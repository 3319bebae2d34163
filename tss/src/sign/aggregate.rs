use std::collections::{BTreeMap, BTreeSet};

use frost_secp256k1::keys::PublicKeyPackage;
use frost_secp256k1::round2::SignatureShare;
use frost_secp256k1::{CheaterDetection, Identifier, Signature, SigningPackage};
use k256::elliptic_curve::ops::MulByGenerator;
use k256::{ProjectivePoint, Scalar};

use super::commitment::PackageCommitment;
use crate::crypto::{msm, scalar_from_bytes};
use crate::error::{Result, TssError};
use crate::ids::id_hex;
use crate::reshare::lagrange_at_zero;

/// Combines the signers' shares. A missing share names the signer; invalid shares are all named
/// (cheater detection `AllCheaters`), so the next package can leave every culprit out.
///
/// The aggregate signature is checked first (one verification); only when it fails is every
/// share checked on its own, so a valid set of shares costs one verification instead of t, and a
/// bad set still names every bad share.
pub fn aggregate(
    package: &SigningPackage,
    shares: &BTreeMap<Identifier, SignatureShare>,
    public: &PublicKeyPackage,
) -> Result<Signature> {
    let signers = package.signing_commitments();
    for id in signers.keys() {
        if !shares.contains_key(id) {
            return Err(TssError::MissingSignatureShare {
                culprit: id_hex(id),
            });
        }
    }
    for id in shares.keys() {
        if !signers.contains_key(id) || !public.verifying_shares().contains_key(id) {
            return Err(TssError::SignerNotInKey {
                culprit: id_hex(id),
            });
        }
    }
    if let Some(threshold) = public.min_signers() {
        if shares.len() < threshold as usize {
            return Err(TssError::TooFewSigners {
                signers: shares.len(),
                threshold: threshold as usize,
            });
        }
    }
    let derived = PackageCommitment::derive(package, public.verifying_key())?;
    let mut z = Scalar::ZERO;
    for share in shares.values() {
        z += share_scalar(share)?;
    }
    // z * G - c * Y == R
    let key = public.verifying_key().to_element();
    if ProjectivePoint::mul_by_generator(&z) - key * derived.challenge == derived.group_commitment {
        return Ok(Signature::new(derived.group_commitment, z));
    }
    let culprits = invalid_shares(package, shares, public, &derived)?;
    if !culprits.is_empty() {
        return Err(TssError::InvalidSignatureShares {
            culprits: culprits.iter().map(id_hex).collect(),
        });
    }
    // Unreachable unless the checks above disagree with frost: let frost give the verdict.
    frost_secp256k1::aggregate_custom(package, shares, public, CheaterDetection::AllCheaters)
        .map_err(|e| match e {
            frost_core::Error::InvalidSignatureShare { culprits } => {
                TssError::InvalidSignatureShares {
                    culprits: culprits.iter().map(id_hex).collect(),
                }
            }
            other => TssError::Frost(other),
        })
}

/// Every signer whose share fails z_i * G == D_i + rho_i * E_i + (c * lambda_i) * Y_i (RFC 9591
/// 5.4), with the binding factors and challenge already derived for the package.
fn invalid_shares(
    package: &SigningPackage,
    shares: &BTreeMap<Identifier, SignatureShare>,
    public: &PublicKeyPackage,
    derived: &PackageCommitment,
) -> Result<Vec<Identifier>> {
    let signers = package.signing_commitments();
    let set: BTreeSet<Identifier> = signers.keys().copied().collect();
    let mut culprits = Vec::new();
    for (id, commitments) in signers {
        let not_in_key = || TssError::SignerNotInKey {
            culprit: id_hex(id),
        };
        let share = shares.get(id).ok_or(TssError::MissingSignatureShare {
            culprit: id_hex(id),
        })?;
        let z = share_scalar(share)?;
        let rho = derived.binding_factors.get(id).ok_or_else(not_in_key)?;
        let verifying_share = public.verifying_shares().get(id).ok_or_else(not_in_key)?;
        let lambda = lagrange_at_zero(id, &set)?;
        let expected = commitments.hiding().value()
            + msm::multiscalar_mul_vartime(&[
                (commitments.binding().value(), *rho),
                (verifying_share.to_element(), derived.challenge * lambda),
            ]);
        if ProjectivePoint::mul_by_generator(&z) != expected {
            culprits.push(*id);
        }
    }
    Ok(culprits)
}

fn share_scalar(share: &SignatureShare) -> Result<Scalar> {
    // A SignatureShare only holds a canonical scalar, so this always decodes.
    scalar_from_bytes(&share.serialize()).ok_or(TssError::Decode {
        what: "signature share",
        reason: "not a canonical scalar".into(),
    })
}
