//! The values every signer and the aggregator derive from a signing package: the binding factors
//! (RFC 9591 4.4), the group commitment R (4.5) and the challenge (4.6). Bit for bit the values
//! frost-core 3.0 computes, at lower cost:
//! - every point (group key, 2t commitments, the lookup tables of the binding commitments) is
//!   normalised with one batched field inversion (Montgomery's trick); frost's per-point
//!   serialisation pays one inversion per commitment;
//! - R = sum(D_i) + sum(rho_i * E_i) is one variable-time multi-scalar multiplication in
//!   Jacobian coordinates (`crypto::msm`). Everything here is public data, so variable time
//!   leaks nothing.

use std::collections::BTreeMap;

use frost_core::Ciphersuite;
use frost_secp256k1::{Identifier, Secp256K1Sha256, SigningPackage, VerifyingKey};
use k256::elliptic_curve::sec1::ToEncodedPoint;
use k256::elliptic_curve::BatchNormalize;
use k256::{AffinePoint, ProjectivePoint, Scalar};

use crate::crypto::msm::{self, Affine, TABLE_LEN};
use crate::error::{Result, TssError};
use crate::ids::id_hex;

/// Binding factors, group commitment and challenge of one signing package.
pub(crate) struct PackageCommitment {
    pub(crate) binding_factors: BTreeMap<Identifier, Scalar>,
    pub(crate) group_commitment: ProjectivePoint,
    pub(crate) challenge: Scalar,
}

fn internal(what: &str) -> TssError {
    TssError::Crypto(format!("group commitment: {what}"))
}

impl PackageCommitment {
    /// Derives the values for `package` signed under `verifying_key`. Refuses an identity
    /// commitment (as frost does: it would reveal the signer's share).
    pub(crate) fn derive(package: &SigningPackage, verifying_key: &VerifyingKey) -> Result<Self> {
        let signers = package.signing_commitments();
        let count = signers.len();
        let key_point = verifying_key.to_element();
        if key_point == ProjectivePoint::IDENTITY {
            return Err(TssError::InvalidParameters("identity group key".into()));
        }
        // One batch: the group key, each hiding commitment D_i, then the odd multiples of each
        // binding commitment E_i (E_i first), all in identifier order.
        let mut points = Vec::with_capacity(1 + count * (1 + TABLE_LEN));
        points.push(key_point);
        for (id, commitments) in signers {
            let (hiding, binding) = (commitments.hiding().value(), commitments.binding().value());
            if hiding == ProjectivePoint::IDENTITY || binding == ProjectivePoint::IDENTITY {
                return Err(TssError::Malformed {
                    what: "signing package",
                    sender: id_hex(id),
                    reason: "identity nonce commitment".into(),
                });
            }
            points.push(hiding);
        }
        for commitments in signers.values() {
            points.extend_from_slice(&msm::odd_multiples(&commitments.binding().value()));
        }
        let affine = <ProjectivePoint as BatchNormalize<[ProjectivePoint]>>::batch_normalize(
            points.as_slice(),
        );
        let (key_affine, rest) = affine.split_first().ok_or(internal("no points"))?;
        let hiding = rest.get(..count).ok_or(internal("hiding"))?;
        let binding_tables = rest.get(count..).ok_or(internal("tables"))?;

        // encode_group_commitment_list: id || hiding || binding per signer.
        let mut commitment_list = Vec::with_capacity(count * (32 + 33 + 33));
        let mut id_bytes = Vec::with_capacity(count);
        for ((id, d), e) in signers
            .keys()
            .zip(hiding)
            .zip(binding_tables.chunks_exact(TABLE_LEN))
        {
            let serialized = id.serialize();
            commitment_list.extend_from_slice(&serialized);
            commitment_list.extend_from_slice(&compressed(d)?);
            commitment_list.extend_from_slice(&compressed(e.first().ok_or(internal("table"))?)?);
            id_bytes.push(serialized);
        }

        // rho_i = H1(group key || H4(msg) || H5(commitment list) || id).
        let mut preimage = Vec::with_capacity(33 + 32 + 32 + 32);
        preimage.extend_from_slice(&compressed(key_affine)?);
        preimage.extend_from_slice(Secp256K1Sha256::H4(package.message()).as_ref());
        preimage.extend_from_slice(Secp256K1Sha256::H5(&commitment_list).as_ref());
        let prefix_len = preimage.len();
        let mut binding_factors = BTreeMap::new();
        let mut rhos = Vec::with_capacity(count);
        for (id, id_serialized) in signers.keys().zip(&id_bytes) {
            preimage.truncate(prefix_len);
            preimage.extend_from_slice(id_serialized);
            let rho = Secp256K1Sha256::H1(&preimage);
            binding_factors.insert(*id, rho);
            rhos.push(rho);
        }

        let tables = msm::tables_from_affine(binding_tables).ok_or(internal("identity"))?;
        let hiding: Vec<Affine> = hiding
            .iter()
            .map(Affine::from_k256)
            .collect::<Option<_>>()
            .ok_or(internal("identity"))?;
        let group_commitment = msm::multiscalar_mul_tables(&tables, &rhos, &hiding)
            .ok_or(internal("point off the curve"))?;
        let challenge =
            Secp256K1Sha256::challenge(&group_commitment, verifying_key, package.message())?
                .to_scalar();
        Ok(Self {
            binding_factors,
            group_commitment,
            challenge,
        })
    }
}

/// SEC1 compressed encoding, as frost serialises an element (never the identity here).
fn compressed(point: &AffinePoint) -> Result<[u8; 33]> {
    point
        .to_encoded_point(true)
        .as_bytes()
        .try_into()
        .map_err(|_| internal("identity point"))
}
