//! Every engine message is sealed in a `SignedEnvelope`, signed with the sender's signer key over
//! a domain-separated body, and opened only if the signature holds and the sender is expected.

use frost_secp256k1::Identifier;
use k256::ecdsa::signature::{Signer, Verifier};
use k256::ecdsa::Signature;
use prost::Message;
use seqpool_proto::tss::v1 as pb;

use crate::error::{Result, TssError};
use crate::ids::hex_encode;
use crate::members::{MemberSecret, Roster};

pub const ENVELOPE_VERSION: u32 = 1;
const DOMAIN: &[u8] = b"seqpool.tss.v1";

fn signing_bytes(kind: pb::MessageKind, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(DOMAIN.len() + 4 + body.len());
    out.extend_from_slice(DOMAIN);
    out.extend_from_slice(&(kind as i32 as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

pub fn kind_name(kind: pb::MessageKind) -> &'static str {
    match kind {
        pb::MessageKind::Unspecified => "unspecified",
        pb::MessageKind::DkgRound1 => "dkg round 1",
        pb::MessageKind::DkgRound2 => "dkg round 2",
        pb::MessageKind::DkgConfirm => "dkg confirmation",
        pb::MessageKind::ReshareDeal => "reshare deal",
        pb::MessageKind::ReshareConfirm => "reshare confirmation",
        pb::MessageKind::NonceCommitments => "nonce commitments",
        pb::MessageKind::SignatureShare => "signature share",
        pb::MessageKind::ShareComplaint => "share complaint",
    }
}

/// Encodes and signs `body` as a message of `kind` from `sender`.
pub fn seal<M: Message>(
    kind: pb::MessageKind,
    body: &M,
    sender: &MemberSecret,
) -> pb::SignedEnvelope {
    let body = body.encode_to_vec();
    let signature: Signature = sender.signer.sign(&signing_bytes(kind, &body));
    pb::SignedEnvelope {
        version: ENVELOPE_VERSION,
        kind: kind as i32,
        sender: sender.public().signer_key.to_vec(),
        body,
        signature: signature.to_bytes().to_vec(),
    }
}

/// Verifies the envelope's signature, checks that the sender is in `roster` and the kind is
/// `expected`, and decodes the body.
pub fn open<M: Message + Default>(
    envelope: &pb::SignedEnvelope,
    expected: pb::MessageKind,
    roster: &Roster,
) -> Result<(Identifier, M)> {
    let what = kind_name(expected);
    let sender_hex = hex_encode(&envelope.sender);
    if envelope.version != ENVELOPE_VERSION {
        return Err(TssError::Malformed {
            what,
            sender: sender_hex,
            reason: format!("envelope version {}", envelope.version),
        });
    }
    if envelope.kind != expected as i32 {
        return Err(TssError::Malformed {
            what,
            sender: sender_hex,
            reason: format!("message kind {}", envelope.kind),
        });
    }
    let sender = roster
        .by_signer_key(&envelope.sender)
        .ok_or(TssError::UnknownMember {
            sender: sender_hex.clone(),
        })?;
    let member = roster.get(&sender).ok_or(TssError::UnknownMember {
        sender: sender_hex.clone(),
    })?;
    let signature =
        Signature::from_slice(&envelope.signature).map_err(|_| TssError::BadEnvelopeSignature {
            what,
            sender: hex_encode(&sender.serialize()),
        })?;
    member
        .verifying_key()?
        .verify(&signing_bytes(expected, &envelope.body), &signature)
        .map_err(|_| TssError::BadEnvelopeSignature {
            what,
            sender: hex_encode(&sender.serialize()),
        })?;
    let body = M::decode(envelope.body.as_slice()).map_err(|e| TssError::Malformed {
        what,
        sender: hex_encode(&sender.serialize()),
        reason: e.to_string(),
    })?;
    Ok((sender, body))
}

/// Decodes envelope bytes from the wire (never panics on garbage).
pub fn decode_envelope(bytes: &[u8]) -> Result<pb::SignedEnvelope> {
    pb::SignedEnvelope::decode(bytes).map_err(|e| TssError::Decode {
        what: "signed envelope",
        reason: e.to_string(),
    })
}
