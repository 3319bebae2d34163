//! Protobuf wire messages (`seqpool.tss.v1`) and conversions to and from frost types. Decoding
//! validates every point and scalar and returns an error naming the sender; it never panics.

pub use seqpool_proto::tss::v1 as pb;

use std::collections::BTreeMap;

use frost_secp256k1::keys::{PublicKeyPackage, VerifiableSecretSharingCommitment};
use frost_secp256k1::round1::{NonceCommitment, SigningCommitments};
use frost_secp256k1::round2::SignatureShare;
use frost_secp256k1::{Identifier, SigningPackage};
use sha2::{Digest, Sha256};

use crate::error::{Result, TssError};
use crate::ids::{id_hex, KeyId, SessionId};

fn malformed(what: &'static str, sender: &Identifier, reason: impl Into<String>) -> TssError {
    TssError::Malformed {
        what,
        sender: id_hex(sender),
        reason: reason.into(),
    }
}

pub fn commitment_to_pb(commitment: &VerifiableSecretSharingCommitment) -> Result<Vec<Vec<u8>>> {
    Ok(commitment.serialize()?)
}

/// Decodes a Feldman commitment sent by `sender`; a bad point is the sender's fault.
pub fn commitment_from_pb(
    sender: &Identifier,
    coefficients: &[Vec<u8>],
) -> Result<VerifiableSecretSharingCommitment> {
    if coefficients.is_empty() {
        return Err(TssError::BadCommitment {
            culprit: id_hex(sender),
            reason: "empty commitment".into(),
        });
    }
    VerifiableSecretSharingCommitment::deserialize(coefficients.iter().cloned()).map_err(|e| {
        TssError::BadCommitment {
            culprit: id_hex(sender),
            reason: e.to_string(),
        }
    })
}

pub fn signing_commitments_to_pb(
    commitments: &SigningCommitments,
) -> Result<pb::SigningCommitment> {
    Ok(pb::SigningCommitment {
        hiding: commitments.hiding().serialize()?,
        binding: commitments.binding().serialize()?,
    })
}

pub fn signing_commitments_from_pb(
    sender: &Identifier,
    msg: &pb::SigningCommitment,
) -> Result<SigningCommitments> {
    let hiding = NonceCommitment::deserialize(&msg.hiding)
        .map_err(|e| malformed("nonce commitment", sender, e.to_string()))?;
    let binding = NonceCommitment::deserialize(&msg.binding)
        .map_err(|e| malformed("nonce commitment", sender, e.to_string()))?;
    Ok(SigningCommitments::new(hiding, binding))
}

pub fn signing_package_to_pb(
    key_id: KeyId,
    session_id: SessionId,
    package: &SigningPackage,
) -> Result<pb::SigningPackage> {
    let mut signers = Vec::with_capacity(package.signing_commitments().len());
    for (id, commitments) in package.signing_commitments() {
        signers.push(pb::SignerCommitment {
            identifier: id.serialize(),
            commitment: Some(signing_commitments_to_pb(commitments)?),
        });
    }
    Ok(pb::SigningPackage {
        key_id: key_id.0,
        session_id: session_id.0,
        message: package.message().clone(),
        signers,
    })
}

/// Decodes a signing package from the coordinator (the chain); duplicates are refused.
pub fn signing_package_from_pb(
    msg: &pb::SigningPackage,
) -> Result<(KeyId, SessionId, SigningPackage)> {
    let mut commitments = BTreeMap::new();
    for signer in &msg.signers {
        let id = Identifier::deserialize(&signer.identifier).map_err(|e| TssError::Decode {
            what: "signing package identifier",
            reason: e.to_string(),
        })?;
        let commitment = signer.commitment.as_ref().ok_or(TssError::Decode {
            what: "signing package",
            reason: format!("signer {} has no commitment", id_hex(&id)),
        })?;
        let commitment = signing_commitments_from_pb(&id, commitment)?;
        if commitments.insert(id, commitment).is_some() {
            return Err(TssError::Decode {
                what: "signing package",
                reason: format!("signer {} listed twice", id_hex(&id)),
            });
        }
    }
    Ok((
        KeyId(msg.key_id),
        SessionId(msg.session_id),
        SigningPackage::new(commitments, &msg.message),
    ))
}

pub fn signature_share_from_pb(
    sender: &Identifier,
    msg: &pb::SignatureShare,
) -> Result<SignatureShare> {
    SignatureShare::deserialize(&msg.share)
        .map_err(|e| malformed("signature share", sender, e.to_string()))
}

/// SHA-256 over a canonical encoding of a public key package: what members confirm to each other.
pub fn public_key_package_hash(package: &PublicKeyPackage) -> Result<[u8; 32]> {
    let mut hasher = Sha256::new();
    hasher.update(b"seqpool.tss.v1.pkp");
    hasher.update(package.verifying_key().serialize()?);
    hasher.update(package.min_signers().unwrap_or(0).to_be_bytes());
    for (id, share) in package.verifying_shares() {
        hasher.update(id.serialize());
        hasher.update(share.serialize()?);
    }
    Ok(hasher.finalize().into())
}

use crate::crypto::envelope;
use crate::members::{MemberSecret, Roster};

/// Seals a member's freshly preprocessed nonce commitments for registration on chain.
pub fn seal_nonce_commitments(
    key_id: KeyId,
    commitments: &[SigningCommitments],
    me: &MemberSecret,
) -> Result<pb::SignedEnvelope> {
    let body = pb::NonceCommitments {
        key_id: key_id.0,
        commitments: commitments
            .iter()
            .map(signing_commitments_to_pb)
            .collect::<Result<_>>()?,
    };
    Ok(envelope::seal(pb::MessageKind::NonceCommitments, &body, me))
}

/// Opens a member's nonce commitments.
pub fn open_nonce_commitments(
    message: &pb::SignedEnvelope,
    roster: &Roster,
) -> Result<(Identifier, KeyId, Vec<SigningCommitments>)> {
    let (sender, body): (Identifier, pb::NonceCommitments) =
        envelope::open(message, pb::MessageKind::NonceCommitments, roster)?;
    let commitments = body
        .commitments
        .iter()
        .map(|c| signing_commitments_from_pb(&sender, c))
        .collect::<Result<_>>()?;
    Ok((sender, KeyId(body.key_id), commitments))
}

/// Seals a signature share for the aggregator.
pub fn seal_signature_share(
    key_id: KeyId,
    session_id: SessionId,
    share: &SignatureShare,
    me: &MemberSecret,
) -> pb::SignedEnvelope {
    let body = pb::SignatureShare {
        key_id: key_id.0,
        session_id: session_id.0,
        share: share.serialize(),
    };
    envelope::seal(pb::MessageKind::SignatureShare, &body, me)
}

/// Opens a signature share; the share is attributed to the envelope's signer.
pub fn open_signature_share(
    message: &pb::SignedEnvelope,
    roster: &Roster,
) -> Result<(Identifier, KeyId, SessionId, SignatureShare)> {
    let (sender, body): (Identifier, pb::SignatureShare) =
        envelope::open(message, pb::MessageKind::SignatureShare, roster)?;
    let share = signature_share_from_pb(&sender, &body)?;
    Ok((
        sender,
        KeyId(body.key_id),
        SessionId(body.session_id),
        share,
    ))
}
