//! Public checks of keygen messages: what anyone (the chain, which holds no secrets) can verify
//! about a DKG round-1, DKG round-2 or reshare deal envelope. A failure names the sender as the
//! culprit; the members' own checks of their secret shares come on top (complaints prove those).
use std::collections::BTreeSet;

use frost_secp256k1::keys::dkg::round1;
use frost_secp256k1::keys::{PublicKeyPackage, VerifiableSecretSharingCommitment};
use frost_secp256k1::Identifier;

use crate::crypto::envelope;
use crate::error::{Result, TssError};
use crate::ids::{id_hex, KeyId, SessionId};
use crate::members::Roster;
use crate::messages::{self, pb};

fn check_ids(key_id: KeyId, session_id: SessionId, got_key: u64, got_session: u64) -> Result<()> {
    if got_key != key_id.0 || got_session != session_id.0 {
        return Err(TssError::WrongSession {
            key: key_id,
            session: session_id,
            got_key: KeyId(got_key),
            got_session: SessionId(got_session),
        });
    }
    Ok(())
}

/// The encrypted shares must be exactly one for each of `recipients`.
fn check_recipients(
    sender: &Identifier,
    shares: &[pb::EncryptedShare],
    recipients: &BTreeSet<Identifier>,
) -> Result<()> {
    let mut seen = BTreeSet::new();
    for share in shares {
        let id = Identifier::deserialize(&share.recipient).map_err(|_| TssError::Malformed {
            what: "encrypted share",
            sender: id_hex(sender),
            reason: "recipient is not an identifier".into(),
        })?;
        if !recipients.contains(&id) || !seen.insert(id) {
            return Err(TssError::Malformed {
                what: "encrypted share",
                sender: id_hex(sender),
                reason: format!("unexpected or repeated recipient {}", id_hex(&id)),
            });
        }
    }
    if seen.len() != recipients.len() {
        return Err(TssError::Malformed {
            what: "encrypted share",
            sender: id_hex(sender),
            reason: format!("{} shares for {} recipients", seen.len(), recipients.len()),
        });
    }
    Ok(())
}

/// A DKG round-1 broadcast: signed by a roster member, for this key and session, `threshold`-of-n
/// parameters, a commitment of `threshold` points and a valid proof of knowledge of its constant
/// term. Returns the sender and its round-1 package.
pub fn dkg_round1(
    message: &pb::SignedEnvelope,
    roster: &Roster,
    key_id: KeyId,
    session_id: SessionId,
    threshold: u16,
) -> Result<(Identifier, round1::Package)> {
    let (sender, body): (Identifier, pb::DkgRound1) =
        envelope::open(message, pb::MessageKind::DkgRound1, roster)?;
    check_ids(key_id, session_id, body.key_id, body.session_id)?;
    let bad = |reason: String| TssError::BadCommitment {
        culprit: id_hex(&sender),
        reason,
    };
    if body.min_signers != threshold as u32 || body.max_signers != roster.len() as u32 {
        return Err(bad(format!(
            "parameters {}-of-{}, expected {}-of-{}",
            body.min_signers,
            body.max_signers,
            threshold,
            roster.len()
        )));
    }
    let commitment = messages::commitment_from_pb(&sender, &body.commitment)?;
    if commitment.coefficients().len() != threshold as usize {
        return Err(bad(format!(
            "{} coefficients, expected {threshold}",
            commitment.coefficients().len()
        )));
    }
    let proof = frost_secp256k1::Signature::deserialize(&body.proof_of_knowledge)
        .map_err(|e| bad(format!("proof of knowledge: {e}")))?;
    frost_core::keys::dkg::verify_proof_of_knowledge(sender, &commitment, &proof)
        .map_err(|_| bad("invalid proof of knowledge".into()))?;
    Ok((sender, round1::Package::new(commitment, proof)))
}

/// A DKG round-2 message: signed by a roster member, for this key and session, one encrypted
/// share for every other member. Returns the sender.
pub fn dkg_round2(
    message: &pb::SignedEnvelope,
    roster: &Roster,
    key_id: KeyId,
    session_id: SessionId,
) -> Result<Identifier> {
    let (sender, body): (Identifier, pb::DkgRound2) =
        envelope::open(message, pb::MessageKind::DkgRound2, roster)?;
    check_ids(key_id, session_id, body.key_id, body.session_id)?;
    let others: BTreeSet<Identifier> = roster
        .identifiers()
        .filter(|id| **id != sender)
        .copied()
        .collect();
    check_recipients(&sender, &body.shares, &others)?;
    Ok(sender)
}

/// A reshare deal: signed by a holder of the old key, for this (new) key and session, the new
/// threshold, a commitment of `new_threshold` points whose constant term is the dealer's
/// verifying share under the old key, and one encrypted sub-share for every new member.
/// Returns the dealer and its commitment.
pub fn reshare_deal(
    message: &pb::SignedEnvelope,
    old_roster: &Roster,
    old_public: &PublicKeyPackage,
    new_roster: &Roster,
    key_id: KeyId,
    session_id: SessionId,
    new_threshold: u16,
) -> Result<(Identifier, VerifiableSecretSharingCommitment)> {
    let (dealer, body): (Identifier, pb::ReshareDeal) =
        envelope::open(message, pb::MessageKind::ReshareDeal, old_roster)?;
    check_ids(key_id, session_id, body.key_id, body.session_id)?;
    let commitment = deal_commitment(&dealer, &body, old_public, new_threshold)?;
    let recipients: BTreeSet<Identifier> = new_roster.identifiers().copied().collect();
    check_recipients(&dealer, &body.shares, &recipients)?;
    Ok((dealer, commitment))
}

/// The public part of a deal's checks (also run by each receiver): the new threshold, the
/// commitment's length and its constant term against the dealer's old verifying share.
pub(crate) fn deal_commitment(
    dealer: &Identifier,
    body: &pb::ReshareDeal,
    old_public: &PublicKeyPackage,
    new_threshold: u16,
) -> Result<VerifiableSecretSharingCommitment> {
    let bad = |reason: String| TssError::BadCommitment {
        culprit: id_hex(dealer),
        reason,
    };
    let old_share = old_public
        .verifying_shares()
        .get(dealer)
        .ok_or(TssError::UnknownMember {
            sender: id_hex(dealer),
        })?;
    if body.new_threshold != new_threshold as u32 {
        return Err(bad(format!(
            "new threshold {}, expected {new_threshold}",
            body.new_threshold
        )));
    }
    let commitment = messages::commitment_from_pb(dealer, &body.commitment)?;
    if commitment.coefficients().len() != new_threshold as usize {
        return Err(bad(format!(
            "{} coefficients, expected {new_threshold}",
            commitment.coefficients().len()
        )));
    }
    if commitment.coefficients()[0].value() != old_share.to_element() {
        return Err(bad(
            "constant term is not the dealer's verifying share".into()
        ));
    }
    Ok(commitment)
}
