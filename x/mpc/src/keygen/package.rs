//! Public key packages from what is public in state: a DKG's round-1 commitments, a reshare's
//! qualified deals over the old key (a stored key's package: `signing::public_key_package`).
use std::collections::{BTreeMap, BTreeSet};

use frost_secp256k1::keys::{PublicKeyPackage, VerifiableSecretSharingCommitment};
use frost_secp256k1::Identifier;
use seqpool_tss::messages;

use crate::{GroupKey, KeyStatus, Member};

/// Why a package could not be derived (a fault of the data, named for the session's failure).
pub type PackageError = String;

/// The package a DKG over `commitments` yields (sum of the commitments, evaluated at every
/// member): every honest member's part 3 derives exactly this one.
pub fn dkg_package(
    commitments: &BTreeMap<Identifier, VerifiableSecretSharingCommitment>,
) -> Result<PublicKeyPackage, PackageError> {
    let refs: BTreeMap<Identifier, &VerifiableSecretSharingCommitment> =
        commitments.iter().map(|(id, c)| (*id, c)).collect();
    PublicKeyPackage::from_dkg_commitments(&refs).map_err(|e| e.to_string())
}

/// The package of a reshare: the Lagrange-weighted sum of the qualified dealers' commitments.
/// Fails when the group key would change.
pub fn reshare_package(
    old: &PublicKeyPackage,
    commitments: &BTreeMap<Identifier, VerifiableSecretSharingCommitment>,
    qualified: &BTreeSet<Identifier>,
    new_members: &BTreeSet<Identifier>,
    new_threshold: u16,
) -> Result<PublicKeyPackage, PackageError> {
    seqpool_tss::reshare::combine_public(old, commitments, qualified, new_members, new_threshold)
        .map_err(|e| e.to_string())
}

/// A pending [`GroupKey`] record for `package`. Fails when the group key is unsuitable for the
/// L1 verifier (x coordinate not below the curve order; probability ~2^-128).
pub fn pending_key(
    key_id: u64,
    members: &[Member],
    package: &PublicKeyPackage,
    height: u64,
    reshared_from: u64,
) -> Result<GroupKey, PackageError> {
    let affine = seqpool_tss::eth::group_key_affine(package.verifying_key())
        .map_err(|e| format!("group key unsuitable: {e}"))?;
    let (px, py) = (affine.x.to_vec(), affine.y.to_vec());
    let mut verifying_shares = Vec::with_capacity(package.verifying_shares().len());
    for (id, share) in package.verifying_shares() {
        verifying_shares.push(crate::VerifyingShare {
            identifier: id.serialize(),
            share: share.serialize().map_err(|e| e.to_string())?,
        });
    }
    let hash = messages::public_key_package_hash(package).map_err(|e| e.to_string())?;
    Ok(GroupKey {
        key_id,
        group_key: package
            .verifying_key()
            .serialize()
            .map_err(|e| e.to_string())?,
        px,
        py,
        threshold: package.min_signers().unwrap_or(0) as u32,
        members: members.to_vec(),
        verifying_shares,
        status: KeyStatus::Pending as i32,
        created_height: height,
        reshared_from,
        public_key_package_hash: hash.to_vec(),
        ..Default::default()
    })
}
